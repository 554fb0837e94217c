package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain runs the benchmarks; with GOLIVE_BENCH_RESULTS set (make bench)
// it then writes that file from the verdicts logged in GOLIVE_BENCH_LOG:
// the machine, the date, the load, and every PASS/MISS line.
func TestMain(m *testing.M) {
	start, load0 := time.Now().UTC(), loadAverage()
	code := m.Run()
	if path := os.Getenv("GOLIVE_BENCH_RESULTS"); path != "" {
		if err := writeResults(path, verdictLog(), start, load0); err != nil {
			fmt.Fprintln(os.Stderr, "bench: results:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// writeResults writes results.md from the verdict log.
func writeResults(path, logPath string, start time.Time, load0 string) error {
	var recs []verdictRecord
	if f, err := os.Open(logPath); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var r verdictRecord
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				f.Close()
				return fmt.Errorf("%s: %w", logPath, err)
			}
			recs = append(recs, r)
		}
		f.Close()
	}
	recs = append(recs, unmeasured(recs)...)
	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmark results\n\nWritten by `make bench`; do not edit by hand. Every line is a verdict against a target of\nDESIGN.md (see bench/targets_test.go): `PASS|MISS <target> <figure> <peer figure> <ratio>`, or\n`FAIL <target> not measured: <why>` when the comparison could not be made alike on both sides.\n\n")
	fmt.Fprintf(&b, "- machine: %s, %d cores (%s), %s/%s\n", cpuModel(), runtime.NumCPU(), kernel(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(&b, "- run: %s → %s UTC, load average %s at the start, %s at the end\n",
		start.Format("2006-01-02 15:04"), time.Now().UTC().Format("15:04"), load0, loadAverage())
	fmt.Fprintf(&b, "- %s; %s\n\n", runtime.Version(), ffmpegVersion())
	passed := 0
	for _, r := range recs {
		if r.Passed {
			passed++
		}
	}
	fmt.Fprintf(&b, "%d of %d targets met.\n\n", passed, len(recs))
	fmt.Fprintf(&b, "| verdict | test | load | how |\n| --- | --- | --- | --- |\n")
	for _, r := range recs {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", strings.ReplaceAll(r.Line, "|", "/"), r.Test, r.Load, strings.ReplaceAll(r.Note, "|", "/"))
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// unmeasured returns a FAIL record for every target of the table that no
// record names: its benchmark failed before its verdict, or did not run.
func unmeasured(recs []verdictRecord) []verdictRecord {
	seen := map[string]bool{}
	for _, r := range recs {
		if f := strings.Fields(r.Line); len(f) > 1 {
			seen[f[1]] = true
		}
	}
	var out []verdictRecord
	for _, tg := range targets {
		if !seen[tg.name] {
			out = append(out, verdictRecord{Line: "FAIL " + tg.name + " not measured: no verdict (its benchmark failed before it, or did not run)", Test: "-", Load: "-"})
		}
	}
	return out
}

func cpuModel() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func kernel() string {
	out, err := exec.Command("uname", "-sr").Output()
	if err != nil {
		return runtime.GOOS
	}
	return strings.TrimSpace(string(out))
}

// ffmpegVersion names the ffmpeg command line the benchmarks use as the
// peer.
func ffmpegVersion() string {
	peer := "ffmpeg CLI not found"
	if out, err := exec.Command("ffmpeg", "-hide_banner", "-version").Output(); err == nil {
		peer = "peer " + strings.SplitN(string(out), "\n", 2)[0]
	}
	return peer
}
