package peers

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Chromium is a headless Chromium started for a test and driven over the
// Chrome DevTools Protocol (one browser WebSocket, flattened page
// sessions). It is stopped by t.Cleanup.
type Chromium struct {
	conn    *websocket.Conn
	closed  chan struct{} // closed when the DevTools connection ends
	mu      sync.Mutex
	nextID  int
	waiting map[int]chan cdpReply
	pages   map[string]*Page // by session id
}

type cdpReply struct {
	result json.RawMessage
	err    error
}

var devtoolsRE = regexp.MustCompile(`DevTools listening on (ws://\S+)`)

// StartChromium starts headless Chromium with the flags DESIGN.md lists
// for playback (autoplay without a gesture, no GPU, no background
// networking), and extra ones (such as
// --use-fake-device-for-media-stream), and connects to its DevTools
// endpoint. Cleanup closes the browser through DevTools (so it ends its
// helper processes itself) and kills it if it is still running 10 s later.
func StartChromium(t testing.TB, extraFlags ...string) *Chromium {
	t.Helper()
	bin := "/usr/bin/chromium"
	if _, err := os.Stat(bin); err != nil {
		bin = RequireTool(t, "chromium", "chromium-browser")
	}
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--no-first-run", "--autoplay-policy=no-user-gesture-required", "--mute-audio",
		"--disable-background-timer-throttling", "--disable-renderer-backgrounding",
		"--remote-debugging-port=0", "--user-data-dir=" + t.TempDir()}, extraFlags...)
	cmd := exec.Command(bin, append(args, "about:blank")...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	exited := make(chan struct{})
	urlCh := make(chan string, 1)
	var log SyncBuffer
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stderr)
		sent, kept := false, 0
		for sc.Scan() {
			if m := devtoolsRE.FindStringSubmatch(sc.Text()); m != nil && !sent {
				urlCh <- m[1]
				sent = true
			} else if kept < 64<<10 {
				kept += len(sc.Bytes()) + 1
				_, _ = log.Write(append(sc.Bytes(), '\n'))
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		_ = cmd.Wait()
	}()
	c := &Chromium{closed: make(chan struct{}), waiting: map[int]chan cdpReply{}, pages: map[string]*Page{}}
	t.Cleanup(func() {
		if c.conn != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, _ = c.call(ctx, "", "Browser.close", nil)
			cancel()
			_ = c.conn.CloseNow()
			select {
			case <-exited: // stderr closed: the browser and its helpers are gone
				return
			case <-time.After(10 * time.Second):
			}
		}
		_ = cmd.Process.Kill()
		<-exited
	})
	var url string
	select {
	case url = <-urlCh:
	case <-exited:
		t.Fatalf("chromium exited before it was ready: %s", log.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("chromium did not print its DevTools URL within 30 s: %s", log.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("chromium: dial DevTools %s: %v", url, err)
	}
	conn.SetReadLimit(64 << 20)
	c.conn = conn
	go c.read()
	return c
}

// read dispatches replies and page events until the connection ends.
func (c *Chromium) read() {
	for {
		_, b, err := c.conn.Read(context.Background())
		if err != nil {
			c.mu.Lock()
			for id, ch := range c.waiting {
				ch <- cdpReply{err: fmt.Errorf("chromium: connection closed: %w", err)}
				delete(c.waiting, id)
			}
			close(c.closed)
			c.mu.Unlock()
			return
		}
		var m struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
			Method    string          `json:"method"`
			Params    json.RawMessage `json:"params"`
			SessionID string          `json:"sessionId"`
		}
		if json.Unmarshal(b, &m) != nil {
			continue
		}
		if m.ID != 0 {
			c.mu.Lock()
			ch := c.waiting[m.ID]
			delete(c.waiting, m.ID)
			c.mu.Unlock()
			if ch != nil {
				r := cdpReply{result: m.Result}
				if m.Error != nil {
					r.err = errors.New(m.Error.Message)
				}
				ch <- r
			}
			continue
		}
		c.mu.Lock()
		p := c.pages[m.SessionID]
		c.mu.Unlock()
		if p != nil {
			p.event(m.Method, m.Params)
		}
	}
}

// call sends one DevTools command (to a page session, or the browser when
// session is "") and waits for its result.
func (c *Chromium) call(ctx context.Context, session, method string, params any) (json.RawMessage, error) {
	if params == nil {
		params = map[string]any{}
	}
	c.mu.Lock()
	select {
	case <-c.closed:
		c.mu.Unlock()
		return nil, fmt.Errorf("chromium %s: connection closed", method)
	default:
	}
	c.nextID++
	id := c.nextID
	ch := make(chan cdpReply, 1)
	c.waiting[id] = ch
	c.mu.Unlock()
	msg := map[string]any{"id": id, "method": method, "params": params}
	if session != "" {
		msg["sessionId"] = session
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	if err := c.conn.Write(ctx, websocket.MessageText, b); err != nil {
		return nil, fmt.Errorf("chromium %s: %w", method, err)
	}
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("chromium %s: %w", method, r.err)
		}
		return r.result, nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.waiting, id)
		c.mu.Unlock()
		return nil, fmt.Errorf("chromium %s: %w", method, ctx.Err())
	}
}

