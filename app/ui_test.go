package app

import (
	"errors"
	"image"
	"image/color"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
	"github.com/stretchr/testify/require"

	"golive/broadcast"
	"golive/chat"
	"golive/preview/scene"
	"golive/studio"
)

// fakeController is a Controller with a hand-driven state.
type fakeController struct {
	mu        sync.Mutex
	st        studio.Status
	goErr     error
	calls     []string
	dests     []studio.Destination
	chat      []chat.Message
	viewerURL string
	settings  studio.Settings
	chatSet   chat.RoomSettings
	mods      []chat.Moderator
	scene     scene.Scene
	choices   studio.SourceChoices
}

func newFake() *fakeController {
	return &fakeController{
		st:        studio.Status{Stats: broadcast.Stats{TargetFPS: 30}, AudioPeak: 0.25},
		settings:  studio.Settings{Source: "test", Audio: "test", Width: 1280, Height: 720, FPS: 30, Bitrate: 3_000_000, Encoder: "auto", ChatName: "Creator"},
		viewerURL: "http://192.0.2.7:8080/",
		dests: []studio.Destination{
			{ID: "bundled", Kind: "bundled", Name: "GoLive server", URL: "rtmp://127.0.0.1:1935/live", Key: "supersecretkey", Enabled: true},
			{ID: "yt", Kind: "youtube", Name: "YouTube", URL: "rtmp://a.rtmp.youtube.com/live2", Key: "abcd-efgh-ijkl"},
		},
		chat: []chat.Message{{ID: "m1", User: chat.User{ID: "u1", Name: "ann"}, Text: "hi!"},
			{ID: "m2", User: chat.User{ID: "c", Name: "Creator", Mod: true}, Text: "welcome"}},
		scene: scene.Scene{Layers: []scene.Layer{{ID: "chat", Type: scene.TypeChat, Corner: scene.BottomLeft, Hidden: true}}},
		choices: studio.SourceChoices{
			Video: []studio.SourceOption{{Spec: "test", Name: "Test pattern"}, {Spec: "camera:0", Name: "Camera: HD Webcam"},
				{Spec: "screen:0", Name: "Screen 1 (DP-1, 1920x1080)"}, {Spec: "window:Slides", Name: "Window: Slides"}, {Spec: studio.FileSpec, Name: "Media file…"}},
			Audio: []studio.SourceOption{{Spec: "test", Name: "Test tone (1 kHz)"}, {Spec: "mic:0", Name: "Microphone: USB Mic"}, {Spec: "none", Name: "No audio"}},
		},
	}
}

