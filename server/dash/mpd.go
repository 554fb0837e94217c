package dash

import (
	"encoding/xml"
	"strconv"
	"time"
)

// The MPD's XML, as much of ISO/IEC 23009-1 as GoLive writes.
type mpd struct {
	XMLName                    xml.Name     `xml:"urn:mpeg:dash:schema:mpd:2011 MPD"`
	Profiles                   string       `xml:"profiles,attr"`
	Type                       string       `xml:"type,attr"`
	AvailabilityStartTime      string       `xml:"availabilityStartTime,attr,omitempty"`
	PublishTime                string       `xml:"publishTime,attr,omitempty"`
	MinimumUpdatePeriod        string       `xml:"minimumUpdatePeriod,attr,omitempty"`
	TimeShiftBufferDepth       string       `xml:"timeShiftBufferDepth,attr,omitempty"`
	SuggestedPresentationDelay string       `xml:"suggestedPresentationDelay,attr,omitempty"`
	MediaPresentationDuration  string       `xml:"mediaPresentationDuration,attr,omitempty"`
	MaxSegmentDuration         string       `xml:"maxSegmentDuration,attr,omitempty"`
	MinBufferTime              string       `xml:"minBufferTime,attr"`
	ServiceDescription         *serviceDesc `xml:"ServiceDescription,omitempty"`
	Period                     period       `xml:"Period"`
	UTCTiming                  *utcTiming   `xml:"UTCTiming,omitempty"`
}

type serviceDesc struct {
	ID      string  `xml:"id,attr"`
	Latency latency `xml:"Latency"`
}

type latency struct {
	Target int `xml:"target,attr"`
	Min    int `xml:"min,attr"`
	Max    int `xml:"max,attr"`
}

type utcTiming struct {
	SchemeIDURI string `xml:"schemeIdUri,attr"`
	Value       string `xml:"value,attr"`
}

type period struct {
	ID             string          `xml:"id,attr"`
	Start          string          `xml:"start,attr"`
	AdaptationSets []adaptationSet `xml:"AdaptationSet"`
}

type adaptationSet struct {
	ID               int              `xml:"id,attr"`
	ContentType      string           `xml:"contentType,attr"`
	MimeType         string           `xml:"mimeType,attr"`
	SegmentAlignment bool             `xml:"segmentAlignment,attr"`
	StartWithSAP     int              `xml:"startWithSAP,attr"`
	MaxWidth         int              `xml:"maxWidth,attr,omitempty"`
	MaxHeight        int              `xml:"maxHeight,attr,omitempty"`
	Lang             string           `xml:"lang,attr,omitempty"`
	Representations  []representation `xml:"Representation"`
}

type representation struct {
	ID                string              `xml:"id,attr"`
	Bandwidth         int                 `xml:"bandwidth,attr"`
	Codecs            string              `xml:"codecs,attr"`
	Width             int                 `xml:"width,attr,omitempty"`
	Height            int                 `xml:"height,attr,omitempty"`
	FrameRate         string              `xml:"frameRate,attr,omitempty"`
	SAR               string              `xml:"sar,attr,omitempty"`
	AudioSamplingRate int                 `xml:"audioSamplingRate,attr,omitempty"`
	AudioChannels     *audioChannelConfig `xml:"AudioChannelConfiguration,omitempty"`
	SegmentTemplate   segmentTemplate     `xml:"SegmentTemplate"`
}

type audioChannelConfig struct {
	SchemeIDURI string `xml:"schemeIdUri,attr"`
	Value       int    `xml:"value,attr"`
}

type segmentTemplate struct {
	Timescale              uint32          `xml:"timescale,attr"`
	AvailabilityTimeOffset string          `xml:"availabilityTimeOffset,attr,omitempty"`
	AvailabilityComplete   string          `xml:"availabilityTimeComplete,attr,omitempty"`
	PresentationTimeOffset uint64          `xml:"presentationTimeOffset,attr"`
	StartNumber            int             `xml:"startNumber,attr"`
	Initialization         string          `xml:"initialization,attr"`
	Media                  string          `xml:"media,attr"`
	Timeline               segmentTimeline `xml:"SegmentTimeline"`
}

type segmentTimeline struct {
	S []s `xml:"S"`
}

type s struct {
	T uint64 `xml:"t,attr,omitempty"`
	D uint64 `xml:"d,attr"`
	R int    `xml:"r,attr,omitempty"`
}

// xsDuration writes d as an xs:duration ("PT1.5S").
func xsDuration(d time.Duration) string {
	return "PT" + strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "S"
}

// xsDateTime writes t as an xs:dateTime in UTC with milliseconds.
func xsDateTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// timelineOf writes entries as S elements: a t on the first and after
// any discontinuity, runs of equal durations folded into r.
func timelineOf(entries []entry) segmentTimeline {
	var tl segmentTimeline
	var next uint64
	for i, e := range entries {
		if n := len(tl.S); n > 0 && e.t == next && tl.S[n-1].D == e.d {
			tl.S[n-1].R++
			next += e.d
			continue
		}
		el := s{D: e.d}
		if i == 0 || e.t != next {
			el.T = e.t
			if e.t == 0 {
				el.T = 0 // t="0" is omitted, which means 0 for the first S
			}
		}
		tl.S = append(tl.S, el)
		next = e.t + e.d
	}
	return tl
}
