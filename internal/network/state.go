/*
Copyright 2026 The Longshore Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// stateVersion is the format of the state files; bump it on incompatible
// changes.
const stateVersion = 1

// phase is how far Setup got with an attachment.
type phase string

const (
	// phaseCreating: the state file was written, the namespace and CNI ADD
	// may or may not have happened. Such an attachment is torn down and set
	// up again by Setup, or torn down by GC.
	phaseCreating phase = "creating"
	// phaseReady: CNI ADD succeeded and the result facts are recorded.
	phaseReady phase = "ready"
)

// portState is one published port as recorded in a state file.
type portState struct {
	ContainerPort int32  `json:"containerPort"`
	HostPort      int32  `json:"hostPort"`
	Protocol      string `json:"protocol"`
	HostIP        string `json:"hostIP,omitempty"`
	// Dynamic is true when the request asked for any host port (0) and
	// HostPort was chosen from the dynamic range.
	Dynamic bool `json:"dynamic,omitempty"`
}

// attachmentState is the content of one state file.
type attachmentState struct {
	Version   int    `json:"version"`
	ID        string `json:"id"`
	Mode      Mode   `json:"mode"`
	Phase     phase  `json:"phase"`
	NetNSPath string `json:"netnsPath"`
	// CNIConfig is the user conflist the request named, if any.
	CNIConfig string `json:"cniConfig,omitempty"`
	// NetworkName and ConfList are the CNI network list used for ADD, kept
	// so that DEL runs with the same configuration even if the agent's
	// configuration or the user's conflist changed since. Empty for none
	// (loopback only).
	NetworkName string          `json:"networkName,omitempty"`
	ConfList    json.RawMessage `json:"confList,omitempty"`
	Ports       []portState     `json:"ports,omitempty"`

	// Facts from the CNI result.
	Interface string `json:"interface,omitempty"`
	IPv4      string `json:"ipv4,omitempty"`
	Subnet    string `json:"subnet,omitempty"`
	Gateway   string `json:"gateway,omitempty"`
	MAC       string `json:"mac,omitempty"`

	Labels map[string]string `json:"labels,omitempty"`
	// Proxy is the App Mesh redirect applied in the namespace, if any.
	Proxy *ProxyRedirect `json:"proxy,omitempty"`
}

// attachment converts the recorded state into the public type.
func (s *attachmentState) attachment() Attachment {
	a := Attachment{
		ID:        s.ID,
		Mode:      s.Mode,
		NetNSPath: s.NetNSPath,
		Interface: s.Interface,
		IPv4:      s.IPv4,
		Subnet:    s.Subnet,
		Gateway:   s.Gateway,
		MAC:       s.MAC,
	}
	for _, p := range s.Ports {
		hostIP := p.HostIP
		if hostIP == "" {
			hostIP = "0.0.0.0"
		}
		a.Bindings = append(a.Bindings, Binding{
			HostIP:        hostIP,
			HostPort:      p.HostPort,
			ContainerPort: p.ContainerPort,
			Protocol:      p.Protocol,
		})
	}
	return a
}

// stateStore keeps one JSON file per attachment, <dir>/<id>.json.
type stateStore struct {
	dir string
}

const (
	stateSuffix = ".json"
	tmpPrefix   = ".tmp-"
)

func (s stateStore) path(id string) string {
	return filepath.Join(s.dir, id+stateSuffix)
}

// write replaces the state file of st atomically (temporary file, fsync,
// rename, fsync of the directory), so that a crash leaves either the old or
// the new content.
func (s stateStore) write(st *attachmentState) error {
	st.Version = stateVersion
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode network state of %s: %w", st.ID, err)
	}
	f, err := os.CreateTemp(s.dir, tmpPrefix+st.ID+"-*")
	if err != nil {
		return fmt.Errorf("write network state of %s: %w", st.ID, err)
	}
	tmp := f.Name()
	committed := false
	defer func() {
		if !committed {
			_ = os.Remove(tmp)
		}
	}()
	if _, err := f.Write(append(data, '\n')); err != nil {
		_ = f.Close()
		return fmt.Errorf("write network state of %s: %w", st.ID, err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("write network state of %s: %w", st.ID, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write network state of %s: %w", st.ID, err)
	}
	if err := os.Rename(tmp, s.path(st.ID)); err != nil {
		return fmt.Errorf("write network state of %s: %w", st.ID, err)
	}
	committed = true
	return syncDir(s.dir)
}

// remove deletes the state file of id; a missing file is not an error.
func (s stateStore) remove(id string) error {
	if err := os.Remove(s.path(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove network state of %s: %w", id, err)
	}
	return syncDir(s.dir)
}

// read returns the state of one attachment.
func (s stateStore) read(id string) (*attachmentState, error) {
	data, err := os.ReadFile(s.path(id))
	if err != nil {
		return nil, err
	}
	return decodeState(s.path(id), data)
}

func decodeState(path string, data []byte) (*attachmentState, error) {
	var st attachmentState
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("network state file %s is unreadable (%w); move it away once its network namespace, IP and iptables rules are cleaned up", path, err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("network state file %s has version %d, this agent understands %d", path, st.Version, stateVersion)
	}
	if st.ID == "" || st.ID+stateSuffix != filepath.Base(path) {
		return nil, fmt.Errorf("network state file %s records attachment %q: name and content disagree", path, st.ID)
	}
	return &st, nil
}

// loadAll reads every state file, sorted by ID, and removes temporary
// files left by a crash during write.
func (s stateStore) loadAll() ([]*attachmentState, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("read network state directory: %w", err)
	}
	var out []*attachmentState
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, tmpPrefix) {
			_ = os.Remove(filepath.Join(s.dir, name))
			continue
		}
		if e.IsDir() || !strings.HasSuffix(name, stateSuffix) {
			continue
		}
		p := filepath.Join(s.dir, name)
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read network state: %w", err)
		}
		st, err := decodeState(p, data)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
