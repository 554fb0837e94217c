package app

import (
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"golive/preview/scene"
)

// scenePanel is the Scene tab: the layers over the main source, top
// first as they are seen, each with a visibility tick, a corner preset,
// up/down, edit and remove; buttons add a camera picture-in-picture, an
// image, a text and the chat. Every change applies at once, live too.
type scenePanel struct {
	ctl    Controller
	win    func() fyne.Window
	rows   *fyne.Container
	status *widget.Label
	object fyne.CanvasObject
	// Per layer ID, for tests: its visibility tick and corner preset.
	checks  map[string]*widget.Check
	corners map[string]*widget.Select
	// askImage opens the file picker for an image layer; tests replace it.
	askImage func(func(path string))
}

// cornerAuto is the corner select's entry for a dragged layer.
const cornerAuto = "(dragged)"

func newScenePanel(ctl Controller, win func() fyne.Window) *scenePanel {
	p := &scenePanel{ctl: ctl, win: win, rows: container.NewVBox(), status: widget.NewLabel("")}
	p.status.Wrapping = fyne.TextWrapWord
	p.askImage = p.openImageDialog
	adds := container.NewGridWithColumns(4,
		widget.NewButtonWithIcon("Camera", theme.MediaVideoIcon(), p.addCamera),
		widget.NewButtonWithIcon("Image…", theme.FileImageIcon(), func() {
			p.askImage(func(path string) { p.add(scene.Layer{Type: scene.TypeImage, Path: path, Size: 0.15}) })
		}),
		widget.NewButtonWithIcon("Text…", theme.DocumentCreateIcon(), func() { p.editText(scene.Layer{Type: scene.TypeText}, "") }),
		widget.NewButtonWithIcon("Chat", theme.MailComposeIcon(), func() { p.add(scene.Layer{Type: scene.TypeChat, Corner: scene.BottomLeft}) }),
	)
	hint := widget.NewLabel("Layers are drawn over the video source, the top of the list on top. Drag a layer on the preview to move it.")
	hint.Wrapping = fyne.TextWrapWord
	p.object = container.NewBorder(container.NewVBox(widget.NewLabelWithStyle("Add a layer", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), adds),
		container.NewVBox(p.status, hint), nil, nil, container.NewVScroll(p.rows))
	p.reload()
	return p
}

// reload rebuilds the rows from the controller's scene.
func (p *scenePanel) reload() {
	sc := p.ctl.Scene()
	p.rows.RemoveAll()
	p.checks = map[string]*widget.Check{}
	p.corners = map[string]*widget.Select{}
	for i := len(sc.Layers) - 1; i >= 0; i-- { // top first
		l := sc.Layers[i]
		id := sc.LayerID(i)
		check := widget.NewCheck(layerTitle(l), func(on bool) { p.apply(p.ctl.Scene().SetHidden(id, !on)) })
		check.Checked = !l.Hidden
		p.checks[id] = check
		corner := widget.NewSelect(scene.Corners(), nil)
		if l.X != nil {
			corner.Options = append(corner.Options, cornerAuto)
			corner.Selected = cornerAuto
		} else if l.Corner != "" {
			corner.Selected = l.Corner
		} else {
			corner.Selected = scene.DefaultCorner(l.Type)
		}
		corner.OnChanged = func(c string) {
			if c != cornerAuto {
				p.apply(p.ctl.Scene().SetCorner(id, c))
			}
		}
		p.corners[id] = corner
		up := widget.NewButtonWithIcon("", theme.MoveUpIcon(), func() { p.apply(p.ctl.Scene().Move(id, 1)) })
		down := widget.NewButtonWithIcon("", theme.MoveDownIcon(), func() { p.apply(p.ctl.Scene().Move(id, -1)) })
		edit := widget.NewButtonWithIcon("", theme.SettingsIcon(), func() { p.edit(id) })
		if l.Type == scene.TypeChat {
			edit.Disable()
		}
		remove := widget.NewButtonWithIcon("", theme.DeleteIcon(), func() { p.apply(p.ctl.Scene().Remove(id)) })
		p.rows.Add(container.NewBorder(nil, nil, check, container.NewHBox(corner, up, down, edit, remove)))
	}
	if len(sc.Layers) == 0 {
		p.rows.Add(widget.NewLabel("No layers: the video source is shown as it is."))
	}
	p.rows.Refresh()
}

// layerTitle is how a layer is named in its row.
func layerTitle(l scene.Layer) string {
	switch l.Type {
	case scene.TypeCamera:
		src := l.Source
		if src == "" {
			src = "camera"
		}
		return "Picture-in-picture: " + src
	case scene.TypeImage:
		return "Image: " + filepath.Base(l.Path)
	case scene.TypeText:
		return "Text: " + l.Text
	case scene.TypeChat:
		return "Chat"
	}
	return l.Type
}

