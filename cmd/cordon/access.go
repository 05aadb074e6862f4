package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cordon-sandbox/cordon/ntsec"
)

const accessUsage = `usage: cordon access --sddl SD --token TOKEN --desired RIGHTS [--object file|directory] [--hypothesis NAME] [--json]

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
  --hypothesis R   answer under the one reading R of what Windows leaves
                   unsettled (H1/per-right/MA-split, H2/whole/MA-whole, …);
                   by default every open reading is checked
  --json           print {"granted","desired","allowed","readings","trace"} as
                   JSON; "allowed" is null when the readings disagree

Exit status: 0 every desired right is granted, 1 not, 2 bad input, 3 the
answer depends on unsettled Windows behaviour (the readings disagree).
`

// accessOutput is the --json shape. Granted and Trace are the first
// reading's (ntsec.DefaultReading unless --hypothesis chose another);
// ByReading, present only when the readings' answers differ, has each one.
type accessOutput struct {
	Granted   string           `json:"granted"`
	Desired   string           `json:"desired"`
	Allowed   *bool            `json:"allowed"`
	Readings  map[string]bool  `json:"readings"`
	Object    string           `json:"object"`
	Trace     []ntsec.Decision `json:"trace"`
	ByReading []readingAnswer  `json:"by_reading,omitempty"`
}

// readingAnswer is one reading's answer, in --json when readings differ.
type readingAnswer struct {
	Reading string           `json:"reading"`
	Allowed bool             `json:"allowed"`
	Granted string           `json:"granted"`
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
	hypothesis := fs.String("hypothesis", "", "")
	if code, done := parseFlags(fs, args, accessUsage, stdout, stderr); done {
		return code
	}
	readings, err := readingsFor(*hypothesis)
	if err != nil {
		fail(stderr, codeUsage, err)
		return exitBadInput
	}
	if fs.NArg() > 0 {
		fail(stderr, codeUsage, fmt.Errorf("unexpected argument %q", fs.Arg(0)))
		return exitBadInput
	}
	for _, req := range []struct{ name, val string }{{"sddl", *sddl}, {"token", *token}, {"desired", *desired}} {
		if req.val == "" {
			fail(stderr, codeUsage, fmt.Errorf("--%s is required", req.name))
			return exitBadInput
		}
	}
	sdText, err := readArg(*sddl, stdin)
	if err != nil {
		fail(stderr, codeBadSDDL, fmt.Errorf("--sddl: %w", err))
		return exitBadInput
	}
	sd, err := ntsec.ParseSDDL(strings.TrimSpace(sdText))
	if err != nil {
		fail(stderr, codeBadSDDL, fmt.Errorf("--sddl: %w", err))
		return exitBadInput
	}
	tokText, err := readArg(*token, stdin)
	if err != nil {
		fail(stderr, codeBadToken, fmt.Errorf("--token: %w", err))
		return exitBadInput
	}
	tok, err := ntsec.ParseToken(strings.NewReader(tokText))
	if err != nil {
		fail(stderr, codeBadToken, fmt.Errorf("--token: %w", err))
		return exitBadInput
	}
	mask, err := parseDesired(*desired)
	if err != nil {
		fail(stderr, codeBadRights, fmt.Errorf("--desired: %w", err))
		return exitBadInput
	}
	var obj ntsec.ObjectType
	switch *object {
	case "file":
		obj = ntsec.File
	case "directory", "dir":
		obj = ntsec.Directory
	default:
		fail(stderr, codeUsage, fmt.Errorf("--object: %q is not file or directory", *object))
		return exitBadInput
	}

	results := make([]ntsec.Result, len(readings))
	allowed := make([]bool, len(readings))
	same := true
	for i, r := range readings {
		results[i] = ntsec.AccessCheckUnder(r, sd, tok, mask, obj)
		allowed[i] = results[i].Allowed
		same = same && results[i].Allowed == results[0].Allowed && results[i].Granted == results[0].Granted
	}
	verdict := agreed(allowed)
	res := results[0]
	if *asJSON {
		out := accessOutput{
			Granted: res.Granted.String(), Desired: res.Desired.String(),
			Allowed: verdict, Readings: verdictsByReading(readings, allowed),
			Object: obj.String(), Trace: nonNil(res.Trace),
		}
		if !same {
			for i, r := range readings {
				out.ByReading = append(out.ByReading, readingAnswer{r.Name(), results[i].Allowed, results[i].Granted.String(), nonNil(results[i].Trace)})
			}
		}
		writeJSON(stdout, out)
	} else if same {
		fmt.Fprint(stdout, res.Explain())
	} else {
		writeDisagreement(stdout, readings, results, verdict)
	}
	switch {
	case verdict == nil:
		return exitDepends
	case *verdict:
		return exitOK
	}
	return exitNo
}

func nonNil(t []ntsec.Decision) []ntsec.Decision {
	if t == nil {
		return []ntsec.Decision{}
	}
	return t
}

// writeDisagreement explains results that differ between readings: a
// first line with the verdict (DEPENDS when they differ on it), then each
// distinct answer with the readings that give it.
func writeDisagreement(w io.Writer, readings []ntsec.Reading, results []ntsec.Result, verdict *bool) {
	words := make([]string, len(results))
	for i, r := range results {
		words[i] = "DENIED"
		if r.Allowed {
			words[i] = "ALLOWED"
		}
	}
	if verdict == nil {
		fmt.Fprintf(w, "DEPENDS on unsettled Windows behaviour: %s\n", describeSplit(readings, words))
	} else {
		fmt.Fprintf(w, "%s under every reading, with granted rights that depend on unsettled Windows behaviour\n", words[0])
	}
	done := make([]bool, len(results))
	for i := range results {
		if done[i] {
			continue
		}
		var names []string
		for j := i; j < len(results); j++ {
			if !done[j] && results[j].Allowed == results[i].Allowed && results[j].Granted == results[i].Granted {
				done[j] = true
				names = append(names, readings[j].Name())
			}
		}
		fmt.Fprintf(w, "\nunder %s:\n%s", strings.Join(names, ", "), results[i].Explain())
	}
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
