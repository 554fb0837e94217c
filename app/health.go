package app

import (
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"golive/broadcast"
	"golive/studio"
)

// healthPanel shows the stream's health at a glance, like OBS's stats dock.
type healthPanel struct {
	object fyne.CanvasObject

	state, uptime, bitrate, link, fps, dropped, skipped, encoder, cpu, queue, viewers *widget.Label
	reconnect                                                                         *widget.Button
	graph                                                                             *bitrateGraph
	dests                                                                             *widget.Label
}

func newHealthPanel(ctl Controller) *healthPanel {
	h := &healthPanel{}
	l := func() *widget.Label { return widget.NewLabel("–") }
	h.state, h.uptime, h.bitrate, h.link, h.fps, h.dropped = l(), l(), l(), l(), l(), l()
	h.skipped, h.encoder, h.cpu, h.queue, h.viewers = l(), l(), l(), l(), l()
	h.state.TextStyle.Bold = true
	h.reconnect = widget.NewButtonWithIcon("Reconnect now", theme.ViewRefreshIcon(), func() { ctl.ReconnectNow() })
	h.reconnect.Hide()
	h.graph = newBitrateGraph()
	h.dests = widget.NewLabel("")
	h.dests.Wrapping = fyne.TextWrapWord
	row := func(name string, v fyne.CanvasObject) []fyne.CanvasObject {
		k := widget.NewLabel(name)
		k.TextStyle.Bold = true
		return []fyne.CanvasObject{k, v}
	}
	var cells []fyne.CanvasObject
	for _, r := range [][]fyne.CanvasObject{
		row("State", container.NewHBox(h.state, h.reconnect)),
		row("Uptime", h.uptime),
		row("Bitrate (encoder)", h.bitrate),
		row("Link (server took)", h.link),
		row("Frames/s", h.fps),
		row("Dropped (network)", h.dropped),
		row("Skipped (encoder)", h.skipped),
		row("Encoder", h.encoder),
		row("CPU", h.cpu),
		row("Behind (queue)", h.queue),
		row("Chat viewers", h.viewers),
	} {
		cells = append(cells, r...)
	}
	form := container.New(layout.NewFormLayout(), cells...)
	title := widget.NewLabel("Bitrate, last minute")
	title.TextStyle.Bold = true
	dt := widget.NewLabel("Destinations")
	dt.TextStyle.Bold = true
	h.object = container.NewVScroll(container.NewVBox(form, title, h.graph, dt, h.dests))
	return h
}

func (h *healthPanel) update(st studio.Status) {
	state := st.State.String()
	state = strings.ToUpper(state[:1]) + state[1:]
	if st.State == broadcast.StateReconnecting && st.ReconnectIn > 0 {
		state = fmt.Sprintf("Reconnecting in %d s", int(st.ReconnectIn.Round(time.Second)/time.Second))
	}
	if st.State == broadcast.StateCongested {
		state = "Congested: the link carries less than the encoder makes"
	}
	h.state.SetText(state)
	// At a glance: green when the servers take the stream, orange when
	// they fall behind or the connection is coming back.
	switch st.State {
	case broadcast.StateLive:
		h.state.Importance = widget.SuccessImportance
	case broadcast.StateCongested, broadcast.StateReconnecting, broadcast.StateConnecting:
		h.state.Importance = widget.WarningImportance
	default:
		h.state.Importance = widget.MediumImportance
	}
	h.state.Refresh()
	if st.State == broadcast.StateReconnecting && st.CanReconnect {
		h.reconnect.Show()
	} else {
		h.reconnect.Hide()
	}
	h.uptime.SetText(st.Uptime.Truncate(time.Second).String())
	if st.TargetBitrate > 0 {
		h.bitrate.SetText(fmt.Sprintf("%s (target %s)", kbps(st.Bitrate), kbps(st.TargetBitrate)))
	} else {
		h.bitrate.SetText(kbps(st.Bitrate))
	}
	if st.State == broadcast.StateOffline {
		h.link.SetText("–")
	} else {
		h.link.SetText(kbps(st.LinkBitrate))
	}
	h.fps.SetText(fmt.Sprintf("%.1f / %d", st.FPS, st.TargetFPS))
	h.dropped.SetText(fmt.Sprint(st.Dropped))
	h.skipped.SetText(fmt.Sprint(st.Skipped))
	switch {
	case st.Encoder == "":
		h.encoder.SetText("– (starts with Go Live)")
	case st.Hardware:
		h.encoder.SetText(st.Encoder + " (hardware)")
	default:
		h.encoder.SetText(st.Encoder + " (software)")
	}
	h.cpu.SetText(fmt.Sprintf("%.0f %%", st.CPU))
	h.queue.SetText(st.Queue.Round(time.Millisecond).String())
	h.viewers.SetText(fmt.Sprint(st.Viewers))
	h.graph.SetData(st.BitrateHistory)
	var b strings.Builder
	for _, d := range st.Destinations {
		fmt.Fprintf(&b, "%s — %s, %s", d.URL, d.State, kbps(d.Bitrate))
		if d.State == "live" || d.State == "congested" {
			fmt.Fprintf(&b, ", server took %s, %s behind", kbps(d.LinkBitrate), d.Queue.Round(10*time.Millisecond))
		}
		if d.Behind {
			b.WriteString(", left behind: cannot keep up even at the lowest bitrate")
		}
		if d.Attempts > 0 {
			fmt.Fprintf(&b, ", %d failed attempts", d.Attempts)
		}
		if d.Err != "" {
			fmt.Fprintf(&b, " (%s)", d.Err)
		}
		b.WriteString("\n")
	}
	if b.Len() == 0 {
		b.WriteString("offline")
	}
	h.dests.SetText(strings.TrimSpace(b.String()))
}

func kbps(bps int) string { return fmt.Sprintf("%d kbit/s", bps/1000) }
