package studio

import (
	"fmt"

	"golive/capture"
	"golive/media"
)

// SourceOption is one entry of a source picker.
type SourceOption struct {
	// Spec is what the pipeline opens ("camera:0", "screen:1",
	// "window:Slides", "mic:2", "test"...); for FileSpec the app asks for a
	// file and makes "file:PATH".
	Spec string
	// Name is what the picker shows ("Screen 1 (DP-1, 1920x1080)").
	Name string
}

// FileSpec is the Spec of the "Media file…" entry: the app asks for a
// file and passes "file:PATH" to SetSource.
const FileSpec = "file:"

// SourceChoices are what the pickers offer, listed from the capture layer
// and refreshed when a device comes or goes.
type SourceChoices struct {
	// Video lists the test pattern, cameras, screens, windows and the
	// media file entry; Audio the tone, microphones and no audio.
	Video, Audio []SourceOption
}

// choices builds the pickers' entries from a device listing.
func choices(d capture.Devices) SourceChoices {
	c := SourceChoices{Video: []SourceOption{{Spec: "test", Name: "Test pattern"}}}
	for _, cam := range d.Cameras {
		name := cam.Name
		if name == "" {
			name = cam.Label
		}
		c.Video = append(c.Video, SourceOption{Spec: fmt.Sprintf("camera:%d", cam.Index), Name: "Camera: " + name})
	}
	for _, s := range d.Screens {
		c.Video = append(c.Video, SourceOption{Spec: fmt.Sprintf("screen:%d", s.Index), Name: s.String()})
	}
	for _, w := range d.Windows {
		if sp, err := capture.Parse("window:" + w.Title); err == nil && sp.Name == w.Title {
			c.Video = append(c.Video, SourceOption{Spec: sp.String(), Name: "Window: " + w.Title})
		}
	}
	c.Video = append(c.Video, SourceOption{Spec: FileSpec, Name: "Media file…"})
	c.Audio = []SourceOption{{Spec: "test", Name: "Test tone (1 kHz)"}}
	for _, m := range d.Microphones {
		name := "Microphone: " + m.Name
		if m.Default {
			name += " (default)"
		}
		c.Audio = append(c.Audio, SourceOption{Spec: fmt.Sprintf("mic:%d", m.Index), Name: name})
	}
	c.Audio = append(c.Audio, SourceOption{Spec: "none", Name: "No audio"})
	return c
}

// startWatcher starts listing the devices for the pickers.
func (s *Studio) startWatcher() {
	w := s.Watcher
	if w == nil {
		w = &capture.Watcher{}
	}
	if w.Logger == nil {
		w.Logger = s.Logger
	}
	w.OnChange = func(d capture.Devices) {
		s.mu.Lock()
		s.devices = d
		s.mu.Unlock()
		s.changed()
	}
	if err := w.Initialize(); err != nil {
		s.log.Warn("device watcher not started", "err", err)
		return
	}
	s.watcher = w
}

// SourceChoices returns what the source pickers offer now.
func (s *Studio) SourceChoices() SourceChoices {
	s.mu.Lock()
	defer s.mu.Unlock()
	return choices(s.devices)
}

// SetSource switches the main video source to spec (a SourceOption's
// Spec, or "file:PATH"): at once, live or not, when the pipeline composes
// a scene; else by restarting it while offline. The choice is kept. A
// source that cannot be opened changes nothing and says why.
func (s *Studio) SetSource(spec string) error {
	sp, err := capture.Parse(spec)
	if err != nil {
		return fmt.Errorf("%w: %w", media.ErrBadOption, err)
	}
	if sp.Kind == capture.KindMic || sp.Kind == capture.KindNone {
		return fmt.Errorf("%w: %q is not a video source", media.ErrBadOption, spec)
	}
	st := s.Settings()
	old := st.Source
	st.Source = spec
	if err := validateSettings(st); err != nil {
		return err
	}
	if src := s.sceneSource(); src != nil {
		live := s.Scene()
		live.Source = spec
		if err := src.SetScene(live); err != nil {
			return err
		}
		return s.SetSettings(st)
	}
	if err := s.SetSettings(st); err != nil {
		return err
	}
	if err := s.restartEngine(); err != nil {
		st.Source = old
		_ = s.SetSettings(st)
		if rerr := s.restartEngine(); rerr != nil {
			s.log.Warn("pipeline not restarted", "err", rerr)
		}
		return err
	}
	return nil
}

// SetAudio switches the audio source to spec ("test", "mic:N", "none")
// by restarting the pipeline, so the level meter follows the new one; it
// is refused with ErrBusy while connecting or live. The choice is kept.
func (s *Studio) SetAudio(spec string) error {
	sp, err := capture.Parse(spec)
	if err != nil {
		return fmt.Errorf("%w: %w", media.ErrBadOption, err)
	}
	if sp.Kind != capture.KindTest && sp.Kind != capture.KindMic && sp.Kind != capture.KindNone {
		return fmt.Errorf("%w: %q is not an audio source", media.ErrBadOption, spec)
	}
	st := s.Settings()
	if st.Audio == spec {
		return nil
	}
	s.mu.Lock()
	busy := s.connecting != nil || (s.engine != nil && s.engine.LiveDone() != nil)
	s.mu.Unlock()
	if busy {
		return fmt.Errorf("%w: end the stream to change the audio source", ErrBusy)
	}
	st.Audio = spec
	if err := s.SetSettings(st); err != nil {
		return err
	}
	return s.restartEngine()
}
