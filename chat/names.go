package chat

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// defaultReservedNames are names no viewer may take besides the creator's and
// the moderators' (see Hub.ReservedNames).
var defaultReservedNames = [...]string{"moderator", "mod", "admin", "administrator", "system", "golive"}

// lookAlikes maps a lower-case rune to the Latin letter it is mistaken for:
// Cyrillic and Greek homoglyphs, digits and symbols used as letters, and the
// letters that look like a lower-case L.
var lookAlikes = map[rune]rune{
	// Cyrillic
	'а': 'a', 'в': 'b', 'е': 'e', 'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p', 'с': 'c',
	'т': 't', 'у': 'y', 'х': 'x', 'ѕ': 's', 'і': 'l', 'ї': 'l', 'ј': 'j', 'ԁ': 'd', 'ԛ': 'q',
	'ԝ': 'w', 'ь': 'b', 'ү': 'y', 'һ': 'h', 'ӏ': 'l',
	// Greek
	'α': 'a', 'β': 'b', 'γ': 'y', 'ε': 'e', 'η': 'n', 'ι': 'l', 'κ': 'k', 'ν': 'v', 'ο': 'o',
	'ρ': 'p', 'τ': 't', 'υ': 'u', 'χ': 'x', 'ω': 'w', 'ζ': 'z', 'μ': 'u',
	// Latin letters NFKD leaves alone, and i/l
	'i': 'l', 'ı': 'l', 'ł': 'l', 'ø': 'o', 'đ': 'd', 'ħ': 'h', 'ŧ': 't',
	// digits and symbols used as letters
	'0': 'o', '1': 'l', '2': 'z', '3': 'e', '4': 'a', '5': 's', '6': 'b', '7': 't', '8': 'b', '9': 'g',
	'|': 'l', '@': 'a', '$': 's', '€': 'e',
}

// lookAlikePairs are letter pairs that read as one letter.
var lookAlikePairs = strings.NewReplacer("rn", "m", "vv", "w")

// foldRunes maps s to lower-case letters and digits with accents removed and
// look-alikes replaced; every other rune (spaces, punctuation, invisible format
// characters) becomes a separator (-1 from the mapping, ' ' here).
func foldRunes(s string) string {
	var b strings.Builder
	for _, r := range norm.NFKD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue // combining accent
		}
		r = unicode.ToLower(r)
		if m, ok := lookAlikes[r]; ok {
			r = m
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		} else {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// foldName is the form display names are compared in: case, accents,
// look-alike letters, digits used as letters, spaces and punctuation do not
// count, so "Creator", "cr3ator", "C r e a t o r" and "Сreator" (Cyrillic С)
// are one name.
func foldName(name string) string {
	return lookAlikePairs.Replace(strings.ReplaceAll(foldRunes(name), " ", ""))
}

// foldText is foldName for blocked-word entries and texts compared whole
// (deduplication).
func foldText(s string) string { return foldName(s) }

// foldWords splits s into folded words, for the blocked-words filter.
func foldWords(s string) []string {
	words := strings.Fields(foldRunes(s))
	for i, w := range words {
		words[i] = lookAlikePairs.Replace(w)
	}
	return words
}
