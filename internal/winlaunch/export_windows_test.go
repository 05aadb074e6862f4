//go:build windows

package winlaunch

// SetJobListAttribute makes Start use attr in place of
// PROC_THREAD_ATTRIBUTE_JOB_LIST, so that an unknown value forces the
// fallback (CREATE_SUSPENDED, AssignProcessToJobObject, ResumeThread). It
// returns a function restoring the real attribute.
func SetJobListAttribute(attr uintptr) (restore func()) {
	old := jobListAttribute
	jobListAttribute = attr
	return func() { jobListAttribute = old }
}
