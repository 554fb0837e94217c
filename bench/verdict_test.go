package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// benchFull reports whether the full measurements run (GOLIVE_BENCH=1,
// what `make bench` sets); otherwise every benchmark is a smoke run that
// checks its harness and prints no verdict.
func benchFull() bool { return os.Getenv("GOLIVE_BENCH") == "1" }

// verdictLog is where verdict appends its records for results.md
// (GOLIVE_BENCH_LOG, one JSON object a line); "" keeps them on stdout only.
func verdictLog() string { return os.Getenv("GOLIVE_BENCH_LOG") }

// verdictRecord is one verdict as results.md lists it.
type verdictRecord struct {
	Line   string    `json:"line"`
	Test   string    `json:"test"`
	Time   time.Time `json:"time"`
	Load   string    `json:"load"`
	Note   string    `json:"note,omitempty"`
	Passed bool      `json:"passed"`
}

var verdictMu sync.Mutex // serialises appends to the log from parallel tests

// verdict prints `PASS|MISS <target> <figure> <peer figure> <ratio>` for the
// target named id (see targets) and appends it to the results log. peer is
// 0 for a target without a peer figure; note says how the figures were
// made (rounds, frames counted on both sides). Smoke runs print nothing:
// their figures mean nothing. A verdict is never an assertion: a MISS does
// not fail the test.
func verdict(t testing.TB, id string, figure, peer float64, note string) bool {
	t.Helper()
	tg, ok := targetByName(id)
	if !ok {
		t.Fatalf("verdict: no target %q in the targets table", id)
	}
	if !benchFull() {
		return true
	}
	passed := tg.met(figure, peer)
	line := formatVerdict(tg, figure, peer, passed)
	fmt.Println(line)
	t.Logf("%s — %s (%s)", line, tg.text, note)
	logVerdict(t, verdictRecord{Line: line, Test: t.Name(), Time: time.Now().UTC(), Load: loadAverage(), Note: note, Passed: passed})
	return passed
}

// verdictInvalid fails the test because its comparison did not do the
// same work on both sides (different settings, frames missing on one
// side, too little measured), and records `FAIL <target> not measured:
// <why>` for each of ids so that results.md lists them. Smoke runs just
// fail.
func verdictInvalid(t testing.TB, ids []string, format string, args ...any) {
	t.Helper()
	why := fmt.Sprintf(format, args...)
	for _, id := range ids {
		if _, ok := targetByName(id); !ok {
			t.Fatalf("verdict: no target %q in the targets table", id)
		}
		if benchFull() {
			line := "FAIL " + id + " not measured: " + strings.Join(strings.Fields(why), " ")
			fmt.Println(line)
			logVerdict(t, verdictRecord{Line: line, Test: t.Name(), Time: time.Now().UTC(), Load: loadAverage()})
		}
	}
	t.Fatal(why)
}

// logVerdict appends a record to the results log, if there is one.
func logVerdict(t testing.TB, rec verdictRecord) {
	t.Helper()
	path := verdictLog()
	if path == "" {
		return
	}
	data, err := json.Marshal(rec)
	if err != nil {
		t.Fatalf("verdict: %v", err)
	}
	verdictMu.Lock()
	defer verdictMu.Unlock()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatalf("verdict: %v", err)
	}
	defer f.Close()
	if _, err := f.Write(append(data, '\n')); err != nil {
		t.Fatalf("verdict: %v", err)
	}
}

// formatVerdict is the verdict line: PASS|MISS, the target, our figure,
// the peer's ("-" without one) and their ratio ("-" without a peer).
func formatVerdict(tg target, figure, peer float64, passed bool) string {
	word := "MISS"
	if passed {
		word = "PASS"
	}
	peerS, ratio := "-", "-"
	if peer != 0 {
		peerS = fmt.Sprintf("%.4g%s", peer, tg.unit)
		ratio = fmt.Sprintf("%.3gx", figure/peer)
	}
	return fmt.Sprintf("%s %s %.4g%s %s %s", word, tg.name, figure, tg.unit, peerS, ratio)
}

func targetByName(id string) (target, bool) {
	for _, tg := range targets {
		if tg.name == id {
			return tg, true
		}
	}
	return target{}, false
}

// loadAverage is /proc/loadavg's first three fields ("" where there is none).
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func TestVerdictLine(t *testing.T) {
	tg, ok := targetByName("encode-720p30")
	require.True(t, ok)
	require.Equal(t, "PASS encode-720p30 95fps 100fps 0.95x", formatVerdict(tg, 95, 100, tg.met(95, 100)))
	require.Equal(t, "MISS encode-720p30 94fps 100fps 0.94x", formatVerdict(tg, 94, 100, tg.met(94, 100)))
	tg, _ = targetByName("llhls-part-top")
	require.Equal(t, "PASS llhls-part-top 0.21s - -", formatVerdict(tg, 0.21, 0, tg.met(0.21, 0)))
	require.False(t, tg.met(0.31, 0))
	names := map[string]bool{}
	for _, tg := range targets {
		require.False(t, names[tg.name], "target %s twice", tg.name)
		names[tg.name] = true
		require.NotNil(t, tg.met, tg.name)
	}
}

// TestWriteResults: results.md holds every verdict logged and a FAIL line
// for each target no benchmark gave a verdict for.
func TestWriteResults(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "verdicts.jsonl")
	t.Setenv("GOLIVE_BENCH_LOG", log)
	tg, _ := targetByName("encode-720p30")
	logVerdict(t, verdictRecord{Line: formatVerdict(tg, 95, 100, true), Test: "TestEncodeVsFFmpeg", Load: "1 1 1", Passed: true})
	out := filepath.Join(dir, "results.md")
	require.NoError(t, writeResults(out, log, time.Now().UTC(), "1 1 1"))
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	md := string(b)
	require.Contains(t, md, "| `PASS encode-720p30 95fps 100fps 0.95x` | TestEncodeVsFFmpeg |")
	require.Contains(t, md, fmt.Sprintf("1 of %d targets met.", len(targets)))
	for _, tg := range targets {
		if tg.name != "encode-720p30" {
			require.Contains(t, md, "`FAIL "+tg.name+" not measured: ", tg.name)
		}
	}
	require.NotContains(t, md, "`FAIL encode-720p30")
}
