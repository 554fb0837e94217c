package chat

import (
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// clientCase is one row of the table that drives the decoder tests and seeds the fuzzer.
type clientCase struct {
	name string
	in   string
	want ClientMessage
	err  error
}

var clientCases = []clientCase{
	{"hello", `{"type":"hello","name":"ann"}`, ClientMessage{Type: TypeHello, Name: "ann", HasName: true}, nil},
	{"hello with id", `{"type":"hello","name":"ann","id":"abcdEF12-_x"}`,
		ClientMessage{Type: TypeHello, Name: "ann", HasName: true, ClientID: "abcdEF12-_x"}, nil},
	{"hello read-only", `{"type":"hello"}`, ClientMessage{Type: TypeHello}, nil},
	{"hello name trimmed and stripped", "{\"type\":\"hello\",\"name\":\"  a\\u0000b\\nc \"}",
		ClientMessage{Type: TypeHello, Name: "abc", HasName: true}, nil},
	{"hello name html verbatim", `{"type":"hello","name":"<img src=x onerror=alert(1)>"}`,
		ClientMessage{Type: TypeHello, Name: "<img src=x onerror=alert(1)>", HasName: true}, nil},
	{"hello name 32 runes", `{"type":"hello","name":"` + strings.Repeat("é", 32) + `"}`,
		ClientMessage{Type: TypeHello, Name: strings.Repeat("é", 32), HasName: true}, nil},
	{"hello name 33 runes", `{"type":"hello","name":"` + strings.Repeat("é", 33) + `"}`, ClientMessage{}, ErrTooLong},
	{"hello empty name", `{"type":"hello","name":""}`, ClientMessage{}, ErrBadRequest},
	{"hello blank name", `{"type":"hello","name":" \t "}`, ClientMessage{}, ErrBadRequest},
	{"hello short id", `{"type":"hello","name":"a","id":"short"}`, ClientMessage{}, ErrBadRequest},
	{"hello bad id chars", `{"type":"hello","name":"a","id":"abc def ghi"}`, ClientMessage{}, ErrBadRequest},
	{"message", `{"type":"message","text":"hi there"}`, ClientMessage{Type: TypeMessage, Text: "hi there"}, nil},
	{"message html verbatim", `{"type":"message","text":"<script>alert('x')</script> & \"q\""}`,
		ClientMessage{Type: TypeMessage, Text: `<script>alert('x')</script> & "q"`}, nil},
	{"message control stripped", "{\"type\":\"message\",\"text\":\"a\\u0007b\\r\\nc\\u009fd\\u007f\"}",
		ClientMessage{Type: TypeMessage, Text: "abcd"}, nil},
	{"message spaces kept", `{"type":"message","text":"  two  spaces "}`,
		ClientMessage{Type: TypeMessage, Text: "  two  spaces "}, nil},
	{"message 500 runes", `{"type":"message","text":"` + strings.Repeat("ü", 500) + `"}`,
		ClientMessage{Type: TypeMessage, Text: strings.Repeat("ü", 500)}, nil},
	{"message 501 runes", `{"type":"message","text":"` + strings.Repeat("ü", 501) + `"}`, ClientMessage{}, ErrTooLong},
	{"message empty", `{"type":"message","text":""}`, ClientMessage{}, ErrBadRequest},
	{"message only controls", "{\"type\":\"message\",\"text\":\"\\n\\n\"}", ClientMessage{}, ErrBadRequest},
	{"message text not string", `{"type":"message","text":5}`, ClientMessage{}, ErrBadRequest},
	{"message invalid utf8 replaced", "{\"type\":\"message\",\"text\":\"a\xffb\"}",
		ClientMessage{Type: TypeMessage, Text: "a\uFFFDb"}, nil},
	{"reaction", `{"type":"reaction","emoji":"🔥"}`, ClientMessage{Type: TypeReaction, Emoji: "🔥"}, nil},
	{"reaction heart", `{"type":"reaction","emoji":"❤️"}`, ClientMessage{Type: TypeReaction, Emoji: "❤️"}, nil},
	{"reaction not allowed", `{"type":"reaction","emoji":"💩"}`, ClientMessage{}, ErrBadRequest},
	{"reaction text", `{"type":"reaction","emoji":"<b>"}`, ClientMessage{}, ErrBadRequest},
	{"delete", `{"type":"delete","id":"ab12-7"}`, ClientMessage{Type: TypeDelete, Ref: "ab12-7"}, nil},
	{"delete no id", `{"type":"delete"}`, ClientMessage{}, ErrBadRequest},
	{"ban", `{"type":"ban","user":"0123456789abcdef"}`, ClientMessage{Type: TypeBan, User: "0123456789abcdef"}, nil},
	{"ban no user", `{"type":"ban","user":""}`, ClientMessage{}, ErrBadRequest},
	{"ban user object", `{"type":"ban","user":{"id":"x"}}`, ClientMessage{}, ErrBadRequest},
	{"unknown type", `{"type":"welcome"}`, ClientMessage{}, ErrBadRequest},
	{"no type", `{"text":"x"}`, ClientMessage{}, ErrBadRequest},
	{"not json", `hello`, ClientMessage{}, ErrBadRequest},
	{"array", `[1,2]`, ClientMessage{}, ErrBadRequest},
	{"empty", ``, ClientMessage{}, ErrBadRequest},
	{"timeout", `{"type":"timeout","user":"0123456789abcdef","seconds":600}`,
		ClientMessage{Type: TypeTimeout, User: "0123456789abcdef", Seconds: 600}, nil},
	{"timeout lifted", `{"type":"timeout","user":"u1","seconds":0}`, ClientMessage{Type: TypeTimeout, User: "u1"}, nil},
	{"timeout no seconds", `{"type":"timeout","user":"u1"}`, ClientMessage{}, ErrBadRequest},
	{"timeout negative", `{"type":"timeout","user":"u1","seconds":-5}`, ClientMessage{}, ErrBadRequest},
	{"timeout too long", `{"type":"timeout","user":"u1","seconds":1209601}`, ClientMessage{}, ErrBadRequest},
	{"timeout fraction", `{"type":"timeout","user":"u1","seconds":1.5}`, ClientMessage{}, ErrBadRequest},
	{"timeout no user", `{"type":"timeout","seconds":60}`, ClientMessage{}, ErrBadRequest},
	{"slow", `{"type":"slow","seconds":30}`, ClientMessage{Type: TypeSlow, Seconds: 30}, nil},
	{"slow off", `{"type":"slow","seconds":0}`, ClientMessage{Type: TypeSlow}, nil},
	{"slow missing", `{"type":"slow"}`, ClientMessage{}, ErrBadRequest},
	{"slow too long", `{"type":"slow","seconds":3601}`, ClientMessage{}, ErrBadRequest},
	{"words", `{"type":"words","words":[" darn ","heck*","","DARN","bad  word"]}`,
		ClientMessage{Type: TypeWords, Words: []string{"darn", "heck*", "bad  word"}}, nil},
	{"words empty list", `{"type":"words","words":[]}`, ClientMessage{Type: TypeWords, Words: []string{}}, nil},
	{"words missing", `{"type":"words"}`, ClientMessage{}, ErrBadRequest},
	{"words not strings", `{"type":"words","words":[1]}`, ClientMessage{}, ErrBadRequest},
	{"words entry too long", `{"type":"words","words":["` + strings.Repeat("w", 51) + `"]}`, ClientMessage{}, ErrTooLong},
	{"words too many", `{"type":"words","words":[` + strings.Repeat(`"w",`, 200) + `"w"]}`, ClientMessage{}, ErrTooLong},
	{"extra fields ignored", `{"type":"message","text":"x","color":"red"}`, ClientMessage{Type: TypeMessage, Text: "x"}, nil},
}

func TestDecodeClientMessage(t *testing.T) {
	for _, tc := range clientCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeClientMessage([]byte(tc.in), 500)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				require.Equal(t, tc.err.Error(), ErrorCode(err))
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)

			// Encoding the decoded message and decoding it again gives the same message.
			data, err := EncodeClientMessage(got)
			require.NoError(t, err)
			again, err := DecodeClientMessage(data, 500)
			require.NoError(t, err)
			require.Equal(t, got, again)
		})
	}
}

