package app

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/widget"

	"golive/studio"
)

// sourcePicker picks the video and audio sources by name from what the
// capture layer lists; it is refreshed by reload as devices come and go.
type sourcePicker struct {
	ctl          Controller
	win          func() fyne.Window
	video, audio *widget.Select
	status       *widget.Label
	object       fyne.CanvasObject
	videoSpecs   map[string]string // name → spec
	audioSpecs   map[string]string
	updating     bool // reload is setting the selections
	// askFile opens the file picker for "Media file…" and passes the
	// chosen path on; tests replace it.
	askFile func(func(path string))
}

func newSourcePicker(ctl Controller, win func() fyne.Window) *sourcePicker {
	p := &sourcePicker{ctl: ctl, win: win, status: widget.NewLabel("")}
	p.video = widget.NewSelect(nil, func(name string) { p.pick(true, name) })
	p.video.PlaceHolder = "(video source)"
	p.audio = widget.NewSelect(nil, func(name string) { p.pick(false, name) })
	p.audio.PlaceHolder = "(audio source)"
	p.status.Wrapping = fyne.TextWrapWord
	p.status.Importance = widget.DangerImportance
	p.askFile = p.openFileDialog
	form := widget.NewForm(widget.NewFormItem("Video", p.video), widget.NewFormItem("Audio", p.audio))
	p.object = container.NewVBox(form, p.status)
	p.reload()
	return p
}

// reload refreshes the entries and shows the current choices.
func (p *sourcePicker) reload() {
	c := p.ctl.SourceChoices()
	st := p.ctl.Settings()
	p.updating = true
	defer func() { p.updating = false }()
	p.videoSpecs = fill(p.video, c.Video, st.Source)
	p.audioSpecs = fill(p.audio, c.Audio, st.Audio)
}

// fill sets sel's options from opts and selects the one for spec (or, for
// a device not there now, the spec itself marked as missing).
func fill(sel *widget.Select, opts []studio.SourceOption, spec string) map[string]string {
	specs := map[string]string{}
	names := make([]string, 0, len(opts)+1)
	current := ""
	for _, o := range opts {
		names = append(names, o.Name)
		specs[o.Name] = o.Spec
		if o.Spec == spec {
			current = o.Name
		}
	}
	if current == "" && spec != "" {
		current = spec + " (not found now)"
		if len(spec) > 5 && spec[:5] == studio.FileSpec {
			current = "File: " + spec[5:]
		}
		names = append(names, current)
		specs[current] = spec
	}
	sel.Options = names
	sel.SetSelected(current)
	return specs
}

// pick applies a choice made in one of the selects.
func (p *sourcePicker) pick(video bool, name string) {
	if p.updating {
		return
	}
	specs := p.audioSpecs
	if video {
		specs = p.videoSpecs
	}
	spec, ok := specs[name]
	if !ok {
		return
	}
	if video && spec == studio.FileSpec {
		p.askFile(func(path string) { p.apply(true, studio.FileSpec+path) })
		return
	}
	p.apply(video, spec)
}

// apply sets the source and shows the outcome.
func (p *sourcePicker) apply(video bool, spec string) {
	var err error
	if video {
		err = p.ctl.SetSource(spec)
	} else {
		err = p.ctl.SetAudio(spec)
	}
	if err != nil {
		p.status.SetText(err.Error())
	} else {
		p.status.SetText("")
	}
	p.reload()
}

func (p *sourcePicker) openFileDialog(then func(string)) {
	askForFile(p.win(), []string{".mp4", ".mkv", ".mov", ".webm", ".flv", ".ts", ".avi"}, then, p.reload)
}

// askForFile shows a file picker for files ending in one of exts on w and
// passes the chosen path to then; cancelled (when not nil) runs when none
// is chosen.
func askForFile(w fyne.Window, exts []string, then func(string), cancelled func()) {
	if w == nil {
		return
	}
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			if cancelled != nil {
				cancelled()
			}
			return
		}
		_ = r.Close()
		then(r.URI().Path())
	}, w)
	d.SetFilter(storage.NewExtensionFileFilter(exts))
	d.Show()
}
