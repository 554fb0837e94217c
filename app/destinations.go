package app

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"golive/studio"
)

// destinationsPanel lists where the stream goes: a tick per entry (several
// = multistream), the URL with a masked key, edit and remove.
type destinationsPanel struct {
	ctl     Controller
	win     func() fyne.Window
	changed func()
	rows    *fyne.Container
	hint    *widget.Label
	object  fyne.CanvasObject
	// checks by destination ID, for tests.
	checks map[string]*widget.Check
}

func newDestinationsPanel(ctl Controller, win func() fyne.Window, changed func()) *destinationsPanel {
	p := &destinationsPanel{ctl: ctl, win: win, changed: changed, rows: container.NewVBox(), checks: map[string]*widget.Check{}}
	add := widget.NewButtonWithIcon("Add destination", theme.ContentAddIcon(), func() { p.openForm(studio.Destination{}) })
	p.hint = widget.NewLabel("Tick several to multistream. Stream keys are stored on this computer and shown masked.")
	p.hint.Wrapping = fyne.TextWrapWord
	p.object = container.NewBorder(nil, container.NewVBox(p.hint, add), nil, nil, container.NewVScroll(p.rows))
	return p
}

func (p *destinationsPanel) reload() {
	if where := p.ctl.Status().KeyStorage; where != "" {
		p.hint.SetText("Tick several to multistream. Stream keys are shown masked. " + where)
	}
	p.rows.RemoveAll()
	p.checks = map[string]*widget.Check{}
	for _, d := range p.ctl.Destinations() {
		d := d
		check := widget.NewCheck("", nil)
		check.SetChecked(d.Enabled)
		check.OnChanged = func(on bool) {
			if err := p.ctl.SetEnabled(d.ID, on); err != nil {
				p.showErr(err)
			}
		}
		p.checks[d.ID] = check
		name := widget.NewLabel(d.Name)
		name.TextStyle.Bold = true
		where := widget.NewLabel(d.Where())
		where.Truncation = fyne.TextTruncateEllipsis
		var buttons []fyne.CanvasObject
		if d.Kind != studio.DestBundled {
			buttons = append(buttons,
				widget.NewButtonWithIcon("", theme.DocumentCreateIcon(), func() { p.openForm(d) }),
				widget.NewButtonWithIcon("", theme.DeleteIcon(), func() {
					dialog.ShowConfirm("Remove destination", "Remove "+d.Name+"?", func(ok bool) {
						if ok {
							p.ctl.RemoveDestination(d.ID)
							p.changed()
						}
					}, p.win())
				}))
		}
		p.rows.Add(container.NewBorder(nil, nil, check, container.NewHBox(buttons...), container.NewVBox(name, where)))
	}
	p.rows.Refresh()
}

func (p *destinationsPanel) showErr(err error) {
	if w := p.win(); w != nil {
		dialog.ShowError(err, w)
	}
}

// destForm is the add/edit form; kept apart from the dialog so tests can
// fill and submit it.
type destForm struct {
	preset *widget.Select
	name   *widget.Entry
	url    *widget.Entry
	key    *widget.Entry
	advice *widget.Label
	form   *widget.Form
	dest   studio.Destination
}

func newDestForm(presets []studio.Preset, d studio.Destination) *destForm {
	f := &destForm{dest: d, name: widget.NewEntry(), url: widget.NewEntry(), key: widget.NewPasswordEntry(), advice: widget.NewLabel("")}
	f.advice.Wrapping = fyne.TextWrapWord
	var names []string
	byName := map[string]studio.Preset{}
	for _, p := range presets {
		names = append(names, p.Name)
		byName[p.Name] = p
	}
	f.preset = widget.NewSelect(names, func(n string) {
		p := byName[n]
		f.dest.Kind = p.Kind
		f.advice.SetText(p.Advice)
		f.placeholders()
		if (p.Kind != studio.DestCustom && p.Kind != studio.DestWHIP) || f.url.Text == "" || isPresetURL(presets, f.url.Text) {
			f.url.SetText(p.URL)
		}
		if f.name.Text == "" || isPresetName(presets, f.name.Text) {
			f.name.SetText(p.Name)
		}
	})
	f.placeholders()
	f.name.SetText(d.Name)
	f.url.SetText(d.URL)
	f.key.SetText(d.Key)
	for _, p := range presets {
		if p.Kind == d.Kind {
			f.preset.SetSelected(p.Name)
		}
	}
	if d.Kind == "" && len(names) > 0 {
		f.preset.SetSelected(names[0])
	}
	f.form = widget.NewForm(
		widget.NewFormItem("Service", f.preset),
		widget.NewFormItem("Name", f.name),
		widget.NewFormItem("Server URL", f.url),
		widget.NewFormItem("Stream key", f.key),
		widget.NewFormItem("", f.advice),
	)
	return f
}

// placeholders fit the URL and key hints to the chosen service.
func (f *destForm) placeholders() {
	if f.dest.Kind == studio.DestWHIP {
		f.url.SetPlaceHolder("https://host[:port]/whip")
		f.key.SetPlaceHolder("bearer token (stream key)")
		return
	}
	f.url.SetPlaceHolder("rtmp://host[:port]/app")
	f.key.SetPlaceHolder("stream key")
}

func isPresetURL(presets []studio.Preset, u string) bool {
	for _, p := range presets {
		if p.URL == u {
			return true
		}
	}
	return false
}

func isPresetName(presets []studio.Preset, n string) bool {
	for _, p := range presets {
		if p.Name == n {
			return true
		}
	}
	return false
}

// value returns the destination the form describes.
func (f *destForm) value() studio.Destination {
	d := f.dest
	d.Name, d.URL, d.Key = f.name.Text, f.url.Text, f.key.Text
	if d.ID == "" {
		d.Enabled = true
	}
	return d
}

func (p *destinationsPanel) openForm(d studio.Destination) {
	f := newDestForm(p.ctl.Presets(), d)
	title := "Add destination"
	if d.ID != "" {
		title = "Edit " + d.Name
	}
	dlg := dialog.NewCustomConfirm(title, "Save", "Cancel", f.form, func(ok bool) {
		if !ok {
			return
		}
		if err := p.ctl.SaveDestination(f.value()); err != nil {
			p.showErr(err)
			return
		}
		p.changed()
	}, p.win())
	dlg.Resize(fyne.NewSize(520, 320))
	dlg.Show()
}
