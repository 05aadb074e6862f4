//go:build !linux

package cachelayer

import (
	"io/fs"
	"time"
)

// usedTime is fi's modification time: the layers are evicted by their
// access times only on Linux, where they are overlays.
func usedTime(fi fs.FileInfo) time.Time { return fi.ModTime() }
