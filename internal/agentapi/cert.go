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

package agentapi

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// The serving certificate's files under the agent's state directory.
const (
	CertFile = "agent-api/tls.crt"
	KeyFile  = "agent-api/tls.key"
)

// certValidity is how long a new serving certificate is valid; one that
// has less than certRenewBefore left is replaced at start.
const (
	certValidity    = 5 * 365 * 24 * time.Hour
	certRenewBefore = 30 * 24 * time.Hour
)

// ServingCertificate returns the endpoint's serving certificate, kept in
// stateDir (CertFile, KeyFile): the one there when it still names
// instance and is valid for a while, else a new self-signed one (ECDSA
// P-256) for the DNS name instance, written there first. It returns the
// certificate's PEM too, which the agent publishes for clients to pin.
//
// The certificate is its own CA (clients trust it alone); its name is the
// instance's, which clients check as the server name wherever they
// reach the address.
func ServingCertificate(stateDir, instance string, now time.Time) (tls.Certificate, []byte, error) {
	certPath, keyPath := filepath.Join(stateDir, CertFile), filepath.Join(stateDir, KeyFile)
	certPEM, err1 := os.ReadFile(certPath)
	keyPEM, err2 := os.ReadFile(keyPath)
	if err1 == nil && err2 == nil {
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err == nil {
			leaf := pair.Leaf
			if leaf != nil && slices.Contains(leaf.DNSNames, instance) && now.Add(certRenewBefore).Before(leaf.NotAfter) {
				return pair, certPEM, nil
			}
		}
	} else if (err1 != nil && !errors.Is(err1, fs.ErrNotExist)) || (err2 != nil && !errors.Is(err2, fs.ErrNotExist)) {
		return tls.Certificate{}, nil, fmt.Errorf("reading the agent API's certificate: %w", errors.Join(err1, err2))
	}
	certPEM, keyPEM, err := newSelfSigned(instance, now)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	if err := os.MkdirAll(filepath.Dir(certPath), 0o700); err != nil {
		return tls.Certificate{}, nil, err
	}
	// The key first: a certificate on disk always has its key.
	if err := writeAtomic(keyPath, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, nil, err
	}
	if err := writeAtomic(certPath, certPEM, 0o644); err != nil {
		return tls.Certificate{}, nil, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	return pair, certPEM, err
}

func newSelfSigned(instance string, now time.Time) ([]byte, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "longshore-agent " + instance, Organization: []string{"longshore"}},
		DNSNames:              []string{instance},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}

func writeAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
