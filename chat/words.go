package chat

import "strings"

// wordFilter is a compiled blocked-words list. An entry matches whole words of
// a message, compared folded (case, accents and look-alike letters do not
// count): "darn" matches "DARN!" and "d4rn" but not "darned"; an entry ending in
// "*" matches words that start with it ("darn*" matches "darned"); an entry of
// several words matches them in a row.
type wordFilter struct {
	list    []string   // the entries as the moderator wrote them
	source  []string   // the entry each element of entries comes from
	entries [][]string // each entry folded into words
	prefix  []bool     // the entry's last word is a prefix (ended in "*")
}

// newWordFilter compiles a cleaned list (see cleanWords).
func newWordFilter(list []string) *wordFilter {
	f := &wordFilter{list: append([]string(nil), list...)}
	for _, entry := range list {
		prefix := strings.HasSuffix(entry, "*")
		words := foldWords(strings.TrimSuffix(entry, "*"))
		if len(words) == 0 {
			continue
		}
		f.source = append(f.source, entry)
		f.entries = append(f.entries, words)
		f.prefix = append(f.prefix, prefix)
	}
	return f
}

// match returns the first entry text contains, if any.
func (f *wordFilter) match(text string) (string, bool) {
	if f == nil || len(f.entries) == 0 {
		return "", false
	}
	words := foldWords(text)
	for i, entry := range f.entries {
		for start := 0; start+len(entry) <= len(words); start++ {
			if f.matchAt(words[start:], entry, f.prefix[i]) {
				return f.source[i], true
			}
		}
	}
	return "", false
}

// matchAt reports whether words begins with entry.
func (f *wordFilter) matchAt(words, entry []string, prefix bool) bool {
	last := len(entry) - 1
	for j, w := range entry {
		if j == last && prefix {
			if !strings.HasPrefix(words[j], w) {
				return false
			}
			continue
		}
		if words[j] != w {
			return false
		}
	}
	return true
}
