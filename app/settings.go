package app

import (
	"fmt"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"golive/studio"
)

// settingsPanel edits the capture and encoding settings.
type settingsPanel struct {
	ctl                             Controller
	size, fps, encoder              *widget.SelectEntry
	bitrate, audioBitrate, chatName *widget.Entry
	status                          *widget.Label
	object                          fyne.CanvasObject
}

func newSettingsPanel(ctl Controller) *settingsPanel {
	p := &settingsPanel{ctl: ctl,
		size:         widget.NewSelectEntry([]string{"1920x1080", "1280x720", "854x480", "640x360"}),
		fps:          widget.NewSelectEntry([]string{"24", "25", "30", "50", "60"}),
		encoder:      widget.NewSelectEntry([]string{"auto", "libx264", "h264_nvenc", "h264_vaapi", "h264_qsv"}),
		bitrate:      widget.NewEntry(),
		audioBitrate: widget.NewEntry(),
		chatName:     widget.NewEntry(),
		status:       widget.NewLabel(""),
	}
	p.status.Wrapping = fyne.TextWrapWord
	form := widget.NewForm(
		widget.NewFormItem("Size", p.size),
		widget.NewFormItem("Frame rate", p.fps),
		widget.NewFormItem("Video bitrate (kbit/s)", p.bitrate),
		widget.NewFormItem("Audio bitrate (kbit/s)", p.audioBitrate),
		widget.NewFormItem("Encoder", p.encoder),
		widget.NewFormItem("Chat name", p.chatName),
	)
	save := widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), p.save)
	hint := widget.NewLabel("The bitrate applies at once; size, frame rate and encoder at the next start. Sources are picked under the preview.")
	hint.Wrapping = fyne.TextWrapWord
	p.object = container.NewVScroll(container.NewVBox(form, save, p.status, hint))
	p.load()
	return p
}

func (p *settingsPanel) load() {
	s := p.ctl.Settings()
	if s.Width > 0 {
		p.size.SetText(fmt.Sprintf("%dx%d", s.Width, s.Height))
	}
	if s.FPS > 0 {
		p.fps.SetText(fmt.Sprint(s.FPS))
	}
	if s.Bitrate > 0 {
		p.bitrate.SetText(fmt.Sprint(s.Bitrate / 1000))
	}
	if s.AudioBitrate > 0 {
		p.audioBitrate.SetText(fmt.Sprint(s.AudioBitrate / 1000))
	}
	p.encoder.SetText(s.Encoder)
	p.chatName.SetText(s.ChatName)
}

// value parses the form; empty fields keep their defaults (zero).
func (p *settingsPanel) value() (studio.Settings, error) {
	cur := p.ctl.Settings() // the sources are the pickers'
	s := studio.Settings{Source: cur.Source, Audio: cur.Audio,
		Encoder: strings.TrimSpace(p.encoder.Text), ChatName: strings.TrimSpace(p.chatName.Text)}
	if t := strings.TrimSpace(p.size.Text); t != "" {
		ws, hs, _ := strings.Cut(strings.ToLower(t), "x")
		w, err1 := strconv.Atoi(ws)
		h, err2 := strconv.Atoi(hs)
		if err1 != nil || err2 != nil {
			return s, fmt.Errorf("size %q: want WIDTHxHEIGHT", t)
		}
		s.Width, s.Height = w, h
	}
	num := func(name, t string, mult int) (int, error) {
		t = strings.TrimSpace(t)
		if t == "" {
			return 0, nil
		}
		v, err := strconv.Atoi(t)
		if err != nil || v <= 0 {
			return 0, fmt.Errorf("%s %q: want a positive whole number", name, t)
		}
		return v * mult, nil
	}
	var err error
	if s.FPS, err = num("frame rate", p.fps.Text, 1); err != nil {
		return s, err
	}
	if s.Bitrate, err = num("video bitrate", p.bitrate.Text, 1000); err != nil {
		return s, err
	}
	if s.AudioBitrate, err = num("audio bitrate", p.audioBitrate.Text, 1000); err != nil {
		return s, err
	}
	return s, nil
}

func (p *settingsPanel) save() {
	s, err := p.value()
	if err == nil {
		err = p.ctl.SetSettings(s)
	}
	if err != nil {
		p.status.SetText("Not saved: " + err.Error())
		p.status.Importance = widget.DangerImportance
	} else {
		p.status.SetText("Saved.")
		p.status.Importance = widget.SuccessImportance
	}
	p.status.Refresh()
}