func (f *fakeController) SourceChoices() studio.SourceChoices {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.choices
}
func (f *fakeController) SetSource(spec string) error {
	f.call("source " + spec)
	if spec == "camera:9" {
		return errors.New("capture: no such camera")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.settings.Source = spec
	return nil
}
func (f *fakeController) SetAudio(spec string) error {
	f.call("audio " + spec)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.settings.Audio = spec
	return nil
}
func (f *fakeController) Scene() scene.Scene {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.scene.Clone()
}
func (f *fakeController) SetScene(sc scene.Scene) error {
	f.call("scene")
	if _, err := scene.Prepare(sc, 1280, 720, nil); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scene = sc.Clone()
	return nil
}
func (f *fakeController) ScenePlan() *scene.Plan {
	p, _ := scene.Prepare(f.Scene(), 1280, 720, nil)
	return p
}

func (f *fakeController) call(s string) { f.mu.Lock(); f.calls = append(f.calls, s); f.mu.Unlock() }
func (f *fakeController) called() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}
func (f *fakeController) set(fn func(*studio.Status)) { f.mu.Lock(); fn(&f.st); f.mu.Unlock() }
func (f *fakeController) Status() studio.Status       { f.mu.Lock(); defer f.mu.Unlock(); return f.st }
func (f *fakeController) GoLive() error {
	f.call("golive")
	if f.goErr != nil {
		return f.goErr
	}
	f.set(func(s *studio.Status) { s.State = broadcast.StateConnecting })
	return nil
}
func (f *fakeController) StopLive() {
	f.call("stop")
	f.set(func(s *studio.Status) { s.State = broadcast.StateOffline })
}
func (f *fakeController) ReconnectNow() bool { f.call("reconnect"); return true }
func (f *fakeController) Destinations() []studio.Destination {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]studio.Destination(nil), f.dests...)
}
func (f *fakeController) SaveDestination(d studio.Destination) error {
	f.call("save " + d.Kind + " " + d.Name + " " + d.URL + " " + d.Key)
	if d.Key == "" {
		return errors.New("no key")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	d.ID = "new"
	f.dests = append(f.dests, d)
	return nil
}
func (f *fakeController) RemoveDestination(id string) { f.call("remove " + id) }
func (f *fakeController) SetEnabled(id string, on bool) error {
	if on {
		f.call("enable " + id)
	} else {
		f.call("disable " + id)
	}
	return nil
}
func (f *fakeController) Presets() []studio.Preset {
	return []studio.Preset{
		{Kind: "youtube", Name: "YouTube", URL: "rtmp://a.rtmp.youtube.com/live2", Advice: "yt advice"},
		{Kind: "twitch", Name: "Twitch", URL: "rtmp://live.twitch.tv/app", Advice: "twitch advice"},
		{Kind: "custom", Name: "Custom RTMP(S)", URL: "rtmp://"},
		{Kind: studio.DestWHIP, Name: "WHIP (WebRTC)", URL: "https://"},
	}
}
func (f *fakeController) ViewerURL() string { return f.viewerURL }
func (f *fakeController) Chat() []chat.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]chat.Message(nil), f.chat...)
}
func (f *fakeController) SendChat(t string) error    { f.call("send " + t); return nil }
func (f *fakeController) DeleteChat(id string) error { f.call("delete " + id); return nil }
func (f *fakeController) BanChat(id string) error    { f.call("ban " + id); return nil }
func (f *fakeController) TimeoutChat(id string, d time.Duration) error {
	f.call("timeout " + id + " " + d.String())
	return nil
}
func (f *fakeController) ChatSettings() chat.RoomSettings {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.chatSet
}
func (f *fakeController) SetSlowMode(d time.Duration) error {
	f.call("slow " + d.String())
	f.mu.Lock()
	f.chatSet.SlowMode = d
	f.mu.Unlock()
	return nil
}
func (f *fakeController) SetBlockedWords(w []string) error {
	f.call("words " + strings.Join(w, ","))
	return nil
}
func (f *fakeController) InviteModerator(name string) (studio.ModeratorInvite, error) {
	f.call("invite " + name)
	f.mu.Lock()
	f.mods = append(f.mods, chat.Moderator{ID: "m1", Name: name})
	f.mu.Unlock()
	return studio.ModeratorInvite{ModeratorToken: chat.ModeratorToken{Moderator: chat.Moderator{ID: "m1", Name: name}, Token: "tok"},
		URL: f.viewerURL + "?token=tok"}, nil
}
func (f *fakeController) RevokeModerator(id string) error { f.call("revoke " + id); return nil }
func (f *fakeController) Moderators() ([]chat.Moderator, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]chat.Moderator(nil), f.mods...), nil
}
func (f *fakeController) SetOverlay(on bool) {
	f.call("overlay")
	f.set(func(s *studio.Status) { s.Overlay = on })
}

