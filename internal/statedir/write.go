package statedir

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// tempMark joins a file's name to the random suffix of its temporary files.
const tempMark = ".tmp-"

// WriteFile replaces the file at path with data so that readers, and the
// file after a crash, show either the old content or the new, never a mix:
// it writes a temporary file in the same directory, flushes it, renames it
// over path, then flushes the directory entry.
func WriteFile(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+tempMark+"*")
	if err != nil {
		return fmt.Errorf("statedir: saving %s: %w", path, err)
	}
	name := tmp.Name()
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(name)
			err = fmt.Errorf("statedir: saving %s: %w", path, err)
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := replaceFile(name, path); err != nil {
		return err
	}
	if err := syncDir(dir); err != nil {
		// The new file is in place; only its durability across a power
		// loss is in doubt.
		return fmt.Errorf("replaced, but flushing the directory failed: %w", err)
	}
	return nil
}

// RemoveStaleTemps deletes the temporary files a crashed [WriteFile] of
// path left behind. Call it only while holding the lock that serialises
// the writers of path, so that no live writer's file is removed.
func RemoveStaleTemps(path string) {
	dir, base := filepath.Dir(path), filepath.Base(path)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), base+tempMark) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
