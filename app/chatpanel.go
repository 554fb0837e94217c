package app

import (
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"golive/chat"
)

// chatTimeout is how long the panel's time-out button mutes a viewer.
const chatTimeout = 10 * time.Minute

// slowModes are the slow-mode choices the panel offers.
var slowModes = []struct {
	label string
	d     time.Duration
}{{"Slow mode off", 0}, {"5 s", 5 * time.Second}, {"10 s", 10 * time.Second}, {"30 s", 30 * time.Second},
	{"1 min", time.Minute}, {"2 min", 2 * time.Minute}, {"5 min", 5 * time.Minute}}

// chatPanel shows the live chat with send, delete, time out and ban, the
// moderation row (slow mode, blocked words, moderators) and the toggle that
// burns the chat into the video.
type chatPanel struct {
	ctl     Controller
	win     func() fyne.Window
	changed func()
	msgs    []chat.Message
	list    *widget.List
	entry   *widget.Entry
	overlay *widget.Check
	slow    *widget.Select
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
			mute := widget.NewButtonWithIcon("", theme.VolumeMuteIcon(), nil)
			return container.NewBorder(nil, nil, nil, container.NewHBox(del, ban, mute), text)
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i >= len(p.msgs) {
				return
			}
			m := p.msgs[i]
			c := o.(*fyne.Container)
			text := c.Objects[0].(*widget.Label)
			btns := c.Objects[1].(*fyne.Container)
			del, ban, mute := btns.Objects[0].(*widget.Button), btns.Objects[1].(*widget.Button), btns.Objects[2].(*widget.Button)
			name := m.User.Name
			if name == "" {
				name = "anonymous"
			}
			text.SetText(badge(m.User) + name + ": " + m.Text)
			mute.OnTapped = func() { p.report(p.ctl.TimeoutChat(m.User.ID, chatTimeout)) }
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
				mute.Hide()
			} else {
				ban.Show()
				mute.Show()
			}
		})
	p.entry = widget.NewEntry()
	p.entry.SetPlaceHolder("Say something to your viewers")
	p.entry.OnSubmitted = func(string) { p.send() }
	send := widget.NewButtonWithIcon("Send", theme.MailSendIcon(), p.send)
	p.overlay = widget.NewCheck("Overlay chat on the video (preview and stream)", func(on bool) { p.ctl.SetOverlay(on) })
	var labels []string
	for _, m := range slowModes {
		labels = append(labels, m.label)
	}
	p.slow = widget.NewSelect(labels, func(label string) { p.setSlow(label) })
	p.slow.SetSelectedIndex(0)
	words := widget.NewButtonWithIcon("Blocked words…", theme.VisibilityOffIcon(), p.editWords)
	mods := widget.NewButtonWithIcon("Moderators…", theme.AccountIcon(), p.editModerators)
	tools := container.NewHBox(p.slow, words, mods)
	bottom := container.NewVBox(container.NewBorder(nil, nil, nil, send, p.entry), p.overlay)
	p.object = container.NewBorder(tools, bottom, nil, nil, p.list)
	return p
}

// badge is what a message's author is shown with: the creator and moderators
// are marked.
func badge(u chat.User) string {
	switch {
	case u.ID == chat.CreatorID:
		return "[creator] "
	case u.Mod:
		return "[mod] "
	}
	return ""
}

// setSlow applies a slow-mode choice.
func (p *chatPanel) setSlow(label string) {
	for _, m := range slowModes {
		if m.label == label && m.d != p.ctl.ChatSettings().SlowMode {
			p.report(p.ctl.SetSlowMode(m.d))
		}
	}
}

// editWords shows the blocked-words list for editing, one entry a line.
func (p *chatPanel) editWords() {
	entry := widget.NewMultiLineEntry()
	entry.SetText(strings.Join(p.ctl.ChatSettings().BlockedWords, "\n"))
	entry.SetPlaceHolder("one per line; word* blocks words that start with it")
	entry.SetMinRowsVisible(8)
	dialog.ShowCustomConfirm("Blocked words", "Save", "Cancel", entry, func(ok bool) {
		if ok {
			p.saveWords(entry.Text)
		}
	}, p.win())
}

// saveWords sets the blocked-words list from text, one entry a line.
func (p *chatPanel) saveWords(text string) {
	var words []string
	for _, line := range strings.Split(text, "\n") {
		if w := strings.TrimSpace(line); w != "" {
			words = append(words, w)
		}
	}
	p.report(p.ctl.SetBlockedWords(words))
}

// editModerators lists the moderators with a revoke button each, and invites new ones.
func (p *chatPanel) editModerators() {
	list := container.NewVBox()
	var fill func()
	fill = func() {
		list.RemoveAll()
		mods, err := p.ctl.Moderators()
		if err != nil {
			p.report(err)
			return
		}
		if len(mods) == 0 {
			list.Add(widget.NewLabel("No moderators yet."))
		}
		for _, m := range mods {
			id := m.ID
			list.Add(container.NewBorder(nil, nil, nil, widget.NewButton("Revoke", func() {
				p.report(p.ctl.RevokeModerator(id))
				fill()
			}), widget.NewLabel(m.Name)))
		}
	}
	fill()
	name := widget.NewEntry()
	name.SetPlaceHolder("Moderator's name")
	invite := widget.NewButtonWithIcon("Invite", theme.ContentAddIcon(), func() {
		if link, ok := p.invite(name.Text); ok {
			name.SetText("")
			fill()
			p.showLink(link)
		}
	})
	content := container.NewVBox(list, container.NewBorder(nil, nil, nil, invite, name))
	dialog.ShowCustom("Moderators", "Close", content, p.win())
}

// invite mints a moderator token and returns the link to give the moderator.
func (p *chatPanel) invite(name string) (string, bool) {
	inv, err := p.ctl.InviteModerator(name)
	if err != nil {
		p.report(err)
		return "", false
	}
	if inv.URL == "" {
		return inv.Token, true
	}
	return inv.URL, true
}

// showLink shows a moderator's link (or bare token) to copy; it is shown once.
func (p *chatPanel) showLink(link string) {
	w := p.win()
	if w == nil {
		return
	}
	entry := widget.NewEntry()
	entry.SetText(link)
	copyBtn := widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), func() {
		fyne.CurrentApp().Clipboard().SetContent(link)
	})
	dialog.ShowCustom("Send this link to the moderator", "Done",
		container.NewVBox(widget.NewLabel("It is shown once; the page keeps it in a cookie after the first visit."),
			container.NewBorder(nil, nil, nil, copyBtn, entry)), w)
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
	p.showSlow(p.ctl.ChatSettings().SlowMode)
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

// showSlow reflects the chat's slow mode without calling back.
func (p *chatPanel) showSlow(d time.Duration) {
	label := d.String()
	for _, m := range slowModes {
		if m.d == d {
			label = m.label
		}
	}
	if p.slow.Selected == label {
		return
	}
	cb := p.slow.OnChanged
	p.slow.OnChanged = nil
	p.slow.SetSelected(label)
	p.slow.OnChanged = cb
}
