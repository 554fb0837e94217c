package scene

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golive/capture"
	"golive/media"
	"golive/preview"
)

// ErrClosed is returned by Source.SetScene after Close.
var ErrClosed = errors.New("scene: source closed")

// Source is a capture.VideoSource that composes a scene: it opens the main
// source and every camera layer's source, and hands out the main source's
// frames with the scene's layers drawn on them (in place, in YUV420P, once
// per frame). SetScene changes the scene while it runs — layers, their
// places and visibility, the main source itself — without a gap: new
// sources are opened before the switch and old ones closed after it.
//
// The main source decides the frame rate and timestamps; camera layers
// show the latest picture their source delivered, scaled to the layer.
// A source that loses its device shows its own "LOST" slate and comes back
// by itself (see capture.Camera).
type Source struct {
	// Scene is the scene at Initialize (see SetScene for changes).
	Scene Scene
	// Main is the main source's spec when the scene names none; default
	// "test".
	Main string
	// Options are handed to every source opened: Width and Height are the
	// composed picture's size (the main source's), FPS the rate of every
	// source, Clock the shared capture clock.
	Options capture.Options
	// Open initializes the source a spec names at w×h; default:
	// capture.Parse, Spec.Video with Options at that size, Initialize.
	Open func(spec string, w, h int) (capture.VideoSource, error)
	// Buffer is the capacity of the Frames channel; default 2.
	Buffer int
	// Images keeps scaled images between scene changes; nil: its own.
	Images *Images
	// Logger receives the source's log; default slog.Default().
	Logger *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	in     chan tagged
	ctl    chan update
	out    chan *media.VideoFrame
	chat   preview.Overlay
	plan   atomic.Pointer[Plan]
	closed atomic.Bool

	setMu  sync.Mutex // serializes SetScene and Close; guards what follows
	scene  Scene
	main   *input
	inputs map[string]*input // camera layers' sources by spec

	mainStats          atomic.Pointer[input]
	sent, dropped, bad atomic.Uint64
	lastPTS            atomic.Int64
}

// input is one opened source and the goroutine forwarding its frames.
type input struct {
	spec string
	src  capture.VideoSource
	done chan struct{} // closed when its forwarder has returned
}

// tagged is a frame and the input it came from.
type tagged struct {
	in *input
	f  *media.VideoFrame
}

// update hands the owner goroutine a new plan and its inputs.
type update struct {
	plan   *Plan
	main   *input
	inputs map[string]*input
	ack    chan struct{}
}

