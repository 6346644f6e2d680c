package sandbox

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"time"
)

// DefaultCertHosts are the names a self-signed certificate is valid for
// when none are given: the loopback addresses the sandbox listens on.
var DefaultCertHosts = []string{"127.0.0.1", "::1", "localhost"}

// SelfSigned generates an ECDSA P-256 certificate for hosts (IP addresses or
// DNS names), valid from an hour ago for 30 days, signed by itself. certPEM
// is what a client must trust (write it with os.WriteFile, or add it to an
// x509.CertPool).
func SelfSigned(hosts ...string) (cert tls.Certificate, certPEM []byte, err error) {
	certPEM, keyPEM, err := SelfSignedPEM(hosts...)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	cert, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("load generated key pair: %w", err)
	}
	return cert, certPEM, nil
}

// SelfSignedPEM is SelfSigned as PEM files' contents, for servers that read
// --cert and --key files. keyPEM is secret: write it with mode 0600.
func SelfSignedPEM(hosts ...string) (certPEM, keyPEM []byte, err error) {
	if len(hosts) == 0 {
		hosts = DefaultCertHosts
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("generate serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"orderguard sandbox"}, CommonName: hosts[0]},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		// A CA so that clients may put it in their root pool as it is.
		IsCA: true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("marshal key: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	return certPEM, keyPEM, nil
}

// ServerTLS is the server side TLS configuration for cert: TLS 1.2 or later,
// with session tickets on (the proxy's pool resumes sessions).
func ServerTLS(cert tls.Certificate) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}

// LoadKeyPair reads a PEM certificate and key, as --cert and --key give them.
func LoadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("load key pair %q, %q: %w", certFile, keyFile, err)
	}
	return cert, nil
}

// WriteCert writes certPEM to path (mode 0644: a certificate is public).
func WriteCert(path string, certPEM []byte) error {
	if err := os.WriteFile(path, certPEM, 0o644); err != nil {
		return fmt.Errorf("write certificate %q: %w", path, err)
	}
	return nil
}
