package peers

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ProbeStream is one stream as ffprobe reports it.
type ProbeStream struct {
	Index        int    `json:"index"`
	CodecType    string `json:"codec_type"`
	CodecName    string `json:"codec_name"`
	Profile      string `json:"profile"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	AvgFrameRate string `json:"avg_frame_rate"`
	RFrameRate   string `json:"r_frame_rate"`
	NbReadFrames string `json:"nb_read_frames"`
	SampleRate   string `json:"sample_rate"`
	Channels     int    `json:"channels"`
	StartTime    string `json:"start_time"`
	Duration     string `json:"duration"`
}

// Frames returns nb_read_frames as a number (0 when absent).
func (s ProbeStream) Frames() int { n, _ := strconv.Atoi(s.NbReadFrames); return n }

// Rate returns sample_rate as a number (0 when absent).
func (s ProbeStream) Rate() int { n, _ := strconv.Atoi(s.SampleRate); return n }

// FPS returns avg_frame_rate (or r_frame_rate when avg is 0/0) as a number.
func (s ProbeStream) FPS() float64 {
	if f := ParseRational(s.AvgFrameRate); f > 0 {
		return f
	}
	return ParseRational(s.RFrameRate)
}

// Start returns start_time in seconds (0 when absent).
func (s ProbeStream) Start() float64 { f, _ := strconv.ParseFloat(s.StartTime, 64); return f }

// Seconds returns duration in seconds (0 when absent).
func (s ProbeStream) Seconds() float64 { f, _ := strconv.ParseFloat(s.Duration, 64); return f }

// ProbeFormat is the container as ffprobe reports it.
type ProbeFormat struct {
	FormatName string `json:"format_name"`
	Duration   string `json:"duration"`
	StartTime  string `json:"start_time"`
	Size       string `json:"size"`
}

// Seconds returns the container duration in seconds (0 when absent).
func (f ProbeFormat) Seconds() float64 { d, _ := strconv.ParseFloat(f.Duration, 64); return d }

// ProbeInfo is what FFprobe returns: the streams, the container and
// ffprobe's error output (decode errors show up there).
type ProbeInfo struct {
	Streams []ProbeStream `json:"streams"`
	Format  ProbeFormat   `json:"format"`
	Stderr  string        `json:"-"`
}

// Video returns the first video stream, or false.
func (p ProbeInfo) Video() (ProbeStream, bool) { return p.first("video") }

// Audio returns the first audio stream, or false.
func (p ProbeInfo) Audio() (ProbeStream, bool) { return p.first("audio") }

func (p ProbeInfo) first(kind string) (ProbeStream, bool) {
	for _, s := range p.Streams {
		if s.CodecType == kind {
			return s, true
		}
	}
	return ProbeStream{}, false
}

// FFprobe decodes every frame of file with ffprobe (-count_frames) and
// returns its streams, container and error output. It fails the test if
// ffprobe cannot open the file.
func FFprobe(t testing.TB, file string) ProbeInfo {
	t.Helper()
	bin := RequireTool(t, "ffprobe")
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "-v", "error", "-show_streams", "-show_format", "-count_frames", "-of", "json", file)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffprobe %s: %v: %s", file, err, stderr.String())
	}
	info, err := ParseProbe(stdout.Bytes())
	if err != nil {
		t.Fatalf("ffprobe %s: parse output: %v", file, err)
	}
	info.Stderr = stderr.String()
	return info
}

// ProbeStreams runs ffprobe over a file or a live URL (an LL-HLS playlist
// that has not ended), reading only what it needs to tell the streams: no
// frame counts.
func ProbeStreams(t testing.TB, url string) ProbeInfo {
	t.Helper()
	bin := RequireTool(t, "ffprobe")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "-v", "error", "-show_streams", "-show_format", "-of", "json", url)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffprobe %s: %v: %s", url, err, stderr.String())
	}
	info, err := ParseProbe(stdout.Bytes())
	if err != nil {
		t.Fatalf("ffprobe %s: parse output: %v", url, err)
	}
	info.Stderr = stderr.String()
	return info
}

// ParseProbe parses ffprobe's JSON output (-of json).
func ParseProbe(out []byte) (ProbeInfo, error) {
	var info ProbeInfo
	err := json.Unmarshal(out, &info)
	return info, err
}

// ProbePacket is one packet's timing as ffprobe reports it.
type ProbePacket struct {
	StreamIndex int     `json:"stream_index"`
	CodecType   string  `json:"codec_type"`
	PTS         float64 // seconds
	DTS         float64 // seconds
	Keyframe    bool
}

// ProbePackets lists every packet of file in file order with its stream,
// PTS and DTS in seconds and key flag.
func ProbePackets(t testing.TB, file string) []ProbePacket {
	t.Helper()
	bin := RequireTool(t, "ffprobe")
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "-v", "error", "-show_entries",
		"packet=stream_index,codec_type,pts_time,dts_time,flags", "-of", "json", file)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffprobe packets %s: %v: %s", file, err, stderr.String())
	}
	pkts, err := ParseProbePackets(stdout.Bytes())
	if err != nil {
		t.Fatalf("ffprobe packets %s: %v", file, err)
	}
	return pkts
}

// ParseProbePackets parses `ffprobe -show_entries packet=... -of json`.
func ParseProbePackets(out []byte) ([]ProbePacket, error) {
	var raw struct {
		Packets []struct {
			StreamIndex int    `json:"stream_index"`
			CodecType   string `json:"codec_type"`
			PTSTime     string `json:"pts_time"`
			DTSTime     string `json:"dts_time"`
			Flags       string `json:"flags"`
		} `json:"packets"`
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		return nil, err
	}
	pkts := make([]ProbePacket, 0, len(raw.Packets))
	for _, p := range raw.Packets {
		pts, _ := strconv.ParseFloat(p.PTSTime, 64)
		dts, err := strconv.ParseFloat(p.DTSTime, 64)
		if err != nil {
			dts = pts
		}
		pkts = append(pkts, ProbePacket{
			StreamIndex: p.StreamIndex, CodecType: p.CodecType,
			PTS: pts, DTS: dts, Keyframe: strings.Contains(p.Flags, "K"),
		})
	}
	return pkts, nil
}

// FirstPTS returns the smallest PTS of each codec type ("video", "audio")
// among pkts, for A/V start alignment checks.
func FirstPTS(pkts []ProbePacket) map[string]float64 {
	first := map[string]float64{}
	for _, p := range pkts {
		if v, ok := first[p.CodecType]; !ok || p.PTS < v {
			first[p.CodecType] = p.PTS
		}
	}
	return first
}

// ParseRational parses "30000/1001" or "25" into a number; 0 when invalid.
func ParseRational(s string) float64 {
	num, den, found := strings.Cut(s, "/")
	n, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0
	}
	if !found {
		return n
	}
	d, err := strconv.ParseFloat(den, 64)
	if err != nil || d == 0 {
		return 0
	}
	return n / d
}
