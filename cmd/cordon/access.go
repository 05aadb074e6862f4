package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cordon-sandbox/cordon/ntsec"
)

const accessUsage = `usage: cordon access --sddl SD --token TOKEN --desired RIGHTS [--object file|directory] [--json]

Evaluates cordon's model of the Windows access check (MS-DTYP 2.5.3.2, with
restricted and write-restricted tokens and mandatory integrity) and explains,
right by right, which ACE granted or denied it.

  --sddl SD        security descriptor in SDDL, or @FILE to read it from FILE
  --token TOKEN    token as JSON, or @FILE, or @- for standard input:
                   {"user":SID,"groups":[SID or {"sid":SID,"attributes":["enabled"|"deny_only"|"logon_id"]}],
                    "restricted_sids":[SID],"write_restricted":bool,"privileges":[name],
                    "integrity":"untrusted|low|medium|high|system"}
  --desired RIGHTS SDDL rights (FA, FR, GW, RCWD, …) or a mask (0x120116); MA for MAXIMUM_ALLOWED
  --object TYPE    file (default) or directory: names the rights in the trace
  --json           print {"granted","desired","allowed","trace"} as JSON

Exit status: 0 every desired right is granted, 1 not, 2 bad input.
`

// accessOutput is the --json shape.
type accessOutput struct {
	Granted string           `json:"granted"`
	Desired string           `json:"desired"`
	Allowed bool             `json:"allowed"`
	Object  string           `json:"object"`
	Trace   []ntsec.Decision `json:"trace"`
}

func runAccess(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("access", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	sddl := fs.String("sddl", "", "")
	token := fs.String("token", "", "")
	desired := fs.String("desired", "", "")
	object := fs.String("object", "file", "")
	asJSON := fs.Bool("json", false, "")
	if code, done := parseFlags(fs, args, accessUsage, stdout, stderr); done {
		return code
	}
	if fs.NArg() > 0 {
		fail(stderr, "usage", fmt.Errorf("unexpected argument %q", fs.Arg(0)))
		return exitBadInput
	}
	for _, req := range []struct{ name, val string }{{"sddl", *sddl}, {"token", *token}, {"desired", *desired}} {
		if req.val == "" {
			fail(stderr, "usage", fmt.Errorf("--%s is required", req.name))
			return exitBadInput
		}
	}
	sdText, err := readArg(*sddl, stdin)
	if err != nil {
		fail(stderr, "bad_sddl", fmt.Errorf("--sddl: %w", err))
		return exitBadInput
	}
	sd, err := ntsec.ParseSDDL(strings.TrimSpace(sdText))
	if err != nil {
		fail(stderr, "bad_sddl", fmt.Errorf("--sddl: %w", err))
		return exitBadInput
	}
	tokText, err := readArg(*token, stdin)
	if err != nil {
		fail(stderr, "bad_token", fmt.Errorf("--token: %w", err))
		return exitBadInput
	}
	tok, err := ntsec.ParseToken(strings.NewReader(tokText))
	if err != nil {
		fail(stderr, "bad_token", fmt.Errorf("--token: %w", err))
		return exitBadInput
	}
	mask, err := parseDesired(*desired)
	if err != nil {
		fail(stderr, "bad_rights", fmt.Errorf("--desired: %w", err))
		return exitBadInput
	}
	var obj ntsec.ObjectType
	switch *object {
	case "file":
		obj = ntsec.File
	case "directory", "dir":
		obj = ntsec.Directory
	default:
		fail(stderr, "usage", fmt.Errorf("--object: %q is not file or directory", *object))
		return exitBadInput
	}

	res := ntsec.AccessCheck(sd, tok, mask, obj)
	if *asJSON {
		out := accessOutput{
			Granted: res.Granted.String(), Desired: res.Desired.String(),
			Allowed: res.Allowed, Object: obj.String(), Trace: res.Trace,
		}
		if out.Trace == nil {
			out.Trace = []ntsec.Decision{}
		}
		writeJSON(stdout, out)
	} else {
		fmt.Fprint(stdout, res.Explain())
	}
	if res.Allowed {
		return exitOK
	}
	return exitNo
}

// parseDesired parses SDDL rights or a mask; "MA" (or MAXIMUM_ALLOWED) adds
// MAXIMUM_ALLOWED, which SDDL has no code for.
func parseDesired(s string) (ntsec.AccessMask, error) {
	var extra ntsec.AccessMask
	up := strings.ToUpper(s)
	for _, ma := range []string{"MAXIMUM_ALLOWED", "MA"} {
		if strings.HasPrefix(up, ma) {
			extra = ntsec.MaximumAllowed
			s = s[len(ma):]
			break
		}
	}
	if s == "" {
		if extra != 0 {
			return extra, nil
		}
		return 0, fmt.Errorf("no rights given")
	}
	m, err := ntsec.ParseRights(s)
	if err != nil {
		return 0, err
	}
	if m|extra == 0 {
		return 0, fmt.Errorf("%q asks for no rights", s)
	}
	return m | extra, nil
}

// readArg returns v, or the contents of the file named after "@" ("@-" is
// standard input).
func readArg(v string, stdin io.Reader) (string, error) {
	if !strings.HasPrefix(v, "@") {
		return v, nil
	}
	name := v[1:]
	var b []byte
	var err error
	if name == "-" {
		b, err = io.ReadAll(io.LimitReader(stdin, 1<<20))
	} else {
		b, err = os.ReadFile(name)
	}
	if err != nil {
		return "", err
	}
	return string(b), nil
}
