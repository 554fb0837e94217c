package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"golive/chat"
)

// chatBenchConfig is one run of the chat fan-out comparison.
type chatBenchConfig struct {
	viewers int // WebSocket viewers per server
	rounds  int // messages fanned out per server (alternating between servers)
}

// chatBenchFull is the recorded configuration.
var chatBenchFull = chatBenchConfig{viewers: 2000, rounds: 200}

// chatBenchSmoke keeps the harness honest in CI without costing time.
var chatBenchSmoke = chatBenchConfig{viewers: 50, rounds: 3}

// chatServerEnv selects the server a child process runs: "golive" or "peer".
const chatServerEnv = "GOLIVE_CHAT_BENCH_SERVER"

// chatMem is what a server process reports about itself at /mem.
type chatMem struct {
	HeapInuse  uint64 `json:"heapInuse"`
	StackInuse uint64 `json:"stackInuse"`
	RSS        uint64 `json:"rss"`
	Goroutines int    `json:"goroutines"`
	Viewers    int    `json:"viewers"`
}

// TestChatBenchServer is not a test: it is the server half of TestChatFanout,
// run in a child process (so the server's memory and CPU are its own) when
// GOLIVE_CHAT_BENCH_SERVER is set. It serves until its stdin closes.
func TestChatBenchServer(t *testing.T) {
	mode := os.Getenv(chatServerEnv)
	if mode == "" {
		t.Skip("child process of TestChatFanout only")
	}
	var handler http.Handler
	var viewers func() int
	switch mode {
	case "golive":
		hub := &chat.Hub{ModeratorToken: "bench", Logger: slog.New(slog.DiscardHandler), NATS: benchNATSLink(t)}
		if hub.NATS != nil {
			defer hub.NATS.Close() // after the hub (deferred below) has left the room
		}
		require.NoError(t, hub.Initialize())
		defer hub.Close()
		handler, viewers = hub, func() int { return hub.Stats().LocalViewers }
	case "peer":
		p := &peerChat{subs: map[*peerSub]struct{}{}}
		handler, viewers = p, p.count
	default:
		t.Fatalf("unknown %s=%q", chatServerEnv, mode)
	}
	mux := http.NewServeMux()
	mux.Handle("/chat/ws", handler)
	mux.HandleFunc("/mem", func(w http.ResponseWriter, r *http.Request) {
		runtime.GC()
		debug.FreeOSMemory()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		m := chatMem{HeapInuse: ms.HeapInuse, StackInuse: ms.StackInuse, Goroutines: runtime.NumGoroutine(), Viewers: viewers()}
		if statm, err := os.ReadFile("/proc/self/statm"); err == nil {
			if f := strings.Fields(string(statm)); len(f) > 1 {
				pages, _ := strconv.ParseUint(f[1], 10, 64)
				m.RSS = pages * uint64(os.Getpagesize())
			}
		}
		_ = json.NewEncoder(w).Encode(m)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	fmt.Printf("ADDR %s\n", ln.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = srv.Close()
}

// peerChat is the peer: the broadcast pattern of coder/websocket's own chat
// example (a mutex-guarded subscriber set, a 16-frame channel per subscriber,
// a writer per subscriber, slow subscribers closed), with none of GoLive's
// protocol work (no JSON decoding, history, ids, limits or moderation).
type peerChat struct {
	mu   sync.Mutex
	subs map[*peerSub]struct{}
}

type peerSub struct {
	msgs chan []byte
	ws   *websocket.Conn
}

func (p *peerChat) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.subs)
}

func (p *peerChat) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	ws.SetReadLimit(4096)
	s := &peerSub{msgs: make(chan []byte, 16), ws: ws}
	p.mu.Lock()
	p.subs[s] = struct{}{}
	p.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	defer func() {
		cancel()
		p.mu.Lock()
		delete(p.subs, s)
		p.mu.Unlock()
		_ = ws.CloseNow()
	}()
	go func() { // every frame read is published to all
		defer cancel()
		for {
			_, data, err := ws.Read(context.Background())
			if err != nil {
				return
			}
			p.mu.Lock()
			for sub := range p.subs {
				select {
				case sub.msgs <- data:
				default:
					go func() { _ = sub.ws.Close(websocket.StatusPolicyViolation, "too slow") }()
				}
			}
			p.mu.Unlock()
		}
	}()
	for {
		select {
		case msg := <-s.msgs:
			wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
			err := ws.Write(wctx, websocket.MessageText, msg)
			wcancel()
			if err != nil {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

// chatSide is one server under test with its viewers.
type chatSide struct {
	name    string
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	addr    string
	sender  *websocket.Conn
	viewers []*websocket.Conn

	expect  atomic.Int64 // the stamp of the round in flight
	pending atomic.Int64 // viewers still to receive it
	done    chan struct{}
	mu      sync.Mutex
	lat     []time.Duration
	readers sync.WaitGroup
}

// startChatServer runs this test binary as a server child process.
func startChatServer(t *testing.T, mode string) *chatSide {
	cmd := exec.Command(os.Args[0], "-test.run=^TestChatBenchServer$", "-test.count=1")
	cmd.Env = append(os.Environ(), chatServerEnv+"="+mode)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	s := &chatSide{name: mode, cmd: cmd, stdin: stdin}
	t.Cleanup(s.stop)
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "ADDR "); ok {
			s.addr = a
			break
		}
	}
	require.NotEmpty(t, s.addr, "%s server printed no address", mode)
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return s
}

func (s *chatSide) stop() {
	if s.stdin == nil {
		return
	}
	for _, v := range s.viewers {
		_ = v.CloseNow()
	}
	if s.sender != nil {
		_ = s.sender.CloseNow()
	}
	s.readers.Wait()
	_ = s.stdin.Close()
	s.stdin = nil
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

func (s *chatSide) mem(t *testing.T) chatMem {
	resp, err := http.Get("http://" + s.addr + "/mem")
	require.NoError(t, err)
	defer resp.Body.Close()
	var m chatMem
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
	return m
}

// dial opens one WebSocket to the side's server; golive clients say hello and
// wait for their welcome.
func (s *chatSide) dial(ctx context.Context, query, name string) (*websocket.Conn, error) {
	ws, _, err := websocket.Dial(ctx, "ws://"+s.addr+"/chat/ws"+query, nil)
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(1 << 20)
	if s.name != "golive" {
		return ws, nil
	}
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"type":"hello","name":"`+name+`"}`)); err != nil {
		return nil, err
	}
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			return nil, err
		}
		if bytes.Contains(data, []byte(`"type":"welcome"`)) {
			return ws, nil
		}
	}
}

// stampOf extracts the send time carried in a message frame's text ("T<unixnano>").
func stampOf(data []byte) int64 {
	i := bytes.Index(data, []byte(`"text":"T`))
	if i < 0 {
		return 0
	}
	rest := data[i+len(`"text":"T`):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return 0
	}
	n, _ := strconv.ParseInt(string(rest[:j]), 10, 64)
	return n
}

// read records the delivery latency of every round's frame on one viewer.
func (s *chatSide) read(ws *websocket.Conn) {
	defer s.readers.Done()
	for {
		_, data, err := ws.Read(context.Background())
		if err != nil {
			return
		}
		stamp := stampOf(data)
		if stamp == 0 || stamp != s.expect.Load() {
			continue
		}
		d := time.Duration(time.Now().UnixNano() - stamp)
		s.mu.Lock()
		s.lat = append(s.lat, d)
		s.mu.Unlock()
		if s.pending.Add(-1) == 0 {
			close(s.done)
		}
	}
}

// round sends one message and waits until every viewer has it.
func (s *chatSide) round(t *testing.T) time.Duration {
	stamp := time.Now().UnixNano()
	frame := stampedFrame(stamp, s.name == "peer")
	s.done = make(chan struct{})
	s.pending.Store(int64(len(s.viewers)))
	s.expect.Store(stamp)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, s.sender.Write(ctx, websocket.MessageText, []byte(frame)))
	select {
	case <-s.done:
	case <-ctx.Done():
		t.Fatalf("%s: %d viewers never got the message", s.name, s.pending.Load())
	}
	return time.Since(time.Unix(0, stamp))
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p * float64(len(sorted)-1))
	return sorted[i]
}

