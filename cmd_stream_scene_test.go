package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// sceneFileCases are scene files `golive stream --scene` refuses with one
// line and exit 2, before opening anything.
var sceneFileCases = []struct {
	name, json, want string
}{
	{"unknown field", `{"layers":[{"type":"text","text":"Jane","font":"Comic"}]}`, `layer 1: unknown field "font"`},
	{"missing image", `{"layers":[{"type":"image","path":"nope.png"}]}`, `nope.png: no such file or directory`},
	{"off the picture", `{"layers":[{"type":"camera","source":"test","x":0.9,"y":0.9}]}`, `layer 1 (camera): off the picture`},
	{"not json", `{"layers":`, `not JSON`},
	{"bad source", `{"source":"mic","layers":[]}`, `is not a video source`},
}

func TestStreamSceneBadFiles(t *testing.T) {
	dir := t.TempDir()
	for _, c := range sceneFileCases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".json")
			require.NoError(t, os.WriteFile(path, []byte(c.json), 0o600))
			code, stdout, stderr := runCLI(t, "stream", "--to", "rtmp://127.0.0.1:1/live/k", "--size", "640x360", "--scene", path)
			require.Equal(t, exitUsage, code, stderr)
			require.Empty(t, stdout)
			require.Equal(t, 1, strings.Count(strings.TrimSpace(stderr), "\n")+1, "one line: %q", stderr)
			require.Contains(t, stderr, "--scene "+path)
			require.Contains(t, stderr, c.want)
		})
	}
	code, _, stderr := runCLI(t, "stream", "--to", "rtmp://127.0.0.1:1/live/k", "--scene", filepath.Join(dir, "missing.json"))
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "no such file")
}