func TestEncodeServerMessage(t *testing.T) {
	u := &User{ID: "u1", Name: "<b>ann</b>"}
	cases := []struct {
		name string
		in   ServerMessage
		want string
	}{
		{"welcome empty history", ServerMessage{Type: TypeWelcome, User: u},
			`{"type":"welcome","user":{"id":"u1","name":"<b>ann</b>"},"history":[]}`},
		{"welcome moderator", ServerMessage{Type: TypeWelcome, User: &User{ID: "m", Name: "mod", Mod: true}, Moderator: true,
			History: []Message{{ID: "1", User: *u, Text: "a&b", TS: 5}}},
			`{"type":"welcome","user":{"id":"m","name":"mod","mod":true},"history":[{"id":"1","user":{"id":"u1","name":"<b>ann</b>"},"text":"a&b","ts":5}],"moderator":true}`},
		{"message", ServerMessage{Type: TypeMessage, ID: "x-1", User: u, Text: `<img src=x onerror="alert(1)">`, TS: 1700000000000},
			`{"type":"message","id":"x-1","user":{"id":"u1","name":"<b>ann</b>"},"text":"<img src=x onerror=\"alert(1)\">","ts":1700000000000}`},
		{"reaction", ServerMessage{Type: TypeReaction, Emoji: "🎉", User: u},
			`{"type":"reaction","emoji":"🎉","user":{"id":"u1","name":"<b>ann</b>"}}`},
		{"deleted", ServerMessage{Type: TypeDeleted, ID: "x-1"}, `{"type":"deleted","id":"x-1"}`},
		{"viewers zero", ServerMessage{Type: TypeViewers}, `{"type":"viewers","count":0}`},
		{"viewers", ServerMessage{Type: TypeViewers, Count: 12}, `{"type":"viewers","count":12}`},
		{"error", errorFrame(ErrForbidden), `{"type":"error","code":"forbidden","message":"forbidden"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data, err := EncodeServerMessage(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.want, string(data))
			back, err := DecodeServerMessage(data)
			require.NoError(t, err)
			require.Equal(t, tc.in.Type, back.Type)
			if tc.in.Type == TypeMessage {
				require.Equal(t, tc.in.AsMessage(), back.AsMessage())
			}
		})
	}
	_, err := EncodeServerMessage(ServerMessage{Type: "bogus"})
	require.ErrorIs(t, err, ErrBadRequest)
}

func FuzzDecodeClientMessage(f *testing.F) {
	for _, tc := range clientCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeClientMessage(data, 500)
		if err != nil {
			code := ErrorCode(err)
			if code != CodeBadRequest && code != CodeTooLong {
				t.Fatalf("unexpected error code %q for %q", code, data)
			}
			return
		}
		for _, s := range []string{m.Name, m.Text} {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 in %+v", m)
			}
			if strings.IndexFunc(s, unicode.IsControl) >= 0 {
				t.Fatalf("control character left in %q", s)
			}
		}
		if utf8.RuneCountInString(m.Text) > 500 || utf8.RuneCountInString(m.Name) > MaxNameLen {
			t.Fatalf("over length: %+v", m)
		}
		switch m.Type {
		case TypeHello:
			if m.HasName && m.Name == "" {
				t.Fatal("empty name accepted")
			}
		case TypeMessage:
			if strings.TrimSpace(m.Text) == "" {
				t.Fatal("blank text accepted")
			}
		case TypeReaction:
			if !validReaction(m.Emoji) {
				t.Fatalf("reaction %q accepted", m.Emoji)
			}
		case TypeDelete, TypeBan, TypeTimeout, TypeSlow:
		case TypeWords:
			if len(m.Words) > MaxBlockedWords {
				t.Fatalf("%d words accepted", len(m.Words))
			}
			for _, w := range m.Words {
				if w == "" || strings.IndexFunc(w, unicode.IsControl) >= 0 || utf8.RuneCountInString(w) > MaxBlockedWordLen {
					t.Fatalf("word %q accepted", w)
				}
			}
		default:
			t.Fatalf("type %q accepted", m.Type)
		}
		enc, err := EncodeClientMessage(m)
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecodeClientMessage(enc, 500)
		if err != nil || !reflect.DeepEqual(again, m) {
			t.Fatalf("round trip: %+v -> %s -> %+v, %v", m, enc, again, err)
		}
	})
}

func TestBucket(t *testing.T) {
	t0 := time.Unix(1000, 0)
	b := newBucket(1.5, 3, t0)
	for i := 0; i < 3; i++ {
		require.True(t, b.allow(t0), "burst token %d", i)
	}
	require.False(t, b.allow(t0))
	require.False(t, b.allow(t0.Add(600*time.Millisecond)), "0.9 token after 600 ms")
	require.True(t, b.allow(t0.Add(700*time.Millisecond)), "1.05 tokens after 700 ms")
	require.False(t, b.allow(t0.Add(-time.Hour)), "clock going backwards adds nothing")
	require.True(t, b.allow(t0.Add(time.Hour)))
	require.True(t, b.allow(t0.Add(time.Hour)))
	require.True(t, b.allow(t0.Add(time.Hour)))
	require.False(t, b.allow(t0.Add(time.Hour)), "refill is capped at the burst")
}
