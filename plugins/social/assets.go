package social

import (
	"embed"
	"io/fs"
)

//go:embed assets
var assets embed.FS

// Assets implements plugin.AssetProvider: the stylesheets and scripts of
// the plugin's web and console pages, served under /static/plugins/social/.
func (*Plugin) Assets() fs.FS {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embed is fixed at build time
	}
	return sub
}
