package studio

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strings"

	"golive/broadcast"
	"golive/media"
)

// The kinds of Destination.
const (
	// DestBundled is the server running inside the app.
	DestBundled = "bundled"
	// DestYouTube is YouTube Live's primary RTMP ingest.
	DestYouTube = "youtube"
	// DestTwitch is Twitch's RTMP ingest (auto-selected region).
	DestTwitch = "twitch"
	// DestCustom is any RTMP(S) server.
	DestCustom = "custom"
	// DestWHIP is any WHIP endpoint (WebRTC: OBS 30+'s "WHIP" service,
	// another GoLive's /whip): its URL, and the stream key sent as the
	// bearer token.
	DestWHIP = "whip"
)

// Preset is a well-known service's ingest.
type Preset struct {
	Kind, Name string
	// URL is the ingest URL without the stream key.
	URL string
	// Advice is the service's recommended settings, shown to the user.
	Advice string
}

// Presets returns the services the destinations list offers.
func (*Studio) Presets() []Preset {
	return []Preset{
		{Kind: DestYouTube, Name: "YouTube", URL: "rtmp://a.rtmp.youtube.com/live2",
			Advice: "720p30: 1,500-4,000 kbit/s video, 128 kbit/s AAC, keyframe every 2 s"},
		{Kind: DestTwitch, Name: "Twitch", URL: "rtmp://live.twitch.tv/app",
			Advice: "720p30: up to 4,500 kbit/s (3,000 kbit/s recommended), 160 kbit/s AAC, keyframe every 2 s"},
		{Kind: DestCustom, Name: "Custom RTMP(S)", URL: "rtmp://",
			Advice: "any rtmp:// or rtmps:// server: URL of the application plus the stream key"},
		{Kind: DestWHIP, Name: "WHIP (WebRTC)", URL: "https://",
			Advice: "any WHIP endpoint, such as another GoLive's http://HOST:8080/whip: the endpoint's URL plus its " +
				"bearer token (the stream key; empty when the URL carries it). Sub-second; sends H.264 and Opus"},
	}
}

// Destination is one entry of the destinations list. The stream key is
// kept apart from the URL so the list can show the URL and a masked key.
type Destination struct {
	// ID identifies the entry in the list.
	ID string `json:"id"`
	// Kind is DestBundled, DestYouTube, DestTwitch or DestCustom.
	Kind string `json:"kind"`
	// Name is what the list shows.
	Name string `json:"name"`
	// URL is the server and application, e.g. rtmp://live.twitch.tv/app,
	// or a WHIP endpoint, e.g. https://example.com/whip.
	URL string `json:"url"`
	// Key is the stream key (secret: never logged, shown masked); for WHIP
	// the bearer token.
	Key string `json:"key,omitempty"`
	// Enabled entries are streamed to when going live; several at once
	// is multistreaming.
	Enabled bool `json:"enabled"`
}

// PublishURL returns the full publish URL: URL/Key for RTMP, and for WHIP
// the endpoint with the key as its user part (scheme://KEY@host/path),
// which is how broadcast.Config carries a WHIP bearer token.
func (d Destination) PublishURL() string {
	if d.Kind == DestWHIP {
		u, err := url.Parse(strings.TrimSpace(d.URL))
		if err != nil {
			return d.URL
		}
		u.User = nil
		if d.Key != "" {
			u.User = url.User(d.Key)
		}
		return u.String()
	}
	return strings.TrimRight(d.URL, "/") + "/" + d.Key
}

// Where returns what the list shows of the entry: the URL with the key
// masked.
func (d Destination) Where() string {
	if d.Kind == DestWHIP {
		return d.URL + " (token " + d.MaskedKey() + ")"
	}
	return d.URL + "/" + d.MaskedKey()
}

// Masked returns the publish URL with the key hidden.
func (d Destination) Masked() string { return broadcast.MaskURL(d.PublishURL()) }

// MaskedKey returns the key as the list shows it: "****" with the last
// two characters when it is long enough, "(none)" when empty.
func (d Destination) MaskedKey() string {
	switch {
	case d.Key == "":
		return "(none)"
	case len(d.Key) < 8:
		return "****"
	}
	return "****" + d.Key[len(d.Key)-2:]
}

// Validate checks the entry can be published to.
func (d Destination) Validate() error {
	if d.Kind == DestWHIP {
		return d.validateWHIP()
	}
	if strings.TrimSpace(d.Key) == "" {
		return fmt.Errorf("%w: destination %q has no stream key", media.ErrBadOption, d.Name)
	}
	if strings.ContainsAny(d.Key, "/?# \t") {
		return fmt.Errorf("%w: destination %q: stream key must not contain '/', '?', '#' or spaces", media.ErrBadOption, d.Name)
	}
	t, err := broadcast.ParseDestination(d.PublishURL())
	if err != nil {
		return err
	}
	if t.IsWHIP() {
		return fmt.Errorf("%w: destination %q: an http(s) URL is a WHIP endpoint: choose the WHIP service", media.ErrBadOption, d.Name)
	}
	return nil
}

