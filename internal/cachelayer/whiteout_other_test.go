//go:build !linux

package cachelayer

import "errors"

func mknodWhiteout(string) error { return errors.New("whiteouts are a Linux overlay's") }
