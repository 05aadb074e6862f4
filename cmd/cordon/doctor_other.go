//go:build !windows

package main

// hostDoctorEnv: the elevated mode exists on Windows only.
func hostDoctorEnv(string) (doctorEnv, bool) { return doctorEnv{}, false }