// raiseNoFile lifts the soft file-descriptor limit to the hard one (children inherit it).
func raiseNoFile(t *testing.T, need uint64) {
	var lim syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim))
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim))
	}
	require.GreaterOrEqual(t, lim.Cur, need, "RLIMIT_NOFILE hard limit too low for this run")
}

// TestChatFanout connects the same number of WebSocket viewers to GoLive's chat
// hub and to a peer (the broadcast pattern of coder/websocket's chat example),
// each server in its own child process, then alternates rounds: one message
// sent, fanned out to every viewer, delivery latency recorded per viewer. It
// logs p50/p99/max and each server's memory per idle connection; it never
// asserts a timing. GOLIVE_BENCH=1 runs the recorded 2,000-viewer configuration;
// otherwise a 50-viewer smoke run of the harness.
func TestChatFanout(t *testing.T) {
	cfg := chatBenchSmoke
	if os.Getenv("GOLIVE_BENCH") == "1" {
		cfg = chatBenchFull
	}
	// Per side: viewers + sender on both ends, plus slack. The bench process holds
	// the client ends of both sides.
	raiseNoFile(t, uint64(2*(cfg.viewers+1))+256)

	sides := []*chatSide{startChatServer(t, "golive"), startChatServer(t, "peer")}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	type memRow struct{ before, after chatMem }
	mems := map[string]memRow{}
	for _, s := range sides {
		var err error
		s.sender, err = s.dial(ctx, "?token=bench", "sender")
		require.NoError(t, err)
		before := s.mem(t)
		s.viewers = make([]*websocket.Conn, cfg.viewers)
		var wg sync.WaitGroup
		var dialErr atomic.Value
		sem := make(chan struct{}, 32)
		for i := range s.viewers {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				ws, err := s.dial(ctx, "", "viewer"+strconv.Itoa(i))
				if err != nil {
					dialErr.Store(err)
					return
				}
				s.viewers[i] = ws
			}()
		}
		wg.Wait()
		if err, _ := dialErr.Load().(error); err != nil {
			t.Fatalf("%s: dialing viewers: %v", s.name, err)
		}
		require.Eventually(t, func() bool { return s.mem(t).Viewers >= cfg.viewers }, time.Minute, 50*time.Millisecond)
		mems[s.name] = memRow{before, s.mem(t)}
		s.lat = make([]time.Duration, 0, cfg.viewers*cfg.rounds)
		for _, v := range s.viewers {
			s.readers.Add(1)
			go s.read(v)
		}
		// The sender reads too (its own message comes back), so its queue never fills.
		s.readers.Add(1)
		go func(ws *websocket.Conn) {
			defer s.readers.Done()
			for {
				if _, _, err := ws.Read(context.Background()); err != nil {
					return
				}
			}
		}(s.sender)
	}
	time.Sleep(time.Second) // let the hub's coalesced viewer-count broadcast go out before timing
	for r := 0; r < cfg.rounds; r++ {
		for _, s := range sides {
			s.round(t)
			time.Sleep(20 * time.Millisecond) // rounds independent: nothing in flight
		}
	}
	results := map[string][3]time.Duration{}
	for _, s := range sides {
		sort.Slice(s.lat, func(i, j int) bool { return s.lat[i] < s.lat[j] })
		results[s.name] = [3]time.Duration{percentile(s.lat, 0.50), percentile(s.lat, 0.99), s.lat[len(s.lat)-1]}
		m := mems[s.name]
		n := float64(cfg.viewers)
		t.Logf("%-6s viewers=%d deliveries=%d p50=%.1fms p99=%.1fms max=%.1fms | per idle connection: heap+stack %.1f KiB, RSS %.1f KiB, goroutines %.2f",
			s.name, cfg.viewers, len(s.lat),
			ms(results[s.name][0]), ms(results[s.name][1]), ms(results[s.name][2]),
			(float64(m.after.HeapInuse+m.after.StackInuse)-float64(m.before.HeapInuse+m.before.StackInuse))/n/1024,
			(float64(m.after.RSS)-float64(m.before.RSS))/n/1024,
			float64(m.after.Goroutines-m.before.Goroutines)/n)
	}
	g, p := results["golive"], results["peer"]
	t.Logf("ratio golive/peer: p50 %.2f×, p99 %.2f× (target: golive p99 ≤ 100 ms; anchor Centrifugo 200 ms p99)",
		float64(g[0])/float64(p[0]), float64(g[1])/float64(p[1]))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
