package peers

import (
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// ProxyOptions shape a Proxy. The zero value is an unlimited proxy with
// the defaults below.
type ProxyOptions struct {
	// Rate limits the client→server direction of every connection to
	// this many bits/s, each connection on its own (0: unlimited).
	// SetRate changes it later.
	Rate int
	// ReadBuffer is the receive buffer of the client sockets (0: 32 KiB;
	// Linux doubles it), small so that back-pressure reaches the client
	// quickly, and what the proxy acknowledges beyond what it carried;
	// much smaller windows stall on delayed ACKs and zero-window probes.
	ReadBuffer int
	// Slice is how much link time one read may carry when the rate is
	// limited (0: 10 ms): shorter is smoother, longer wakes up less often
	// on a loaded machine.
	Slice time.Duration
	// MaxCredit is how far behind the rate a connection may fall (idle
	// time, late wake-ups) and still catch up at full speed afterwards
	// (0: 100 ms).
	MaxCredit time.Duration
	// StallAfter makes every connection carry this many client→server
	// bytes, then stop reading for good with its sockets open, as Stall
	// does (0: never): a link that lets the handshake and the publish
	// through, then dies without a word.
	StallAfter int64
}

// unlimitedChunk is the most one read carries when the rate is not
// limited; small, so that Stall lets little through once called.
const unlimitedChunk = 4 << 10

// Proxy is a TCP proxy on 127.0.0.1 for tests: each accepted connection
// is forwarded to upstream, server→client as fast as it goes,
// client→server through a token bucket at the current rate, which Stall
// can also stop. Everything is closed by t.Cleanup.
type Proxy struct {
	ln       net.Listener
	upstream string
	opts     ProxyOptions
	rate     atomic.Int64 // bits/s, 0: unlimited
	bytes    atomic.Int64 // client→server bytes carried
	first    atomic.Int64 // unix ns of the first byte carried
	last     atomic.Int64 // unix ns of the last byte carried
	accepted atomic.Int64 // connections accepted
	wg       sync.WaitGroup
	once     sync.Once
	done     chan struct{} // closed by Close
	mu       sync.Mutex
	conns    []net.Conn
	stalled  chan struct{} // closed by Stall for the connections of the moment
}

// StartProxy listens on a free 127.0.0.1 port and forwards every
// connection to upstream ("host:port"). It fails the test if it cannot
// listen; a connection whose upstream dial fails is closed.
func StartProxy(t testing.TB, upstream string, opts ProxyOptions) *Proxy {
	t.Helper()
	if opts.ReadBuffer <= 0 {
		opts.ReadBuffer = 32 << 10
	}
	// The listening socket's receive buffer is what accepted sockets
	// start with, before they advertise their first window (a window
	// once advertised does not shrink).
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { setReadBuffer(fd, opts.ReadBuffer) })
	}}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: listen: %v", err)
	}
	if opts.Slice <= 0 {
		opts.Slice = 10 * time.Millisecond
	}
	if opts.MaxCredit <= 0 {
		opts.MaxCredit = 100 * time.Millisecond
	}
	p := &Proxy{ln: ln, upstream: upstream, opts: opts, done: make(chan struct{}), stalled: make(chan struct{})}
	p.rate.Store(int64(opts.Rate))
	p.wg.Add(1)
	go func() { defer p.wg.Done(); p.accept() }()
	t.Cleanup(p.Close)
	return p
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		_ = c.(*net.TCPConn).SetReadBuffer(p.opts.ReadBuffer)
		up, err := net.Dial("tcp", p.upstream)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		stall := p.stalled
		p.mu.Unlock()
		dead := new(atomic.Bool) // the connection stalled: nothing goes either way
		p.wg.Add(2)
		go func() { defer p.wg.Done(); p.back(c, up, dead); _ = c.Close() }()
		go func() { defer p.wg.Done(); p.pump(up, c, stall, dead); _ = up.Close() }()
		p.accepted.Add(1)
	}
}

