package linuxsandbox

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// dropCapabilities leaves the calling thread, and the program it execs,
// with no capability at all (capabilities(7)):
//
//   - the bounding set is emptied with PR_CAPBSET_DROP, so that no execve(2)
//     (of a set-user-ID-root or file-capability binary, or as uid 0, which
//     gets "all" capabilities at exec) can bring any back;
//   - the ambient set is cleared (PR_CAP_AMBIENT_CLEAR_ALL), so none
//     survives execve(2) as a non-root user;
//   - the effective, permitted and inheritable sets are set to zero.
//
// PR_CAPBSET_DROP needs CAP_SETPCAP, which the init has (uid 0 in its
// namespace, or CAP_SETPCAP kept as an ambient capability). Where it does
// not (best effort without user namespaces, run by an ordinary user), its
// permitted set is empty and no_new_privs, set before, already stops
// execve(2) from granting any capability, so the bounding set is moot; we
// check that rather than assume it.
func dropCapabilities() error {
	last, err := lastCap()
	if err != nil {
		return err
	}
	for c := 0; c <= last; c++ {
		err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0)
		if errors.Is(err, unix.EINVAL) {
			break // beyond what this kernel knows
		}
		if errors.Is(err, unix.EPERM) {
			if err := checkNoCapsNNP(); err != nil {
				return fmt.Errorf("PR_CAPBSET_DROP: %w (and %v)", unix.EPERM, err)
			}
			break
		}
		if err != nil {
			return fmt.Errorf("PR_CAPBSET_DROP %d: %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("PR_CAP_AMBIENT_CLEAR_ALL: %w", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset to zero: %w", err)
	}
	return nil
}

// checkNoCapsNNP verifies that the thread has no permitted capability and
// has no_new_privs set.
func checkNoCapsNNP() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	if data[0].Permitted != 0 || data[1].Permitted != 0 {
		return errors.New("capabilities are still permitted")
	}
	nnp, err := unix.PrctlRetInt(unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)
	if err != nil || nnp != 1 {
		return errors.New("no_new_privs is not set")
	}
	return nil
}

// lastCap is the highest capability number the kernel knows.
func lastCap() (int, error) {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		// Older kernels or no /proc: go as far as the kernel accepts
		// (PR_CAPBSET_DROP stops with EINVAL past the last one).
		return 63, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("cap_last_cap %q: %w", b, err)
	}
	return n, nil
}
