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

package ecsapi

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/longshore-io/longshore/internal/ecsarn"
)

// generatedCertValidity is how long a generated serving certificate is
// valid. It lives in memory only (the component keeps no state), so a
// restart makes a new one.
const generatedCertValidity = 365 * 24 * time.Hour

// GenerateCertificate makes a self-signed serving certificate (ECDSA
// P-256) for hosts (DNS names or IP addresses) and returns it with its
// PEM, which clients trust as their CA (AWS_CA_BUNDLE, the SDK's HTTP
// client). Nothing is written: each replica and each start has its own,
// which is why production gives --tls-cert-file.
func GenerateCertificate(hosts []string, now time.Time) (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "longshore-ecs-api", Organization: []string{"longshore"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(generatedCertValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	pair, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	return pair, certPEM, err
}

// ServeOptions configure the component (cmd/ecs-api).
type ServeOptions struct {
	Config *rest.Config
	Scheme *runtime.Scheme
	// Namespace holds the access key Secrets.
	Namespace   string
	ARN         ecsarn.Config
	BindAddress string
	// CertFile and KeyFile are the serving certificate; both empty
	// generates one for CertHosts.
	CertFile, KeyFile string
	CertHosts         []string
	RegisterTimeout   time.Duration
	Log               logr.Logger
}

// Running is a started component.
type Running struct {
	// Addr is the address it listens on.
	Addr string
	// CertPEM is the serving certificate (generated or read).
	CertPEM []byte
	done    chan error
}

// Wait returns when the component has stopped (its context ended).
func (r *Running) Wait() error { return <-r.done }

// Serve starts the component: the cache of access key Secrets, the
// server, and the HTTPS listener, until ctx ends.
func Serve(ctx context.Context, o ServeOptions) (*Running, error) {
	if o.Namespace == "" {
		return nil, errors.New("no namespace for the access key Secrets")
	}
	var pair tls.Certificate
	var certPEM []byte
	var err error
	switch {
	case o.CertFile != "" && o.KeyFile != "":
		if pair, err = tls.LoadX509KeyPair(o.CertFile, o.KeyFile); err != nil {
			return nil, fmt.Errorf("the serving certificate: %w", err)
		}
		if certPEM, err = os.ReadFile(o.CertFile); err != nil {
			return nil, err
		}
	case o.CertFile != "" || o.KeyFile != "":
		return nil, errors.New("give both --tls-cert-file and --tls-key-file, or neither (a self-signed certificate)")
	default:
		if pair, certPEM, err = GenerateCertificate(o.CertHosts, time.Now()); err != nil {
			return nil, fmt.Errorf("generating a serving certificate: %w", err)
		}
		o.Log.Info("Serving with a generated self-signed certificate: give --tls-cert-file and --tls-key-file in production", "hosts", o.CertHosts)
	}

	hasKey, err := labels.NewRequirement(LabelAccessKeyID, selection.Exists, nil)
	if err != nil {
		return nil, err
	}
	secrets, err := cache.New(o.Config, cache.Options{
		Scheme:            o.Scheme,
		DefaultNamespaces: map[string]cache.Config{o.Namespace: {}},
		ByObject:          map[client.Object]cache.ByObject{&corev1.Secret{}: {Label: labels.NewSelector().Add(*hasKey)}},
	})
	if err != nil {
		return nil, fmt.Errorf("the access key cache: %w", err)
	}
	// Informers start on first use: ask for the Secrets' now.
	if _, err := secrets.GetInformer(ctx, &corev1.Secret{}); err != nil {
		return nil, fmt.Errorf("the access key informer: %w", err)
	}
	go func() {
		if err := secrets.Start(ctx); err != nil {
			o.Log.Error(err, "The access key cache stopped")
		}
	}()
	syncCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if !secrets.WaitForCacheSync(syncCtx) {
		return nil, fmt.Errorf("the access key Secrets of namespace %s did not sync within a minute (may the component list and watch them?)", o.Namespace)
	}

	srv, err := NewServer(Options{Config: o.Config, Scheme: o.Scheme, Keys: SecretKeys{Reader: secrets, Namespace: o.Namespace},
		ARN: o.ARN, Log: o.Log, RegisterTimeout: o.RegisterTimeout})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.Handle("/", srv)

	ln, err := net.Listen("tcp", o.BindAddress)
	if err != nil {
		return nil, err
	}
	hs := &http.Server{
		Handler:           mux,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          nil,
	}
	r := &Running{Addr: ln.Addr().String(), CertPEM: certPEM, done: make(chan error, 1)}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()
	go func() {
		err := hs.ServeTLS(ln, "", "")
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		r.done <- err
	}()
	o.Log.Info("Serving the ECS API", "address", r.Addr, "region", o.ARN.WithDefaults().Region, "accessKeyNamespace", o.Namespace)
	return r, nil
}
