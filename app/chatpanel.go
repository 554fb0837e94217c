package app

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"golive/chat"
)

// chatPanel shows the live chat with send, delete and ban, and the toggle
// that burns the chat into the video.
type chatPanel struct {
	ctl     Controller
	win     func() fyne.Window
	changed func()
	msgs    []chat.Message
	list    *widget.List
	entry   *widget.Entry
	overlay *widget.Check
	object  fyne.CanvasObject
}

func newChatPanel(ctl Controller, win func() fyne.Window, changed func()) *chatPanel {
	p := &chatPanel{ctl: ctl, win: win, changed: changed}
	p.list = widget.NewList(func() int { return len(p.msgs) },
		func() fyne.CanvasObject {
			text := widget.NewLabel("")
			text.Wrapping = fyne.TextWrapWord
			del := widget.NewButtonWithIcon("", theme.DeleteIcon(), nil)
			ban := widget.NewButtonWithIcon("", theme.CancelIcon(), nil)
			return container.NewBorder(nil, nil, nil, container.NewHBox(del, ban), text)
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i >= len(p.msgs) {
				return
			}
			m := p.msgs[i]
			c := o.(*fyne.Container)
			text := c.Objects[0].(*widget.Label)
			btns := c.Objects[1].(*fyne.Container)
			del, ban := btns.Objects[0].(*widget.Button), btns.Objects[1].(*widget.Button)
			name := m.User.Name
			if name == "" {
				name = "anonymous"
			}
			text.SetText(name + ": " + m.Text)
			del.OnTapped = func() { p.report(p.ctl.DeleteChat(m.ID)) }
			ban.OnTapped = func() {
				dialog.ShowConfirm("Ban "+name, "Ban "+name+" from the chat?", func(ok bool) {
					if ok {
						p.report(p.ctl.BanChat(m.User.ID))
					}
				}, p.win())
			}
			if m.User.Mod {
				ban.Hide()
			} else {
				ban.Show()
			}
		})
	p.entry = widget.NewEntry()
	p.entry.SetPlaceHolder("Say something to your viewers")
	p.entry.OnSubmitted = func(string) { p.send() }
	send := widget.NewButtonWithIcon("Send", theme.MailSendIcon(), p.send)
	p.overlay = widget.NewCheck("Overlay chat on the video (preview and stream)", func(on bool) { p.ctl.SetOverlay(on) })
	bottom := container.NewVBox(container.NewBorder(nil, nil, nil, send, p.entry), p.overlay)
	p.object = container.NewBorder(nil, bottom, nil, nil, p.list)
	return p
}

func (p *chatPanel) send() {
	if p.entry.Text == "" {
		return
	}
	if err := p.ctl.SendChat(p.entry.Text); err != nil {
		p.report(err)
		return
	}
	p.entry.SetText("")
}

func (p *chatPanel) report(err error) {
	if err != nil {
		if w := p.win(); w != nil {
			dialog.ShowError(err, w)
		}
	}
}

func (p *chatPanel) reload() {
	p.msgs = p.ctl.Chat()
	p.list.Refresh()
	if len(p.msgs) > 0 {
		p.list.ScrollToBottom()
	}
}

// setOverlay reflects the controller's overlay state without calling back.
func (p *chatPanel) setOverlay(on bool) {
	if p.overlay.Checked != on {
		cb := p.overlay.OnChanged
		p.overlay.OnChanged = nil
		p.overlay.SetChecked(on)
		p.overlay.OnChanged = cb
	}
}
