package peers

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestChromiumPages checks what tests rely on: Evaluate returns values and
// awaits promises, a thrown exception is an error, Errors collects the
// page's console errors and exceptions, NewPage tabs share cookies and a
// NewIsolatedPage tab does not.
func TestChromiumPages(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		switch r.URL.Path {
		case "/favicon.ico":
			w.WriteHeader(http.StatusNoContent)
		case "/broken":
			_, _ = io.WriteString(w, `<script>console.error('said ' + 'boom'); window.ready = true; null.crash();</script>`)
		default:
			_, _ = io.WriteString(w, `<script>window.ready = true;</script>`)
		}
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := StartChromium(t)
	ready := func(p *Page) {
		t.Helper()
		require.Eventually(t, func() bool {
			var ok bool
			return p.Evaluate(ctx, "window.ready === true", &ok) == nil && ok
		}, 30*time.Second, 20*time.Millisecond, "the page loaded: %v", p.Errors())
	}

	first, err := c.NewPage(ctx, srv.URL+"/")
	require.NoError(t, err)
	ready(first)
	var n int
	require.NoError(t, first.Evaluate(ctx, "new Promise(ok => setTimeout(() => ok(6 * 7), 10))", &n))
	require.Equal(t, 42, n, "a promise is awaited")
	require.ErrorContains(t, first.Evaluate(ctx, "undefinedName.x", nil), "undefinedName")
	require.NoError(t, first.Evaluate(ctx, "document.cookie = 'visitor=first; path=/'", nil))
	require.Empty(t, first.Errors(), "Evaluate's own exception is its error, not the page's")

	cookie := func(p *Page) string {
		t.Helper()
		var s string
		require.NoError(t, p.Evaluate(ctx, "document.cookie", &s))
		return s
	}
	second, err := c.NewPage(ctx, srv.URL+"/")
	require.NoError(t, err)
	ready(second)
	require.Equal(t, "visitor=first", cookie(second), "NewPage tabs share the default context's cookies")
	other, err := c.NewIsolatedPage(ctx, srv.URL+"/")
	require.NoError(t, err)
	ready(other)
	require.Empty(t, cookie(other), "an isolated tab has cookies of its own")

	broken, err := c.NewIsolatedPage(ctx, srv.URL+"/broken")
	require.NoError(t, err)
	ready(broken)
	require.Eventually(t, func() bool { return len(broken.Errors()) >= 2 }, 10*time.Second, 20*time.Millisecond,
		"the console error and the exception: %v", broken.Errors())
	all := strings.Join(broken.Errors(), "\n")
	require.Contains(t, all, "said boom")
	require.Contains(t, all, "exception")
	require.Empty(t, first.Errors(), "errors are per page")
}
