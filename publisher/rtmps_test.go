package publisher

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/internal/peers"
)

// tlsTerminator accepts TLS on 127.0.0.1:0 with a fresh self-signed
// certificate and forwards the plain stream to upstream, as a CDN's RTMPS
// edge does.
func tlsTerminator(t *testing.T, upstream string) (addr string, roots *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "golive test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	require.NoError(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", upstream)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, up)
			mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); _, _ = io.Copy(up, c); up.Close() }()
			go func() { defer wg.Done(); _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String(), roots
}

func TestRTMPS(t *testing.T) {
	c := makeClip(t, peers.TestSource{Width: 320, Height: 240, FPS: 25, Duration: time.Second})
	n := peers.StartNginxRTMP(t)
	addr, roots := tlsTerminator(t, n.Addr())

	// An untrusted certificate is refused with a clear reason.
	bad := newRTMP(t, "rtmps://"+addr+"/live/tls", c)
	err := bad.Initialize()
	require.ErrorIs(t, err, ErrUnreachable)
	require.Contains(t, err.Error(), "certificate")
	t.Log(err)

	r := newRTMP(t, "rtmps://"+addr+"/live/tls", c)
	r.TLSConfig = &tls.Config{RootCAs: roots}
	r.QueueDuration = time.Minute
	require.NoError(t, r.Initialize())
	feed(r, c.file.Packets, false, 0)
	r.Close()
	require.NoError(t, r.Err())
	n.WaitUnpublished("tls", 10*time.Second)
	checkReceived(t, n.RecordPath("tls"), c)
}
