package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// withLocale returns the environment with the locale variables replaced
// by the given ones.
func withLocale(vars ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k != "LC_ALL" && k != "LC_MESSAGES" && k != "LANG" && k != "LANGUAGE" {
			env = append(env, kv)
		}
	}
	return append(env, vars...)
}

// TestHeadlessCommandsQuietUnderAnyLocale runs the headless commands under
// Debian's container default (LANG=C.UTF-8) and other locales: nothing
// from the GUI toolkit reaches stderr.
func TestHeadlessCommandsQuietUnderAnyLocale(t *testing.T) {
	for _, locale := range [][]string{{"LANG=C.UTF-8"}, {"LC_ALL=C.utf8", "LANG=en_US.UTF-8"}, {"LANG=POSIX"}, {"LANG=de_DE.UTF-8"}} {
		for _, args := range [][]string{{"version"}, {"--help"}, {"serve", "--help"}, {"stream", "--help"}, {"devices"}} {
			cmd := exec.Command(golive, args...)
			cmd.Env = withLocale(locale...)
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%v %v: %s", locale, args, out)
			require.NotContains(t, string(out), "Fyne", "%v golive %v", locale, args)
			require.NotContains(t, string(out), "locale", "%v golive %v", locale, args)
		}
	}
}

// TestLocaleRestored checks that the codeset hidden from Fyne's package
// init is given back in main, so child processes see LANG unchanged.
func TestLocaleRestored(t *testing.T) {
	if os.Getenv("GOLIVE_LOCALE_CHILD") == "1" {
		before := os.Getenv("LANG")
		restoreLocale()
		fmt.Printf("locale %s -> %s\n", before, os.Getenv("LANG"))
		return
	}
	for in, want := range map[string]string{
		"C.UTF-8":     "locale C -> C.UTF-8",
		"POSIX.utf8":  "locale POSIX -> POSIX.utf8",
		"C":           "locale C -> C",
		"en_GB.UTF-8": "locale en_GB.UTF-8 -> en_GB.UTF-8",
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestLocaleRestored$", "-test.count=1")
		cmd.Env = withLocale("LANG="+in, "GOLIVE_LOCALE_CHILD=1")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Contains(t, string(out), want)
	}
}
