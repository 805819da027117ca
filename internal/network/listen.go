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
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// ListenInNetNS gives the loopback interface of the network namespace
// pinned at path the address of addr (a /32 or /128, idempotent; lo is
// brought up) and opens a TCP listener on addr there, for the calling
// process to serve. A locked OS thread enters the namespace, makes the
// address and the socket, and returns to its own namespace before any
// other goroutine may run on it; the socket stays in the namespace it was
// made in, bound to lo: what connects to it can only come from inside
// that namespace. The listener keeps the namespace alive while it
// is open: close it before the namespace is torn down.
func ListenInNetNS(path string, addr netip.AddrPort) (net.Listener, error) {
	type result struct {
		l   net.Listener
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("open current network namespace: %w", err)}
			return
		}
		defer func() { _ = orig.Close() }()
		target, err := os.Open(path)
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("open network namespace %s: %w", path, err)}
			return
		}
		defer func() { _ = target.Close() }()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("enter network namespace %s: %w", path, err)}
			return
		}
		// The address and the socket are made on this thread, in the namespace.
		var l net.Listener
		lerr := addLoopbackAddress(addr.Addr())
		if lerr == nil {
			// Bound to lo as well: a packet for the address that comes in
			// on another interface (the weak host model would accept one
			// that a neighbour routes here) reaches no socket.
			lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
				var serr error
				if err := c.Control(func(fd uintptr) {
					serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, "lo")
				}); err != nil {
					return err
				}
				return serr
			}}
			l, lerr = lc.Listen(context.Background(), "tcp", addr.String())
		}
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			// Stay locked: the runtime ends the thread instead of running
			// other goroutines in the task's namespace.
			if l != nil {
				_ = l.Close()
			}
			done <- result{err: fmt.Errorf("return to the original network namespace: %w", err)}
			return
		}
		runtime.UnlockOSThread()
		if lerr != nil {
			lerr = fmt.Errorf("in network namespace %s: %w", path, lerr)
		}
		done <- result{l: l, err: lerr}
	}()
	r := <-done
	return r.l, r.err
}

// addLoopbackAddress adds a to the loopback interface of the calling
// thread's network namespace and brings the interface up, with rtnetlink
// (RTM_NEWADDR, RTM_NEWLINK) on a socket made in that namespace.
func addLoopbackAddress(a netip.Addr) error {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		return fmt.Errorf("loopback interface: %w", err)
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink socket: %w", err)
	}
	defer func() { _ = unix.Close(fd) }()
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("netlink bind: %w", err)
	}
	family := byte(unix.AF_INET)
	if a.Is6() {
		family = unix.AF_INET6
	}
	ip := a.AsSlice()
	// ifaddrmsg, then IFA_LOCAL and IFA_ADDRESS.
	body := []byte{family, byte(a.BitLen()), 0, unix.RT_SCOPE_HOST}
	body = binary.NativeEndian.AppendUint32(body, uint32(lo.Index))
	for _, typ := range []uint16{unix.IFA_LOCAL, unix.IFA_ADDRESS} {
		body = binary.NativeEndian.AppendUint16(body, uint16(unix.SizeofRtAttr+len(ip)))
		body = binary.NativeEndian.AppendUint16(body, typ)
		body = append(body, ip...)
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
	}
	if err := netlinkDo(fd, unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_REPLACE, body, 1); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("adding %s to lo: %w", a, err)
	}
	// ifinfomsg: family, pad, type, index, flags, change.
	link := []byte{unix.AF_UNSPEC, 0, 0, 0}
	link = binary.NativeEndian.AppendUint32(link, uint32(lo.Index))
	link = binary.NativeEndian.AppendUint32(link, unix.IFF_UP)
	link = binary.NativeEndian.AppendUint32(link, unix.IFF_UP)
	if err := netlinkDo(fd, unix.RTM_NEWLINK, 0, link, 2); err != nil {
		return fmt.Errorf("bringing lo up: %w", err)
	}
	return nil
}

// netlinkDo sends one request and reads its acknowledgement.
func netlinkDo(fd int, typ uint16, flags uint16, body []byte, seq uint32) error {
	msg := binary.NativeEndian.AppendUint32(nil, uint32(unix.SizeofNlMsghdr+len(body)))
	msg = binary.NativeEndian.AppendUint16(msg, typ)
	msg = binary.NativeEndian.AppendUint16(msg, unix.NLM_F_REQUEST|unix.NLM_F_ACK|flags)
	msg = binary.NativeEndian.AppendUint32(msg, seq)
	msg = binary.NativeEndian.AppendUint32(msg, 0)
	msg = append(msg, body...)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 4096)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return err
		}
		for b := buf[:n]; len(b) >= unix.SizeofNlMsghdr; {
			l := binary.NativeEndian.Uint32(b[0:4])
			t := binary.NativeEndian.Uint16(b[4:6])
			s := binary.NativeEndian.Uint32(b[8:12])
			if l < unix.SizeofNlMsghdr || int(l) > len(b) {
				return errors.New("netlink: truncated message")
			}
			if s == seq && t == unix.NLMSG_ERROR && l >= unix.SizeofNlMsghdr+4 {
				if code := int32(binary.NativeEndian.Uint32(b[16:20])); code != 0 {
					return unix.Errno(-code)
				}
				return nil
			}
			b = b[(l+3)&^3:]
		}
	}
}