// validateWHIP checks a WHIP entry: an http(s) URL and a token without
// line breaks (it goes into a header).
func (d Destination) validateWHIP() error {
	if strings.ContainsAny(d.Key, "\r\n") {
		return fmt.Errorf("%w: destination %q: the token must be one line", media.ErrBadOption, d.Name)
	}
	t, err := broadcast.ParseDestination(d.PublishURL())
	if err != nil {
		return err
	}
	if !t.IsWHIP() {
		return fmt.Errorf("%w: destination %q: a WHIP endpoint is an http:// or https:// URL", media.ErrBadOption, d.Name)
	}
	return nil
}

// decodeDestinations parses the stored list; a damaged store yields none.
func decodeDestinations(s string) []Destination {
	var ds []Destination
	if s == "" || json.Unmarshal([]byte(s), &ds) != nil {
		return nil
	}
	out := ds[:0]
	for _, d := range ds {
		if d.ID != "" && d.Kind != DestBundled {
			out = append(out, d)
		}
	}
	return out
}

// bundled returns the bundled server's destination entry, or false when
// the studio runs without one.
func (s *Studio) bundled() (Destination, bool) {
	if s.server == nil {
		return Destination{}, false
	}
	_, port, _ := net.SplitHostPort(s.server.RTMPAddress().String())
	s.mu.Lock()
	defer s.mu.Unlock()
	return Destination{ID: DestBundled, Kind: DestBundled, Name: "GoLive server (this computer)",
		URL: "rtmp://127.0.0.1:" + port + "/live", Key: s.key, Enabled: s.bundledOn}, true
}

// Destinations returns the list: the bundled server first, then the
// user's entries.
func (s *Studio) Destinations() []Destination {
	var out []Destination
	if b, ok := s.bundled(); ok {
		out = append(out, b)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return append(out, s.dests...)
}

// SaveDestination adds d (empty ID) or replaces the entry with its ID.
// The bundled entry only takes Enabled.
func (s *Studio) SaveDestination(d Destination) error {
	if d.ID == DestBundled {
		return s.SetEnabled(DestBundled, d.Enabled)
	}
	if d.Kind == "" {
		d.Kind = DestCustom
	}
	if d.Name == "" {
		d.Name = d.Kind
	}
	if err := d.Validate(); err != nil {
		return err
	}
	isNew := d.ID == ""
	if isNew {
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		d.ID = hex.EncodeToString(b)
	}
	if err := s.keepKey(d); err != nil {
		return err
	}
	s.mu.Lock()
	if isNew {
		s.dests = append(s.dests, d)
	} else {
		found := false
		for i := range s.dests {
			if s.dests[i].ID == d.ID {
				s.dests[i], found = d, true
			}
		}
		if !found {
			s.mu.Unlock()
			s.forgetKey(d.ID)
			return fmt.Errorf("%w: no destination %q", media.ErrBadOption, d.ID)
		}
	}
	s.persistLocked()
	s.mu.Unlock()
	s.log.Info("destination saved", "name", d.Name, "url", d.Masked())
	s.changed()
	return nil
}

// RemoveDestination deletes a user entry (and its key).
func (s *Studio) RemoveDestination(id string) {
	s.mu.Lock()
	for i := range s.dests {
		if s.dests[i].ID == id {
			s.dests = append(s.dests[:i], s.dests[i+1:]...)
			break
		}
	}
	s.persistLocked()
	s.mu.Unlock()
	s.forgetKey(id)
	s.changed()
}

// SetEnabled ticks or unticks an entry.
func (s *Studio) SetEnabled(id string, on bool) error {
	s.mu.Lock()
	found := false
	if id == DestBundled {
		s.bundledOn, found = on, true
		s.set(storeBundledOn, fmt.Sprint(on))
	}
	for i := range s.dests {
		if s.dests[i].ID == id {
			s.dests[i].Enabled, found = on, true
		}
	}
	s.persistLocked()
	s.mu.Unlock()
	if !found {
		return fmt.Errorf("%w: no destination %q", media.ErrBadOption, id)
	}
	s.changed()
	return nil
}

// persistLocked stores the list; with a keychain, without the keys.
func (s *Studio) persistLocked() {
	ds := s.dests
	if s.secrets != nil {
		ds = make([]Destination, len(s.dests))
		for i, d := range s.dests {
			d.Key = ""
			ds[i] = d
		}
	}
	data, _ := json.Marshal(ds)
	s.set(storeDestinations, string(data))
}

// publishURLs returns the ticked destinations' publish URLs.
func (s *Studio) publishURLs() []string {
	var urls []string
	for _, d := range s.Destinations() {
		if d.Enabled && d.Validate() == nil {
			urls = append(urls, d.PublishURL())
		}
	}
	return urls
}
