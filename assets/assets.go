// Package assets embeds GoLive's icon and the web pages the bundled server
// serves (player, overlay, chat), with vendored third-party web code.
package assets

import (
	"embed"
	"io/fs"
)

//go:embed icon.png
var iconPNG []byte

//go:embed web
var web embed.FS

// Icon returns the application icon as PNG bytes.
func Icon() []byte { return iconPNG }

// Web returns the web pages, rooted so that "index.html" is the player.
func Web() fs.FS {
	sub, err := fs.Sub(web, "web")
	if err != nil {
		// fs.Sub fails only for an invalid path, and "web" is a constant.
		return web
	}
	return sub
}
