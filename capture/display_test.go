package capture

import (
	"testing"

	"github.com/stretchr/testify/require"

	"golive/internal/peers"
)

func TestListScreensAndWindows(t *testing.T) {
	x := peers.StartXvfb(t, "1280x720x24")
	t.Setenv("DISPLAY", x.Display)
	screens, err := ListScreens()
	require.NoError(t, err)
	require.NotEmpty(t, screens)
	require.Equal(t, 0, screens[0].Index)
	require.Equal(t, [2]int{1280, 720}, [2]int{screens[0].Width, screens[0].Height})
	require.Contains(t, screens[0].String(), "Screen 1 (")

	ws, err := ListWindows()
	require.NoError(t, err)
	require.Empty(t, ws)
	p := peers.StartXPattern(t, x, "golive pattern: list", 40, 60, 320, 180)
	q := peers.StartXPattern(t, x, "another window", 400, 60, 200, 100)
	ws, err = ListWindows()
	require.NoError(t, err)
	require.Len(t, ws, 2)
	w, err := FindWindow(ws, "golive pattern: list")
	require.NoError(t, err)
	require.Equal(t, WindowInfo{ID: p.ID, Title: p.Title, Width: 320, Height: 180}, w)
	w, err = FindWindow(ws, "ANOTHER")
	require.NoError(t, err, "a unique part of the title, any case")
	require.Equal(t, q.ID, w.ID)
	_, err = FindWindow(ws, "o")
	require.ErrorIs(t, err, ErrNoScreen)
	require.ErrorContains(t, err, "2 windows match")
	_, err = FindWindow(ws, "nope")
	require.ErrorContains(t, err, `no window titled "nope"`)

	t.Setenv("DISPLAY", "")
	_, err = ListScreens()
	require.ErrorIs(t, err, ErrNoDisplay)
	t.Setenv("DISPLAY", ":4242")
	_, err = ListWindows()
	require.ErrorIs(t, err, ErrNoDisplay)
}
