// Package winpath parses, normalises and compares Windows paths the way the
// Win32 layer and NTFS treat them, in pure Go, so that a sandbox planner
// running on any OS can decide "is P inside root R" and "does P name a
// protected entry such as .git" without being fooled by the many spellings
// Windows accepts for one file.
//
// # Why a model of Win32 normalisation
//
// Almost every path handed to a Win32 file API is first rewritten by
// ntdll (the GetFullPathName algorithm) before the kernel sees it. Two
// strings that look different can therefore open the same file, and two
// strings that look alike can open different files. An attacker who can
// choose a path string (an AI agent writing a command line) gets to pick the
// spelling, so a planner must reason about the rewritten path, never the
// text. Parse reproduces the rewrite:
//
//   - '/' and '\' are both separators and runs of them collapse, except
//     under the verbatim prefix \\?\ (see below).
//   - "." is dropped and ".." removes the previous component, but never
//     climbs above the root: C:\..\x is C:\x, \\server\share\..\x is
//     \\server\share\x. For \\.\ paths the root is the \\.\ prefix itself,
//     so \\.\C:\..\D:\x really is \\.\D:\x; Parse models that too.
//   - A component followed by a separator loses one trailing '.'
//     (C:\ws\.git.\config is C:\ws\.git\config). The last component, when
//     the path does not end in a separator, loses all trailing '.' and ' '
//     ("C:\ws\.git. ." is read as "C:\ws\.git"). A trailing space on a directory that
//     is followed by a separator is kept: C:\ws\.git \config names a
//     directory literally called ".git ", which is a different directory.
//     EqualName still reports it equal to ".git", so protection checks stay
//     conservative even though the file system would not alias them.
//   - A last component whose base name is a legacy DOS device (NUL, CON,
//     COM1, nul.txt, "nul  ") opens the device, not a file: C:\ws\nul is
//     \\.\NUL. Parse reports such paths as KindDevice.
//
// Components made only of dots and spaces other than "." and ".." (for
// example "...", ".. ", " ") are rejected: how they are rewritten depends on
// undocumented ordering inside ntdll, and no legitimate workspace path needs
// them.
//
// # Prefixes
//
// \\?\ (and the NT object prefix \??\ used by junction targets) is
// "verbatim": ntdll only swaps the prefix and hands the rest to the kernel.
// No "."/".." evaluation, no trimming, no DOS device names, and '/' is an
// ordinary character. \\?\C:\ws\.git. therefore names a file whose name
// really ends in a dot, a different file from C:\ws\.git. Because the kernel
// and NTFS do not interpret "." or ".." either (NTFS refuses them as names
// with STATUS_OBJECT_NAME_INVALID), Parse rejects such components in verbatim
// paths rather than guess.
//
// \\.\ (and any \\?\ not spelled with exactly four canonical characters,
// such as //?/) is the Win32 device namespace: it is normalised like any
// other path, but DOS device names are not applied. \\.\C:\x is the drive
// path C:\x; \\.\C: (no separator after the colon) is the raw volume
// device, not its root directory, and is reported as KindDevice.
//
// # What is deliberately not modelled
//
// Things that need the live file system or the network are outside a
// string model and must be checked by the caller: symbolic links, junctions
// and mount points; 8.3 short names (MayBeShortName flags candidates); drive
// letters created by subst or mapped to shares; volume GUID paths and
// \\?\GLOBALROOT paths that reach a drive through the object namespace
// (reported as devices, never "within" a drive path); UNC paths that loop
// back to the local machine (IsLoopbackUNC flags the recognisable ones,
// such as \\localhost\C$, which reaches C:\ even though it is not "within"
// C:\ by path rules); and per-directory case sensitivity.
package winpath
