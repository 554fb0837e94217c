package broadcast

import (
	"encoding/json"
	"fmt"
	"strings"
)

// The kinds of StudioDestination.
const (
	// DestBundled is the server running inside the app.
	DestBundled = "bundled"
	// DestYouTube is YouTube Live's primary RTMP ingest.
	DestYouTube = "youtube"
	// DestTwitch is Twitch's RTMP ingest (auto-selected region).
	DestTwitch = "twitch"
	// DestCustom is any RTMP(S) server.
	DestCustom = "custom"
)

// StudioPreset is a well-known service's ingest.
type StudioPreset struct {
	Kind, Name string
	// URL is the ingest URL without the stream key.
	URL string
	// Advice is the service's recommended settings, shown to the user.
	Advice string
}

// StudioPresets returns the services the destinations list offers.
func StudioPresets() []StudioPreset {
	return []StudioPreset{
		{Kind: DestYouTube, Name: "YouTube", URL: "rtmp://a.rtmp.youtube.com/live2",
			Advice: "720p30: 1,500-4,000 kbit/s video, 128 kbit/s AAC, keyframe every 2 s"},
		{Kind: DestTwitch, Name: "Twitch", URL: "rtmp://live.twitch.tv/app",
			Advice: "720p30: up to 4,500 kbit/s (3,000 kbit/s recommended), 160 kbit/s AAC, keyframe every 2 s"},
		{Kind: DestCustom, Name: "Custom RTMP(S)", URL: "rtmp://",
			Advice: "any rtmp:// or rtmps:// server: URL of the application plus the stream key"},
	}
}

// StudioDestination is one entry of the destinations list. The stream key
// is kept apart from the URL so the list can show the URL and a masked key.
type StudioDestination struct {
	// ID identifies the entry in the list.
	ID string `json:"id"`
	// Kind is DestBundled, DestYouTube, DestTwitch or DestCustom.
	Kind string `json:"kind"`
	// Name is what the list shows.
	Name string `json:"name"`
	// URL is the server and application, e.g. rtmp://live.twitch.tv/app.
	URL string `json:"url"`
	// Key is the stream key (secret: never logged, shown masked).
	Key string `json:"key,omitempty"`
	// Enabled entries are streamed to when going live; several at once
	// is multistreaming.
	Enabled bool `json:"enabled"`
}

// PublishURL returns the full RTMP publish URL: URL/Key.
func (d StudioDestination) PublishURL() string {
	return strings.TrimRight(d.URL, "/") + "/" + d.Key
}

// Masked returns the publish URL with the key hidden.
func (d StudioDestination) Masked() string { return MaskURL(d.PublishURL()) }

// MaskedKey returns the key as the list shows it: "****" with the last
// two characters when it is long enough, "(none)" when empty.
func (d StudioDestination) MaskedKey() string {
	switch {
	case d.Key == "":
		return "(none)"
	case len(d.Key) < 8:
		return "****"
	}
	return "****" + d.Key[len(d.Key)-2:]
}

// Validate checks the entry can be published to.
func (d StudioDestination) Validate() error {
	if strings.TrimSpace(d.Key) == "" {
		return fmt.Errorf("%w: destination %q has no stream key", ErrBadOption, d.Name)
	}
	if strings.ContainsAny(d.Key, "/?# \t") {
		return fmt.Errorf("%w: destination %q: stream key must not contain '/', '?', '#' or spaces", ErrBadOption, d.Name)
	}
	if _, err := ParseDestination(d.PublishURL()); err != nil {
		return err
	}
	return nil
}

// decodeDestinations parses the stored list; a damaged store yields none.
func decodeDestinations(s string) []StudioDestination {
	var ds []StudioDestination
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