// apply sends a changed scene to the controller and shows the outcome.
func (p *scenePanel) apply(sc scene.Scene) {
	if err := p.ctl.SetScene(sc); err != nil {
		p.status.SetText("Not changed: " + err.Error())
		p.status.Importance = widget.DangerImportance
	} else {
		p.status.SetText("")
	}
	p.status.Refresh()
	p.reload()
}

// add puts a new layer on top.
func (p *scenePanel) add(l scene.Layer) {
	sc, _ := p.ctl.Scene().Add(l)
	p.apply(sc)
}

// addCamera asks which video source to show in the corner.
func (p *scenePanel) addCamera() {
	var names []string
	specs := map[string]string{}
	for _, o := range p.ctl.SourceChoices().Video {
		if strings.HasSuffix(o.Spec, ":") || o.Spec == p.ctl.Settings().Source {
			continue // the file entry needs a path; the main source is in use
		}
		names = append(names, o.Name)
		specs[o.Name] = o.Spec
	}
	if len(names) == 0 {
		p.status.SetText("No other video source to show in a corner.")
		return
	}
	sel := widget.NewSelect(names, nil)
	sel.SetSelected(names[0])
	for _, n := range names {
		if strings.HasPrefix(n, "Camera") {
			sel.SetSelected(n)
			break
		}
	}
	w := p.win()
	if w == nil {
		p.add(scene.Layer{Type: scene.TypeCamera, Source: specs[sel.Selected], Border: 4})
		return
	}
	dialog.ShowForm("Picture-in-picture", "Add", "Cancel", []*widget.FormItem{widget.NewFormItem("Source", sel)}, func(ok bool) {
		if ok {
			p.add(scene.Layer{Type: scene.TypeCamera, Source: specs[sel.Selected], Border: 4})
		}
	}, w)
}

// edit opens the editor fitting layer id's type.
func (p *scenePanel) edit(id string) {
	sc := p.ctl.Scene()
	i := sc.Index(id)
	if i < 0 {
		return
	}
	l := sc.Layers[i]
	if l.Type == scene.TypeText {
		p.editText(l, id)
		return
	}
	size := widget.NewSlider(0.05, 1)
	size.Step = 0.01
	size.Value = l.Size
	if size.Value == 0 {
		size.Value = scene.DefaultCameraSize
	}
	w := p.win()
	if w == nil {
		return
	}
	dialog.ShowForm(layerTitle(l), "Apply", "Cancel", []*widget.FormItem{widget.NewFormItem("Width (of the picture)", size)}, func(ok bool) {
		if ok {
			l.Size = size.Value
			p.apply(p.ctl.Scene().SetLayer(id, l))
		}
	}, w)
}

// textForm is the text layer's editor; kept apart from its dialog so
// tests can fill and submit it.
type textForm struct {
	text, subtitle *widget.Entry
	items          []*widget.FormItem
}

func newTextForm(l scene.Layer) *textForm {
	f := &textForm{text: widget.NewEntry(), subtitle: widget.NewEntry()}
	f.text.SetText(l.Text)
	f.text.SetPlaceHolder("Jane Doe")
	f.subtitle.SetText(l.Subtitle)
	f.subtitle.SetPlaceHolder("(optional second line)")
	f.items = []*widget.FormItem{widget.NewFormItem("Text", f.text), widget.NewFormItem("Second line", f.subtitle)}
	return f
}

// value returns l with the form's texts.
func (f *textForm) value(l scene.Layer) scene.Layer {
	l.Text, l.Subtitle = strings.TrimSpace(f.text.Text), strings.TrimSpace(f.subtitle.Text)
	return l
}

// editText adds (id "") or edits a text layer.
func (p *scenePanel) editText(l scene.Layer, id string) {
	f := newTextForm(l)
	w := p.win()
	if w == nil {
		return
	}
	title := "Add a lower third"
	if id != "" {
		title = "Edit the text"
	}
	dialog.ShowForm(title, "Apply", "Cancel", f.items, func(ok bool) {
		if !ok {
			return
		}
		if id == "" {
			p.add(f.value(l))
		} else {
			p.apply(p.ctl.Scene().SetLayer(id, f.value(l)))
		}
	}, w)
}

func (p *scenePanel) openImageDialog(then func(string)) {
	askForFile(p.win(), []string{".png", ".jpg", ".jpeg"}, then, nil)
}
