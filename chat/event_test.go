package chat

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// eventCase is one row of the table that drives the event decoder's tests, the
// malformed-input test over NATS and the fuzzer's seeds.
type eventCase struct {
	name string
	in   string
	err  error
}

const okHash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

var eventCases = []eventCase{
	{"message", `{"o":"ab12cd34","s":1,"t":"message","ts":5,"id":"ab12cd34-1","user":{"id":"u1","name":"ann"},"text":"hi"}`, nil},
	{"message by moderator", `{"o":"ab12cd34","s":2,"t":"message","ts":5,"id":"ab12cd34-2","user":{"id":"creator","name":"Creator","mod":true},"text":"<b>x</b>"}`, nil},
	{"reaction", `{"o":"ab12cd34","s":3,"t":"reaction","ts":5,"user":{"id":"u1","name":"ann"},"emoji":"🔥"}`, nil},
	{"reaction read-only user", `{"o":"ab12cd34","s":3,"t":"reaction","ts":5,"user":{"id":"u1","name":""},"emoji":"🎉"}`, nil},
	{"delete", `{"o":"ab12cd34","s":4,"t":"delete","ts":5,"id":"ffff0000-9"}`, nil},
	{"ban", `{"o":"ab12cd34","s":5,"t":"ban","ts":5,"target":"u1","ips":["10.0.0.1","2001:db8::1"]}`, nil},
	{"timeout", `{"o":"ab12cd34","s":6,"t":"timeout","ts":5,"target":"u1","until":605000,"seconds":600}`, nil},
	{"timeout lifted", `{"o":"ab12cd34","s":6,"t":"timeout","ts":5,"target":"u1"}`, nil},
	{"slow", `{"o":"ab12cd34","s":7,"t":"slow","ts":5,"seconds":30}`, nil},
	{"words", `{"o":"ab12cd34","s":8,"t":"words","ts":5,"words":["darn","heck*"]}`, nil},
	{"mod_add", `{"o":"ab12cd34","s":9,"t":"mod_add","ts":5,"mod":{"id":"m1","name":"Alice","hash":"` + okHash + `","created":5}}`, nil},
	{"mod_revoke", `{"o":"ab12cd34","s":10,"t":"mod_revoke","ts":5,"target":"m1"}`, nil},

	{"not json", `hello`, ErrBadEvent},
	{"array", `[1]`, ErrBadEvent},
	{"no origin", `{"s":1,"t":"slow","ts":5,"seconds":1}`, ErrBadEvent},
	{"origin upper case", `{"o":"AB12","s":1,"t":"slow","ts":5,"seconds":1}`, ErrBadEvent},
	{"origin too long", `{"o":"` + strings.Repeat("a", 33) + `","s":1,"t":"slow","ts":5,"seconds":1}`, ErrBadEvent},
	{"seq 0", `{"o":"ab12cd34","s":0,"t":"slow","ts":5,"seconds":1}`, ErrBadEvent},
	{"seq negative", `{"o":"ab12cd34","s":-1,"t":"slow","ts":5,"seconds":1}`, ErrBadEvent},
	{"negative time", `{"o":"ab12cd34","s":1,"t":"slow","ts":-5,"seconds":1}`, ErrBadEvent},
	{"unknown type", `{"o":"ab12cd34","s":1,"t":"welcome","ts":5}`, ErrBadEvent},
	{"message id of another origin", `{"o":"ab12cd34","s":1,"t":"message","ts":5,"id":"ffff0000-1","user":{"id":"u1","name":"ann"},"text":"hi"}`, ErrBadEvent},
	{"message without user", `{"o":"ab12cd34","s":1,"t":"message","ts":5,"id":"ab12cd34-1","text":"hi"}`, ErrBadEvent},
	{"message without name", `{"o":"ab12cd34","s":1,"t":"message","ts":5,"id":"ab12cd34-1","user":{"id":"u1","name":""},"text":"hi"}`, ErrBadEvent},
	{"message name with control", `{"o":"ab12cd34","s":1,"t":"message","ts":5,"id":"ab12cd34-1","user":{"id":"u1","name":"a\u0007"},"text":"hi"}`, ErrBadEvent},
	{"message name too long", `{"o":"ab12cd34","s":1,"t":"message","ts":5,"id":"ab12cd34-1","user":{"id":"u1","name":"` + strings.Repeat("n", 33) + `"},"text":"hi"}`, ErrBadEvent},
	{"message text with control", `{"o":"ab12cd34","s":1,"t":"message","ts":5,"id":"ab12cd34-1","user":{"id":"u1","name":"a"},"text":"a\nb"}`, ErrBadEvent},
	{"message blank text", `{"o":"ab12cd34","s":1,"t":"message","ts":5,"id":"ab12cd34-1","user":{"id":"u1","name":"a"},"text":"  "}`, ErrBadEvent},
	{"message text too long", `{"o":"ab12cd34","s":1,"t":"message","ts":5,"id":"ab12cd34-1","user":{"id":"u1","name":"a"},"text":"` + strings.Repeat("x", 501) + `"}`, ErrBadEvent},
	{"message user id with space", `{"o":"ab12cd34","s":1,"t":"message","ts":5,"id":"ab12cd34-1","user":{"id":"u 1","name":"a"},"text":"x"}`, ErrBadEvent},
	{"reaction not allowed", `{"o":"ab12cd34","s":1,"t":"reaction","ts":5,"user":{"id":"u1","name":"a"},"emoji":"💩"}`, ErrBadEvent},
	{"delete without id", `{"o":"ab12cd34","s":1,"t":"delete","ts":5}`, ErrBadEvent},
	{"ban bad address", `{"o":"ab12cd34","s":1,"t":"ban","ts":5,"target":"u1","ips":["not-an-ip"]}`, ErrBadEvent},
	{"ban too many addresses", `{"o":"ab12cd34","s":1,"t":"ban","ts":5,"target":"u1","ips":[` + strings.Repeat(`"10.0.0.1",`, 16) + `"10.0.0.1"]}`, ErrBadEvent},
	{"ban without target", `{"o":"ab12cd34","s":1,"t":"ban","ts":5}`, ErrBadEvent},
	{"timeout too long", `{"o":"ab12cd34","s":1,"t":"timeout","ts":5,"target":"u1","seconds":1209601}`, ErrBadEvent},
	{"timeout negative until", `{"o":"ab12cd34","s":1,"t":"timeout","ts":5,"target":"u1","until":-1}`, ErrBadEvent},
	{"slow too long", `{"o":"ab12cd34","s":1,"t":"slow","ts":5,"seconds":3601}`, ErrBadEvent},
	{"words entry too long", `{"o":"ab12cd34","s":1,"t":"words","ts":5,"words":["` + strings.Repeat("w", 51) + `"]}`, ErrBadEvent},
	{"mod_add bad hash", `{"o":"ab12cd34","s":1,"t":"mod_add","ts":5,"mod":{"id":"m1","name":"A","hash":"xyz","created":5}}`, ErrBadEvent},
	{"mod_add without mod", `{"o":"ab12cd34","s":1,"t":"mod_add","ts":5}`, ErrBadEvent},
	{"mod_revoke without target", `{"o":"ab12cd34","s":1,"t":"mod_revoke","ts":5}`, ErrBadEvent},
	{"oversized", `{"o":"ab12cd34","s":1,"t":"slow","ts":5,"seconds":1,"pad":"` + strings.Repeat("p", maxEventBytes) + `"}`, ErrBadEvent},
}

