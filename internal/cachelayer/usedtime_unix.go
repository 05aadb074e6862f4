//go:build linux

package cachelayer

import (
	"io/fs"
	"syscall"
	"time"
)

// usedTime is the later of fi's access and modification times.
func usedTime(fi fs.FileInfo) time.Time {
	t := fi.ModTime()
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if a := time.Unix(st.Atim.Sec, st.Atim.Nsec); a.After(t) {
			return a
		}
	}
	return t
}
