package studio

import (
	"errors"
	"fmt"

	"golive/media"
	"golive/preview/scene"
)

// eng returns the running engine (nil before Initialize, after Close, or
// while it is being replaced).
func (s *Studio) eng() Engine {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.engine
}

// sceneSource returns the running engine's scene, nil when it has none.
func (s *Studio) sceneSource() *scene.Source {
	if e, ok := s.eng().(interface{ Scene() *scene.Source }); ok {
		return e.Scene()
	}
	return nil
}

// startEngine makes and starts the pipeline from the settings and the
// scene. A camera, microphone, screen or image that is gone must not keep
// the app shut: it falls back to the test pattern and tone (keeping the
// scene's images and texts, then without the scene), and says so.
func (s *Studio) startEngine() error {
	cfg := s.config()
	e := s.NewEngine(cfg, s.onFrame, s.Logger.With("stage", "broadcast"))
	err := e.Initialize()
	if err != nil {
		s.log.Warn("capture failed; using the test pattern", "err", err)
		fallback := cfg
		fallback.Source, fallback.Audio = "test", "test"
		if cfg.Scene != nil {
			sc := cfg.Scene.Clone()
			kept := sc.Layers[:0]
			for _, l := range sc.Layers {
				if l.Type != scene.TypeCamera {
					kept = append(kept, l)
				}
			}
			sc.Layers = kept
			fallback.Scene = &sc
		}
		e = s.NewEngine(fallback, s.onFrame, s.Logger.With("stage", "broadcast"))
		err2 := e.Initialize()
		if err2 != nil && fallback.Scene != nil {
			fallback.Scene = nil
			e = s.NewEngine(fallback, s.onFrame, s.Logger.With("stage", "broadcast"))
			err2 = e.Initialize()
		}
		if err2 != nil {
			return fmt.Errorf("studio: %w", errors.Join(err, err2))
		}
		s.mu.Lock()
		s.lastErr = fmt.Sprintf("capture: %v (showing the test pattern)", err)
		s.mu.Unlock()
	}
	if t, ok := e.(interface {
		SetOnAudio(func(*media.AudioFrame))
	}); ok {
		t.SetOnAudio(s.onAudio)
	}
	s.mu.Lock()
	s.engine = e
	_, s.audioTap = e.(interface {
		SetOnAudio(func(*media.AudioFrame))
	})
	s.audioPeak = 0
	s.mu.Unlock()
	s.renderOverlay()
	return nil
}

// restartEngine replaces the pipeline with one made from the current
// settings; only while offline (ErrBusy otherwise).
func (s *Studio) restartEngine() error {
	s.mu.Lock()
	e := s.engine
	if s.connecting != nil || (e != nil && e.LiveDone() != nil) {
		s.mu.Unlock()
		return ErrBusy
	}
	s.engine = nil
	s.mu.Unlock()
	if e != nil {
		e.Close()
	}
	err := s.startEngine()
	s.changed()
	return err
}