// Page is one tab of a Chromium, with the console errors and exceptions
// it reported.
type Page struct {
	c       *Chromium
	session string
	mu      sync.Mutex
	errs    []string
}

// NewPage opens a tab on url in the browser's default context: the tabs
// NewPage opens share cookies and storage, as one visitor's tabs do.
func (c *Chromium) NewPage(ctx context.Context, url string) (*Page, error) {
	return c.newPage(ctx, url, "")
}

// NewIsolatedPage opens a tab on url in a browser context of its own: it
// shares no cookies or storage with any other tab, as another visitor's
// browser would.
func (c *Chromium) NewIsolatedPage(ctx context.Context, url string) (*Page, error) {
	res, err := c.call(ctx, "", "Target.createBrowserContext", nil)
	if err != nil {
		return nil, err
	}
	var bc struct{ BrowserContextID string }
	if err := json.Unmarshal(res, &bc); err != nil {
		return nil, err
	}
	return c.newPage(ctx, url, bc.BrowserContextID)
}

// newPage creates a blank tab in browser context browserContext ("": the
// default one), attaches to it, enables the events Errors collects, then
// navigates to url.
func (c *Chromium) newPage(ctx context.Context, url, browserContext string) (*Page, error) {
	params := map[string]any{"url": "about:blank"}
	if browserContext != "" {
		params["browserContextId"] = browserContext
	}
	res, err := c.call(ctx, "", "Target.createTarget", params)
	if err != nil {
		return nil, err
	}
	var target struct{ TargetID string }
	if err := json.Unmarshal(res, &target); err != nil {
		return nil, err
	}
	res, err = c.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true})
	if err != nil {
		return nil, err
	}
	var att struct{ SessionID string }
	if err := json.Unmarshal(res, &att); err != nil {
		return nil, err
	}
	p := &Page{c: c, session: att.SessionID}
	c.mu.Lock()
	c.pages[p.session] = p
	c.mu.Unlock()
	for _, m := range []string{"Runtime.enable", "Log.enable", "Page.enable"} {
		if _, err := c.call(ctx, p.session, m, nil); err != nil {
			return nil, err
		}
	}
	if _, err := c.call(ctx, p.session, "Page.navigate", map[string]any{"url": url}); err != nil {
		return nil, err
	}
	return p, nil
}

// event records console errors, exceptions and error log entries.
func (p *Page) event(method string, params json.RawMessage) {
	var e struct {
		Type string `json:"type"`
		Args []struct {
			Value       any    `json:"value"`
			Description string `json:"description"`
		} `json:"args"`
		ExceptionDetails struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
		Entry struct {
			Level string `json:"level"`
			Text  string `json:"text"`
			URL   string `json:"url"`
		} `json:"entry"`
	}
	_ = json.Unmarshal(params, &e)
	var msg string
	switch {
	case method == "Runtime.consoleAPICalled" && (e.Type == "error" || e.Type == "assert"):
		msg = fmt.Sprintf("console.%s %v", e.Type, e.Args)
	case method == "Runtime.exceptionThrown":
		msg = "exception: " + e.ExceptionDetails.Text + " " + e.ExceptionDetails.Exception.Description
	case method == "Log.entryAdded" && e.Entry.Level == "error":
		msg = "log: " + e.Entry.Text + " " + e.Entry.URL
	}
	if msg != "" {
		p.mu.Lock()
		if len(p.errs) < 100 {
			p.errs = append(p.errs, msg)
		}
		p.mu.Unlock()
	}
}

// Errors returns the console errors, exceptions and error log entries the
// page reported so far.
func (p *Page) Errors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.errs...)
}

// Evaluate runs a JavaScript expression in the page (awaiting it when it
// is a promise) and unmarshals its JSON-able value into out (nil: ignore).
func (p *Page) Evaluate(ctx context.Context, expr string, out any) error {
	res, err := p.c.call(ctx, p.session, "Runtime.evaluate", map[string]any{
		"expression": expr, "returnByValue": true, "awaitPromise": true,
	})
	if err != nil {
		return err
	}
	var ev struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(res, &ev); err != nil {
		return err
	}
	if ev.ExceptionDetails != nil {
		return fmt.Errorf("chromium: %s: %s %s", shorten(expr), ev.ExceptionDetails.Text, ev.ExceptionDetails.Exception.Description)
	}
	if out == nil || len(ev.Result.Value) == 0 {
		return nil
	}
	return json.Unmarshal(ev.Result.Value, out)
}

func shorten(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}
