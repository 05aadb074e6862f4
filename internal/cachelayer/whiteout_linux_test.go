package cachelayer

import "golang.org/x/sys/unix"

// mknodWhiteout makes an overlay whiteout: a 0/0 character device.
func mknodWhiteout(p string) error { return unix.Mknod(p, unix.S_IFCHR, 0) }
