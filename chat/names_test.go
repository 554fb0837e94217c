package chat

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFoldNameCatchesLookAlikes(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"Creator", "creator", true},
		{"Creator", "CREATOR", true},
		{"Creator", "Cr3ator", true},
		{"Creator", "Сreator", true}, // Cyrillic С
		{"Creator", "Crеаtоr", true}, // Cyrillic е а о
		{"Creator", "C r e a t o r", true},
		{"Creator", "Creator_", true},
		{"Creator", "Créator", true},
		{"Creator", "Ｃｒｅａｔｏｒ", true}, // full width
		{"Creator", "Creat0r", true},
		{"Creator", "Cre\u200bator", true}, // zero-width space
		{"admin", "admln", true},
		{"admin", "adm1n", true},
		{"Mod", "rnod", true},
		{"Alice", "A1ice", true},
		{"Creator", "Creators", false},
		{"Creator", "Curator", false},
		{"Alice", "Bob", false},
	} {
		require.Equal(t, tc.same, foldName(tc.a) == foldName(tc.b), "%q vs %q (%q, %q)", tc.a, tc.b, foldName(tc.a), foldName(tc.b))
	}
	require.Empty(t, foldName("  __ "), "no letters: nothing to reserve")
}

func TestWordFilter(t *testing.T) {
	f := newWordFilter([]string{"darn", "heck*", "bad word", "..."})
	for _, tc := range []struct {
		text  string
		entry string
	}{
		{"well darn it", "darn"},
		{"DARN!", "darn"},
		{"d4rn", "darn"},
		{"dаrn", "darn"}, // Cyrillic а
		{"darned", ""},
		{"heckin good", "heck*"},
		{"oh heck", "heck*"},
		{"a bad word here", "bad word"},
		{"a bad, word", "bad word"},
		{"bad words", ""},
		{"badword", ""},
		{"nothing here", ""},
	} {
		entry, ok := f.match(tc.text)
		require.Equal(t, tc.entry != "", ok, "%q", tc.text)
		require.Equal(t, tc.entry, entry, "%q", tc.text)
	}
	var none *wordFilter
	_, ok := none.match("anything")
	require.False(t, ok)
}
