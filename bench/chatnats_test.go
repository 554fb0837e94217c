package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"golive/chat"
	"golive/internal/peers"
)

// chatNATSEnv gives a "golive" chat bench server (TestChatBenchServer) the
// NATS server its hub joins; empty: the hub runs alone.
const chatNATSEnv = "GOLIVE_CHAT_BENCH_NATS"

// benchNATSLink returns the NATS link of a chat bench server child, or nil.
func benchNATSLink(t *testing.T) *chat.NATSLink {
	url := os.Getenv(chatNATSEnv)
	if url == "" {
		return nil
	}
	l := &chat.NATSLink{URL: url, Logger: slog.New(slog.DiscardHandler)}
	require.NoError(t, l.Initialize())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, l.WaitConnected(ctx))
	return l
}

// roomBenchConfig is one run of a room fan-out benchmark.
type roomBenchConfig struct {
	viewers int // WebSocket viewers per server
	rounds  int // messages, each to every viewer of the room
}

// fromEnv lets GOLIVE_BENCH_CHAT_VIEWERS and GOLIVE_BENCH_CHAT_ROUNDS override
// the configuration, for quick looks; recorded figures use the defaults.
func (c roomBenchConfig) fromEnv() roomBenchConfig {
	if n, err := strconv.Atoi(os.Getenv("GOLIVE_BENCH_CHAT_VIEWERS")); err == nil && n > 0 {
		c.viewers = n
	}
	if n, err := strconv.Atoi(os.Getenv("GOLIVE_BENCH_CHAT_ROUNDS")); err == nil && n > 0 {
		c.rounds = n
	}
	return c
}

// roomViewer is one viewer of a room benchmark: it records the latency of
// every round's message and counts copies it had already received.
type roomViewer struct {
	ws   *websocket.Conn
	seen [4]int64 // the last stamps received
	next int
}

// roomBench sends stamped messages into a room (one or more servers sharing it)
// and records, for every viewer, when each arrives; it counts losses (a viewer
// that never got a round's message) and duplicates (a copy a viewer already had).
type roomBench struct {
	sides   []*chatSide
	viewers []*roomViewer
	senders []*websocket.Conn
	peer    bool // the servers relay the sender's frame as is (peerChat)

	expect  atomic.Int64
	pending atomic.Int64
	done    chan struct{}
	mu      sync.Mutex
	lat     []time.Duration
	dups    atomic.Int64
	lost    int64
	readers sync.WaitGroup
}

// connect dials perSide viewers and one sender to every side, measuring each
// server's memory before and after its viewers joined.
func (rb *roomBench) connect(t *testing.T, ctx context.Context, perSide int) map[*chatSide][2]chatMem {
	mems := map[*chatSide][2]chatMem{}
	for si, s := range rb.sides {
		sender, err := s.dial(ctx, "?token=bench", "sender"+strconv.Itoa(si))
		require.NoError(t, err)
		rb.senders = append(rb.senders, sender)
		rb.readers.Add(1)
		go func() { // the sender reads too (its own messages come back, pings must be answered)
			defer rb.readers.Done()
			for {
				if _, _, err := sender.Read(context.Background()); err != nil {
					return
				}
			}
		}()
		before := s.mem(t)
		conns := make([]*websocket.Conn, perSide)
		var wg sync.WaitGroup
		var dialErr atomic.Value
		sem := make(chan struct{}, 64)
		for i := range conns {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				ws, err := s.dial(ctx, "", "viewer"+strconv.Itoa(si)+"-"+strconv.Itoa(i))
				if err != nil {
					dialErr.Store(err)
					return
				}
				conns[i] = ws
				v := &roomViewer{ws: ws}
				rb.mu.Lock()
				rb.viewers = append(rb.viewers, v)
				rb.mu.Unlock()
				rb.readers.Add(1)
				go rb.read(v) // reads from the start, as a browser does
			}()
		}
		wg.Wait()
		if err, _ := dialErr.Load().(error); err != nil {
			t.Fatalf("%s: dialing viewers: %v", s.name, err)
		}
		require.Eventually(t, func() bool { return s.mem(t).Viewers >= perSide }, 2*time.Minute, 100*time.Millisecond)
		mems[s] = [2]chatMem{before, settled(t, s)}
		s.viewers = append(s.viewers, conns...) // chatSide.stop closes them
	}
	return mems
}

// settled returns a server's memory once its goroutines have not changed for
// three seconds, longer than a connection's writer lingers (the joins'
// viewer-count frames written, writers gone), as an idle room has it.
func settled(t *testing.T, s *chatSide) chatMem {
	m, same := s.mem(t), 0
	for i := 0; i < 90 && same < 3; i++ {
		time.Sleep(time.Second) // sampling a child process until it is quiet
		next := s.mem(t)
		if next.Goroutines == m.Goroutines {
			same++
		} else {
			same = 0
		}
		m = next
	}
	if same < 3 {
		t.Logf("%s: goroutines still changing after 90 s", s.name)
	}
	return m
}