func TestDecodeEvent(t *testing.T) {
	for _, tc := range eventCases {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := decodeEvent([]byte(tc.in), 500)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			enc, err := encodeEvent(ev)
			require.NoError(t, err)
			again, err := decodeEvent(enc, 500)
			require.NoError(t, err)
			require.Equal(t, ev, again)
		})
	}
}

// FuzzDecodeEvent feeds arbitrary bytes to every decoder of what arrives over
// NATS: events, presence, replays and snapshots. None may panic, and whatever
// an event decoder accepts must be clean and re-encode to itself.
func FuzzDecodeEvent(f *testing.F) {
	for _, tc := range eventCases {
		f.Add([]byte(tc.in))
	}
	f.Add([]byte(`{"o":"ab12cd34","s":3,"viewers":2,"moderators":0,"founded":1,"key":"0123456789abcdef"}`))
	f.Add([]byte(`{"o":"ab12cd34","first":1,"events":[` + eventCases[0].in + `]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = decodePresence(data)
		_, _, _ = decodeReplay(data, "ab12cd34", 1, 10, 500)
		_, _ = decodeSnapshot(data, 500)
		ev, err := decodeEvent(data, 500)
		if err != nil {
			if !errors.Is(err, ErrBadEvent) {
				t.Fatalf("error does not wrap ErrBadEvent: %v", err)
			}
			return
		}
		for _, s := range []string{ev.Text, userName(ev.User)} {
			if !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 {
				t.Fatalf("unclean text accepted: %q", s)
			}
		}
		if utf8.RuneCountInString(ev.Text) > 500 {
			t.Fatalf("text too long accepted")
		}
		enc, err := encodeEvent(ev)
		if err != nil {
			t.Fatal(err)
		}
		again, err := decodeEvent(enc, 500)
		if err != nil || !reflect.DeepEqual(again, ev) {
			t.Fatalf("round trip: %+v -> %s -> %+v, %v", ev, enc, again, err)
		}
	})
}

func userName(u *User) string {
	if u == nil {
		return ""
	}
	return u.Name
}