// back copies server→client until the server closes; once the connection
// is dead, what the server sends is lost and its close never reaches the
// client (the socket stays open until Close), as on a link that died.
func (p *Proxy) back(dst io.Writer, src io.Reader, dead *atomic.Bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !dead.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if dead.Load() {
				<-p.done
			}
			return
		}
	}
}

// Addr is the proxy's "127.0.0.1:port".
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetRate limits client→server to bitsPerSecond per connection from now
// on (0: unlimited). Each connection's bucket starts afresh.
func (p *Proxy) SetRate(bitsPerSecond int) { p.rate.Store(int64(bitsPerSecond)) }

// Stall makes every current connection stop reading from its client for
// good, with the sockets left open (a server that hangs); connections
// accepted afterwards work.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	close(p.stalled)
	p.stalled = make(chan struct{})
}

// Connections is how many connections the proxy has accepted.
func (p *Proxy) Connections() int { return int(p.accepted.Load()) }

// Bytes is how many client→server bytes the proxy has carried.
func (p *Proxy) Bytes() int64 { return p.bytes.Load() }

// Carried is the client→server bits/s between the first and the last
// byte carried (0 before two writes).
func (p *Proxy) Carried() int {
	d := time.Duration(p.last.Load() - p.first.Load())
	if d <= 0 {
		return 0
	}
	return int(float64(p.bytes.Load()) * 8 / d.Seconds())
}

// Close stops listening, closes every connection and waits for the
// proxy's goroutines. It is idempotent and registered with t.Cleanup.
func (p *Proxy) Close() {
	p.once.Do(func() {
		_ = p.ln.Close()
		close(p.done)
		p.mu.Lock()
		for _, c := range p.conns {
			_ = c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
}

// pump copies src to dst at the current rate: a token bucket on the total
// since the last rate change, so late wake-ups on a loaded machine do not
// slow the link down; a connection behind by more than MaxCredit only
// catches up MaxCredit. Once stall is closed, or StallAfter bytes went
// through, it stops reading and waits for Close.
func (p *Proxy) pump(dst io.Writer, src io.Reader, stall <-chan struct{}, dead *atomic.Bool) {
	buf := make([]byte, unlimitedChunk)
	start := time.Now()
	var sent, total int64
	lastRate := p.rate.Load()
	for {
		stalled := p.opts.StallAfter > 0 && total >= p.opts.StallAfter
		select {
		case <-stall:
			stalled = true
		default:
		}
		if stalled {
			dead.Store(true)
			<-p.done // hang with the socket open until Close
			return
		}
		bits := p.rate.Load()
		if bits != lastRate {
			start, sent, lastRate = time.Now(), 0, bits
		}
		rate := bits / 8 // bytes/s
		n := unlimitedChunk
		if rate > 0 {
			n = int(max(1, int64(float64(rate)*p.opts.Slice.Seconds())))
		}
		if n > len(buf) {
			buf = make([]byte, n)
		}
		if p.opts.StallAfter > 0 {
			n = int(min(int64(n), p.opts.StallAfter-total))
		}
		m, err := src.Read(buf[:n])
		if m > 0 {
			if _, werr := dst.Write(buf[:m]); werr != nil {
				return
			}
			sent += int64(m)
			total += int64(m)
			now := time.Now().UnixNano()
			p.first.CompareAndSwap(0, now)
			p.last.Store(now)
			p.bytes.Add(int64(m))
		}
		if err != nil {
			return
		}
		if rate > 0 {
			due := start.Add(time.Duration(float64(sent) / float64(rate) * float64(time.Second)))
			if d := time.Until(due); d > 5*time.Millisecond {
				time.Sleep(d) // pacing the link, not synchronising a test
			} else if d < -p.opts.MaxCredit {
				start = start.Add(-d - p.opts.MaxCredit)
			}
		}
	}
}