// Initialize opens the main source and the camera layers' sources, prepares
// the scene and starts composing. An image that cannot be read or a layer
// off the picture fails it with ErrBadScene, a source that cannot be opened
// with the source's error; nothing stays open then.
func (s *Source) Initialize() error {
	if s.Options.Width == 0 && s.Options.Height == 0 {
		s.Options.Width, s.Options.Height = 1280, 720
	}
	if s.Options.FPS == 0 {
		s.Options.FPS = 30
	}
	if s.Options.Clock == nil {
		s.Options.Clock = capture.NewClock()
	}
	if s.Main == "" {
		s.Main = "test"
	}
	if s.Buffer <= 0 {
		s.Buffer = 2
	}
	if s.Images == nil {
		s.Images = &Images{}
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	s.Logger = s.Logger.With("stage", "scene")
	if s.Options.Logger == nil {
		s.Options.Logger = s.Logger
	}
	if s.Open == nil {
		s.Open = s.openSpec
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.in = make(chan tagged)
	s.ctl = make(chan update)
	s.out = make(chan *media.VideoFrame, s.Buffer)
	s.inputs = map[string]*input{}
	s.setMu.Lock()
	defer s.setMu.Unlock()
	u, stale, err := s.prepare(s.Scene)
	if err != nil {
		s.cancel()
		s.wg.Wait()
		return err
	}
	s.closeInputs(stale)
	s.plan.Store(u.plan)
	s.wg.Add(1)
	go s.run(u)
	return nil
}

// openSpec is the default Open.
func (s *Source) openSpec(spec string, w, h int) (capture.VideoSource, error) {
	sp, err := capture.Parse(spec)
	if err != nil {
		return nil, err
	}
	o := s.Options
	o.Width, o.Height = w, h
	v, err := sp.Video(o)
	if err != nil {
		return nil, err
	}
	if err := v.Initialize(); err != nil {
		return nil, err
	}
	return v, nil
}

// prepare makes sc's plan and opens the sources it needs that are not open
// yet; on success it records sc and its inputs and returns the update and
// the inputs no longer needed (to close once the owner let go of them).
// setMu is held.
func (s *Source) prepare(sc Scene) (update, []*input, error) {
	sc = sc.Clone()
	w, h := s.Options.Width, s.Options.Height
	plan, err := Prepare(sc, w, h, s.Images)
	if err != nil {
		return update{}, nil, err
	}
	mainSpec := sc.Source
	if mainSpec == "" {
		mainSpec = s.Main
	}
	var opened []*input
	fail := func(err error) (update, []*input, error) {
		s.closeInputs(opened)
		return update{}, nil, err
	}
	mainIn := s.main
	if mainIn == nil || mainIn.spec != mainSpec {
		src, err := s.Open(mainSpec, w, h)
		if err != nil {
			return fail(fmt.Errorf("scene: main source %q: %w", mainSpec, err))
		}
		mainIn = s.startInput(mainSpec, src)
		opened = append(opened, mainIn)
	}
	inputs := map[string]*input{}
	for i, l := range plan.Layers {
		if l.Type != TypeCamera {
			continue
		}
		if l.Source == mainSpec {
			return fail(fmt.Errorf("%w: layer %d (camera): source %q is the main source already", ErrBadScene, i+1, l.Source))
		}
		if inputs[l.Source] != nil {
			continue
		}
		if in := s.inputs[l.Source]; in != nil {
			inputs[l.Source] = in
			continue
		}
		src, err := s.Open(l.Source, l.Inner.Dx(), l.Inner.Dy())
		if err != nil {
			return fail(fmt.Errorf("scene: layer %d (camera): source %q: %w", i+1, l.Source, err))
		}
		in := s.startInput(l.Source, src)
		opened = append(opened, in)
		inputs[l.Source] = in
	}
	var stale []*input
	if s.main != nil && s.main != mainIn {
		stale = append(stale, s.main)
	}
	for spec, in := range s.inputs {
		if inputs[spec] != in {
			stale = append(stale, in)
		}
	}
	s.scene, s.main, s.inputs = sc, mainIn, inputs
	s.mainStats.Store(mainIn)
	return update{plan: plan, main: mainIn, inputs: inputs}, stale, nil
}

// startInput starts forwarding src's frames to the owner goroutine.
func (s *Source) startInput(spec string, src capture.VideoSource) *input {
	in := &input{spec: spec, src: src, done: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(in.done)
		for f := range src.Frames() {
			select {
			case s.in <- tagged{in, f}:
			case <-s.ctx.Done():
				return
			}
		}
	}()
	return in
}

// closeInputs closes sources (each Close waits for the source's goroutines;
// the forwarder then sees its channel closed).
func (s *Source) closeInputs(ins []*input) {
	for _, in := range ins {
		in.src.Close()
	}
}

// SetScene switches to sc: it prepares the plan and opens new sources
// first (so a bad scene changes nothing and returns why), then hands them
// to the composing goroutine and closes the sources no longer used.
func (s *Source) SetScene(sc Scene) error {
	s.setMu.Lock()
	defer s.setMu.Unlock()
	if s.closed.Load() || s.ctx == nil {
		return ErrClosed
	}
	u, stale, err := s.prepare(sc)
	if err != nil {
		return err
	}
	u.ack = make(chan struct{})
	select {
	case s.ctl <- u:
		<-u.ack
	case <-s.ctx.Done():
		s.closeInputs(stale) // Close closes the new ones
		return ErrClosed
	}
	s.plan.Store(u.plan)
	s.closeInputs(stale)
	return nil
}

// CurrentScene returns the scene being composed.
func (s *Source) CurrentScene() Scene {
	s.setMu.Lock()
	defer s.setMu.Unlock()
	return s.scene.Clone()
}

// Plan returns the plan being drawn (where each layer is), nil before
// Initialize.
func (s *Source) Plan() *Plan { return s.plan.Load() }

// Chat returns the overlay a chat layer draws; the app sets the chat's
// picture on it (see preview.ChatLayer and Place).
func (s *Source) Chat() *preview.Overlay { return &s.chat }

// Frames returns the channel of composed frames; it is closed after Close.
func (s *Source) Frames() <-chan *media.VideoFrame { return s.out }

// Close stops composing and closes every source; it is idempotent.
func (s *Source) Close() {
	if s.cancel == nil || s.closed.Swap(true) {
		return
	}
	s.cancel()
	s.setMu.Lock()
	ins := []*input{}
	if s.main != nil {
		ins = append(ins, s.main)
	}
	for _, in := range s.inputs {
		ins = append(ins, in)
	}
	s.closeInputs(ins)
	s.setMu.Unlock()
	s.wg.Wait()
}

// Stats returns the main source's state, device, losses and slates with the
// composed frames' own counts: Sent and Dropped are frames handed out or
// not taken; Bad counts main frames whose timestamp did not move forward
// (after a switch of the main source) and Skipped the main source's own.
func (s *Source) Stats() capture.SourceStats {
	var st capture.SourceStats
	if in := s.mainStats.Load(); in != nil {
		st = in.src.Stats()
	}
	st.Sent, st.Dropped = s.sent.Load(), s.dropped.Load()
	st.Bad += s.bad.Load()
	st.LastPTS = time.Duration(s.lastPTS.Load())
	if s.closed.Load() {
		st.State = capture.StateClosed
	}
	return st
}

// run is the owner goroutine: it keeps each camera layer's latest picture,
// draws the plan on every main frame and hands the frame out.
func (s *Source) run(u update) {
	defer s.wg.Done()
	defer close(s.out)
	type scaling struct {
		sc             *capture.Scaler
		sw, sh, dw, dh int
		buf            *media.VideoFrame
	}
	var (
		plan    = u.plan
		main    = u.main
		inputs  = u.inputs
		latest  = map[*input]*media.VideoFrame{} // raw picture per camera input
		pics    = map[string]*media.VideoFrame{} // scaled picture per camera layer
		scalers = map[string]*scaling{}          // per camera layer
		lastPTS = time.Duration(-1)
	)
	// scale refreshes camera layer pl's picture from its input's latest.
	scale := func(pl *Placed) {
		src := latest[inputs[pl.Source]]
		w, h := pl.Inner.Dx(), pl.Inner.Dy()
		switch {
		case src == nil:
			delete(pics, pl.ID)
		case src.Width == w && src.Height == h:
			pics[pl.ID] = src
		default:
			sc := scalers[pl.ID]
			if sc == nil || sc.sw != src.Width || sc.sh != src.Height || sc.dw != w || sc.dh != h {
				sc = &scaling{capture.NewScaler(src.Width, src.Height, w, h), src.Width, src.Height, w, h, media.NewVideoFrame(w, h)}
				scalers[pl.ID] = sc
			}
			sc.sc.Scale(sc.buf, src)
			pics[pl.ID] = sc.buf
		}
	}
	rescaleAll := func() {
		clear(pics)
		for i := range plan.Layers {
			if plan.Layers[i].Type == TypeCamera {
				scale(&plan.Layers[i])
			}
		}
	}
	for {
		select {
		case <-s.ctx.Done():
			return
		case u := <-s.ctl:
			plan, main, inputs = u.plan, u.main, u.inputs
			for in := range latest {
				if inputs[in.spec] != in {
					delete(latest, in)
				}
			}
			rescaleAll()
			close(u.ack)
		case t := <-s.in:
			if t.in == main {
				f := t.f
				if f.PTS <= lastPTS || f.Width != plan.Width || f.Height != plan.Height {
					s.bad.Add(1)
					continue
				}
				lastPTS = f.PTS
				plan.Draw(f, pics, &s.chat)
				s.lastPTS.Store(int64(f.PTS))
				s.sent.Add(1) // before the send, so a receiver sees it counted
				select {
				case s.out <- f:
				case <-s.ctx.Done():
					return
				default:
					s.sent.Add(^uint64(0))
					s.dropped.Add(1)
				}
				continue
			}
			if inputs[t.in.spec] != t.in {
				continue // a source being closed
			}
			latest[t.in] = t.f
			for i := range plan.Layers {
				if pl := &plan.Layers[i]; pl.Type == TypeCamera && pl.Source == t.in.spec {
					scale(pl)
				}
			}
		}
	}
}