func (f *fakeController) Settings() studio.Settings {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.settings
}
func (f *fakeController) SetSettings(s studio.Settings) error {
	f.call("settings")
	if s.Width%2 != 0 {
		return errors.New("bad size")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.settings = s
	return nil
}

func newTestUI(t *testing.T, ctl Controller) *UI {
	t.Helper()
	a := test.NewTempApp(t)
	u := New(a, ctl)
	u.Window().Show()
	t.Cleanup(u.Stop)
	return u
}

func TestGoLiveButtonStates(t *testing.T) {
	f := newFake()
	u := newTestUI(t, f)
	require.Equal(t, "Go Live", u.goLive.Text)
	require.Equal(t, widget.HighImportance, u.goLive.Importance)

	test.Tap(u.goLive)
	require.Equal(t, []string{"golive"}, f.called())
	require.Equal(t, "Connecting", u.health.state.Text)
	require.True(t, strings.HasPrefix(u.goLive.Text, "Connecting"))
	require.Equal(t, widget.WarningImportance, u.goLive.Importance)

	f.set(func(s *studio.Status) {
		s.State, s.Encoder, s.FPS, s.Bitrate, s.Uptime = broadcast.StateLive, "libx264", 29.97, 3_100_000, 90*time.Second
		s.BitrateHistory = []int{3_000_000, 3_200_000, 2_900_000, 3_100_000}
		s.Destinations = []broadcast.DestinationStats{{URL: "rtmp://127.0.0.1:1935/live/****", State: "live", Bitrate: 3_050_000}}
	})
	u.Reload()
	require.Equal(t, "End stream", u.goLive.Text)
	require.Equal(t, widget.DangerImportance, u.goLive.Importance)
	require.Equal(t, "Live", u.health.state.Text)
	require.Equal(t, "30.0 / 30", u.health.fps.Text)
	require.Equal(t, "libx264 (software)", u.health.encoder.Text)
	require.Equal(t, "1m30s", u.health.uptime.Text)
	require.Contains(t, u.health.dests.Text, "rtmp://127.0.0.1:1935/live/**** — live, 3050 kbit/s")
	require.False(t, u.health.reconnect.Visible())
	require.Equal(t, widget.SuccessImportance, u.health.state.Importance)

	// Congested: still live (End stream), but the Health tab says the
	// link carries less than the encoder makes, and how far behind.
	f.set(func(s *studio.Status) {
		s.State, s.LinkBitrate, s.Queue = broadcast.StateCongested, 160_000, 2400*time.Millisecond
		s.Destinations[0].State, s.Destinations[0].LinkBitrate, s.Destinations[0].Queue = "congested", 160_000, 2400*time.Millisecond
	})
	u.refresh()
	require.Equal(t, "End stream", u.goLive.Text)
	require.Equal(t, "Congested: the link carries less than the encoder makes", u.health.state.Text)
	require.Equal(t, widget.WarningImportance, u.health.state.Importance)
	require.Equal(t, "160 kbit/s", u.health.link.Text)
	require.Equal(t, "2.4s", u.health.queue.Text)
	require.Contains(t, u.health.dests.Text, "— congested, 3050 kbit/s, server took 160 kbit/s, 2.4s behind")
	f.set(func(s *studio.Status) { s.Destinations[0].Behind = true })
	u.refresh()
	require.Contains(t, u.health.dests.Text, "left behind")

	// Reconnecting shows "Reconnect now".
	f.set(func(s *studio.Status) {
		s.State, s.CanReconnect, s.ReconnectIn, s.TargetBitrate = broadcast.StateReconnecting, true, 2600*time.Millisecond, 2_000_000
		s.Destinations[0].State, s.Destinations[0].Attempts, s.Destinations[0].Err = "reconnecting", 2, "connection refused"
		s.Destinations[0].Behind = false
	})
	u.refresh()
	require.Equal(t, "Reconnecting in 3 s", u.health.state.Text)
	require.Equal(t, "3100 kbit/s (target 2000 kbit/s)", u.health.bitrate.Text)
	require.Contains(t, u.health.dests.Text, "reconnecting, 3050 kbit/s, 2 failed attempts (connection refused)")
	require.True(t, u.health.reconnect.Visible())
	test.Tap(u.health.reconnect)
	require.Contains(t, f.called(), "reconnect")

	test.Tap(u.goLive)
	require.Equal(t, "stop", f.called()[len(f.called())-1])
	require.Equal(t, "Go Live", u.goLive.Text)
	require.Equal(t, "Offline", u.health.state.Text)
}

func TestGoLiveError(t *testing.T) {
	f := newFake()
	f.goErr = errors.New("studio: no destination ticked")
	u := newTestUI(t, f)
	test.Tap(u.goLive)
	require.Equal(t, "studio: no destination ticked", u.errLabel.Text)
	require.Equal(t, "Go Live", u.goLive.Text)
}

func TestHealthZeroStatus(t *testing.T) {
	h := newHealthPanel(newFake())
	h.update(studio.Status{})
	require.Equal(t, "Offline", h.state.Text)
	require.Equal(t, "offline", h.dests.Text)
}

func TestBitrateGraph(t *testing.T) {
	g := newBitrateGraph()
	w := test.NewTempWindow(t, g)
	w.Resize(g.MinSize().AddWidthHeight(100, 0))
	r := test.WidgetRenderer(g).(*graphRenderer)
	visible := func() int {
		n := 0
		for _, l := range r.lines {
			if l.Visible() {
				n++
			}
		}
		return n
	}
	require.Zero(t, visible())
	require.Equal(t, "no data (offline)", r.caption.Text)
	data := make([]int, 75)
	for i := range data {
		data[i] = 1000 * (i + 1)
	}
	g.SetData(data)
	require.Equal(t, graphPoints-1, visible(), "only the last minute is drawn")
	require.Equal(t, "peak 75 kbit/s, now 75 kbit/s", r.caption.Text)
	// Higher bitrate is drawn higher (smaller y), the newest on the right.
	last := r.lines[len(r.lines)-1]
	require.Less(t, last.Position2.Y, r.lines[0].Position1.Y)
	require.InDelta(t, float64(r.size.Width), float64(last.Position2.X), 1)
}

func TestDestinationsPanel(t *testing.T) {
	f := newFake()
	u := newTestUI(t, f)
	require.Len(t, u.dests.checks, 2)
	require.True(t, u.dests.checks["bundled"].Checked)
	u.dests.checks["yt"].SetChecked(true)
	require.Contains(t, f.called(), "enable yt")

	// Keys are never shown in the list.
	for _, o := range test.LaidOutObjects(u.dests.object) {
		if l, ok := o.(*widget.Label); ok {
			require.NotContains(t, l.Text, "supersecretkey")
			require.NotContains(t, l.Text, "abcd-efgh-ijkl")
		}
	}

	// The form: picking Twitch fills its ingest URL; the key is a password field.
	form := newDestForm(f.Presets(), studio.Destination{})
	require.Equal(t, "YouTube", form.preset.Selected)
	form.preset.SetSelected("Twitch")
	require.Equal(t, "rtmp://live.twitch.tv/app", form.url.Text)
	require.Equal(t, "Twitch", form.name.Text)
	require.True(t, form.key.Password)
	test.Type(form.key, "live_999_abc")
	require.NoError(t, f.SaveDestination(form.value()))
	require.Contains(t, f.called(), "save twitch Twitch rtmp://live.twitch.tv/app live_999_abc")
	require.True(t, form.value().Enabled, "a new destination starts ticked")

	// WHIP: the endpoint's URL and its bearer token.
	whip := newDestForm(f.Presets(), studio.Destination{})
	whip.preset.SetSelected("WHIP (WebRTC)")
	require.Equal(t, "https://", whip.url.Text)
	require.Equal(t, "bearer token (stream key)", whip.key.PlaceHolder)
	whip.url.SetText("http://192.168.1.20:8080/whip")
	test.Type(whip.key, "lan-key-42")
	require.Equal(t, "http://lan-key-42@192.168.1.20:8080/whip", whip.value().PublishURL())
	require.NoError(t, whip.value().Validate())

	// Editing keeps the ID and kind.
	edit := newDestForm(f.Presets(), f.Destinations()[1])
	require.Equal(t, "YouTube", edit.preset.Selected)
	require.Equal(t, "abcd-efgh-ijkl", edit.key.Text)
	require.Equal(t, "yt", edit.value().ID)

	u.Reload()
	require.Len(t, u.dests.checks, 3)
}

func TestChatPanel(t *testing.T) {
	f := newFake()
	u := newTestUI(t, f)
	require.Len(t, u.chat.msgs, 2)
	test.Type(u.chat.entry, "hello viewers")
	test.Tap(findButton(t, u.chat.object, "Send"))
	require.Contains(t, f.called(), "send hello viewers")
	require.Empty(t, u.chat.entry.Text)

	test.Tap(u.chat.overlay)
	require.Contains(t, f.called(), "overlay")
	require.True(t, f.Status().Overlay)
	u.refresh()
	require.True(t, u.chat.overlay.Checked)

	// The first row's delete button deletes that message.
	item := u.chat.list.CreateItem()
	u.chat.list.UpdateItem(0, item)
	row := item.(*fyne.Container)
	require.Equal(t, "ann: hi!", row.Objects[0].(*widget.Label).Text)
	btns := row.Objects[1].(*fyne.Container).Objects
	del, ban := btns[0].(*widget.Button), btns[1].(*widget.Button)
	require.True(t, ban.Visible(), "viewers can be banned")
	require.NotNil(t, del)
	test.Tap(del)
	require.Contains(t, f.called(), "delete m1")
	mute := btns[2].(*widget.Button)
	test.Tap(mute)
	require.Contains(t, f.called(), "timeout u1 10m0s")

	// The creator's own message: a badge, and nothing to ban or mute.
	u.chat.list.UpdateItem(1, item)
	require.Equal(t, "[mod] Creator: welcome", row.Objects[0].(*widget.Label).Text)
	require.False(t, btns[1].Visible())
	require.False(t, btns[2].Visible())
}

func TestChatPanelModeration(t *testing.T) {
	f := newFake()
	u := newTestUI(t, f)
	u.chat.slow.SetSelected("30 s")
	require.Contains(t, f.called(), "slow 30s")
	u.chat.showSlow(0)
	require.Equal(t, "Slow mode off", u.chat.slow.Selected)
	require.NotContains(t, f.called(), "slow 0s", "reflecting the hub's state does not call back")

	u.chat.saveWords(" darn \n\nheck*\n")
	require.Contains(t, f.called(), "words darn,heck*")

	link, ok := u.chat.invite("Alice")
	require.True(t, ok)
	require.Equal(t, "http://192.0.2.7:8080/?token=tok", link)
	mods, _ := f.Moderators()
	require.Len(t, mods, 1)
}

func findButton(t *testing.T, root fyne.CanvasObject, text string) *widget.Button {
	t.Helper()
	for _, o := range test.LaidOutObjects(root) {
		if b, ok := o.(*widget.Button); ok && b.Text == text {
			return b
		}
	}
	t.Fatalf("no button %q", text)
	return nil
}

func TestPreviewAndShare(t *testing.T) {
	f := newFake()
	u := newTestUI(t, f)
	require.Equal(t, "http://192.0.2.7:8080/", u.viewerURL.Text)
	require.True(t, u.qr.Visible())
	require.Equal(t, 240, u.qr.Image.Bounds().Dx())

	img := image.NewRGBA(image.Rect(0, 0, 64, 36))
	for y := range 36 {
		for x := range 64 {
			img.Set(x, y, color.RGBA{uint8(4 * x), uint8(7 * y), 128, 255})
		}
	}
	u.SetImage(img)
	require.Same(t, img, u.preview.Image)
	require.InDelta(t, 0.25, u.meter.Value, 1e-9)
	require.Contains(t, u.meter.TextFormatter(), "-12 dBFS")

	f.set(func(s *studio.Status) { s.AudioPeak = -1 })
	f.viewerURL = ""
	u.refresh()
	require.Equal(t, "audio level: not available", u.meter.TextFormatter())
	require.False(t, u.qr.Visible())
}

func TestSettingsPanel(t *testing.T) {
	f := newFake()
	p := newSettingsPanel(f)
	require.Equal(t, "1280x720", p.size.Text)
	require.Equal(t, "3000", p.bitrate.Text)
	p.size.SetText("854x480")
	p.bitrate.SetText("1500")
	p.save()
	require.Equal(t, "Saved.", p.status.Text)
	s := f.Settings()
	require.Equal(t, 854, s.Width)
	require.Equal(t, 480, s.Height)
	require.Equal(t, 1_500_000, s.Bitrate)
	require.Equal(t, 30, s.FPS)

	for _, bad := range []struct {
		field *widget.Entry
		text  string
	}{
		{&p.size.Entry, "big"}, {&p.fps.Entry, "-1"}, {p.bitrate, "fast"},
	} {
		old := bad.field.Text
		bad.field.SetText(bad.text)
		p.save()
		require.True(t, strings.HasPrefix(p.status.Text, "Not saved"), bad.text)
		bad.field.SetText(old)
	}
	p.size.SetText("853x480")
	p.save()
	require.Equal(t, "Not saved: bad size", p.status.Text)
}