// read records one viewer's deliveries.
func (rb *roomBench) read(v *roomViewer) {
	defer rb.readers.Done()
	for {
		_, data, err := v.ws.Read(context.Background())
		if err != nil {
			return
		}
		stamp := stampOf(data)
		if stamp == 0 {
			continue
		}
		dup := false
		for _, s := range v.seen {
			dup = dup || s == stamp
		}
		if dup {
			rb.dups.Add(1)
			continue
		}
		v.seen[v.next] = stamp
		v.next = (v.next + 1) % len(v.seen)
		if stamp != rb.expect.Load() {
			continue // a late copy of a round given up on: already counted lost
		}
		d := time.Duration(time.Now().UnixNano() - stamp)
		rb.mu.Lock()
		rb.lat = append(rb.lat, d)
		rb.mu.Unlock()
		if rb.pending.Add(-1) == 0 {
			close(rb.done)
		}
	}
}

// round sends one message through sender and waits until every viewer has it
// (or 30 s, then the missing ones count as lost).
func (rb *roomBench) round(t *testing.T, sender *websocket.Conn) {
	stamp := time.Now().UnixNano()
	frame := stampedFrame(stamp, rb.peer)
	rb.done = make(chan struct{})
	rb.pending.Store(int64(len(rb.viewers)))
	rb.expect.Store(stamp)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, sender.Write(ctx, websocket.MessageText, []byte(frame)))
	select {
	case <-rb.done:
	case <-ctx.Done():
		rb.lost += rb.pending.Load()
		rb.expect.Store(-1) // no viewer counts this round any more
	}
}

// stampedFrame is what a sender sends for a round stamped stamp: a message
// frame with the text "T<stamp>" for GoLive, which builds the frame viewers get;
// the finished frame for the peer, which relays what it reads, so that both
// servers send viewers the same bytes.
func stampedFrame(stamp int64, peer bool) string {
	text := "T" + strconv.FormatInt(stamp, 10)
	if peer {
		return `{"type":"message","id":"bench-1","user":{"id":"0123456789abcdef","name":"sender","mod":true},"text":"` +
			text + `","ts":` + strconv.FormatInt(stamp/1e6, 10) + `}`
	}
	return `{"type":"message","text":"` + text + `"}`
}

// run runs the rounds, senders taking turns, and returns p50, p99 and max.
func (rb *roomBench) run(t *testing.T, rounds int) [3]time.Duration {
	time.Sleep(time.Second) // let the joins' coalesced viewer counts go out before timing
	rb.mu.Lock()
	rb.lat = make([]time.Duration, 0, len(rb.viewers)*rounds)
	rb.mu.Unlock()
	for r := 0; r < rounds; r++ {
		rb.round(t, rb.senders[r%len(rb.senders)])
		time.Sleep(20 * time.Millisecond) // rounds independent: nothing in flight
	}
	rb.mu.Lock()
	defer rb.mu.Unlock()
	sort.Slice(rb.lat, func(i, j int) bool { return rb.lat[i] < rb.lat[j] })
	if len(rb.lat) == 0 {
		return [3]time.Duration{}
	}
	return [3]time.Duration{percentile(rb.lat, 0.50), percentile(rb.lat, 0.99), rb.lat[len(rb.lat)-1]}
}

// stop closes every side and waits for the readers.
func (rb *roomBench) stop() {
	for _, ws := range rb.senders {
		_ = ws.CloseNow()
	}
	for _, s := range rb.sides {
		s.stop()
	}
	rb.readers.Wait()
}

// idleKiB is the server's heap+stack per viewer that joined between the two measurements.
func idleKiB(m [2]chatMem, n int) float64 {
	return (float64(m[1].HeapInuse+m[1].StackInuse) - float64(m[0].HeapInuse+m[0].StackInuse)) / float64(n) / 1024
}

// roomRun starts servers (mode, with NATS if natsURL is set), connects
// perSide viewers to each and runs the rounds.
type roomRun struct {
	name                string
	p                   [3]time.Duration
	deliveries          int
	lost, dups          int64
	idleKiB, rssKiB, gr float64
}

func runRoom(t *testing.T, name, mode, natsURL string, servers, perSide, rounds int) roomRun {
	t.Setenv(chatNATSEnv, natsURL)
	rb := &roomBench{peer: mode == "peer"}
	for i := 0; i < servers; i++ {
		rb.sides = append(rb.sides, startChatServer(t, mode))
	}
	defer rb.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	mems := rb.connect(t, ctx, perSide)
	if servers > 1 {
		// The instances see each other: a warm-up message from each reaches every viewer.
		for _, s := range rb.senders {
			rb.round(t, s)
			require.Zero(t, rb.lost, "%s: the warm-up message did not reach every instance", name)
		}
	}
	p := rb.run(t, rounds)
	r := roomRun{name: name, p: p, deliveries: len(rb.lat), lost: rb.lost, dups: rb.dups.Load()}
	for _, s := range rb.sides {
		m := mems[s]
		r.idleKiB += idleKiB(m, perSide) / float64(servers)
		r.rssKiB += (float64(m[1].RSS) - float64(m[0].RSS)) / float64(perSide) / 1024 / float64(servers)
		r.gr += float64(m[1].Goroutines-m[0].Goroutines) / float64(perSide) / float64(servers)
	}
	t.Logf("%-28s viewers=%d deliveries=%d lost=%d duplicates=%d p50=%.1fms p99=%.1fms max=%.1fms | per idle viewer: heap+stack %.1f KiB, RSS %.1f KiB, goroutines %.2f | load %s",
		name, servers*perSide, r.deliveries, r.lost, r.dups, ms(p[0]), ms(p[1]), ms(p[2]), r.idleKiB, r.rssKiB, r.gr, loadAverage())
	return r
}

// TestChatFanoutTenThousand connects 10,000 WebSocket viewers to one GoLive
// chat hub (in a child process) and sends stamped messages, each to every
// viewer; then the same with the peer (coder/websocket's chat example pattern,
// bench/chat_test.go). It reports p99 delivery and memory per idle viewer as
// verdicts; it never asserts a timing. The two servers run one after the other
// (20,000 client sockets at once would pass the file limit). GOLIVE_BENCH=1
// runs the recorded configuration; otherwise a 50-viewer smoke run.
func TestChatFanoutTenThousand(t *testing.T) {
	cfg := roomBenchConfig{viewers: 50, rounds: 3}
	if benchFull() {
		cfg = roomBenchConfig{viewers: 10000, rounds: 100}
	}
	cfg = cfg.fromEnv()
	raiseNoFile(t, uint64(cfg.viewers)+512)
	g := runRoom(t, "golive, one instance", "golive", "", 1, cfg.viewers, cfg.rounds)
	p := runRoom(t, "peer (chat example pattern)", "peer", "", 1, cfg.viewers, cfg.rounds)
	require.Zero(t, g.lost, "every message to every viewer")
	require.Zero(t, g.dups)
	note := fmt.Sprintf("%d viewers, %d rounds, %d deliveries each side, loopback, one server process each, run one after the other; p50 %.1f ms vs %.1f ms",
		cfg.viewers, cfg.rounds, g.deliveries, ms(g.p[0]), ms(p.p[0]))
	verdict(t, "chat-fanout-10000", ms(g.p[1]), ms(p.p[1]), note)
	verdict(t, "chat-idle-viewer", g.idleKiB, p.idleKiB,
		fmt.Sprintf("server heap+stack per idle viewer after GC, %d viewers; goroutines per viewer %.2f vs %.2f; RSS %.1f vs %.1f KiB",
			cfg.viewers, g.gr, p.gr, g.rssKiB, p.rssKiB))
}

// TestChatNATSFanout runs two GoLive chat hubs (child processes) joined over
// Debian's nats-server (JetStream on), 5,000 WebSocket viewers on each and a
// sender on each taking turns; every message must reach all 10,000 viewers
// once (no loss, no duplicates: asserted) and its p99 is the verdict's figure.
// The peer figure is one instance alone with the same 10,000 viewers and both
// senders. It never asserts a timing. GOLIVE_BENCH=1 runs the recorded
// configuration; otherwise 2×50 viewers, 3 rounds.
func TestChatNATSFanout(t *testing.T) {
	cfg := roomBenchConfig{viewers: 50, rounds: 4}
	if benchFull() {
		cfg = roomBenchConfig{viewers: 5000, rounds: 100}
	}
	cfg = cfg.fromEnv()
	raiseNoFile(t, uint64(2*cfg.viewers)+512)
	ns := peers.StartNATS(t)
	two := runRoom(t, "golive, two instances + NATS", "golive", ns.URL(), 2, cfg.viewers, cfg.rounds)
	one := runRoom(t, "golive, one instance alone", "golive", "", 1, 2*cfg.viewers, cfg.rounds)
	require.Zero(t, two.lost, "no loss across instances")
	require.Zero(t, two.dups, "no duplicates across instances")
	note := fmt.Sprintf("2×%d viewers, senders on both instances, %d rounds, %d deliveries, lost %d, duplicates %d; peer: one instance with all %d viewers and both senders; p50 %.1f ms vs %.1f ms",
		cfg.viewers, cfg.rounds, two.deliveries, two.lost, two.dups, 2*cfg.viewers, ms(two.p[0]), ms(one.p[0]))
	verdict(t, "chat-nats-2x5000", ms(two.p[1]), ms(one.p[1]), note)
}
