package sandboxusers

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/cordon-sandbox/cordon/internal/statedir"
)

// Result is what an elevated setup hands back to the process that started
// it: the elevated child has its own hidden console, so its output and
// error travel through a file the parent names on its command line.
type Result struct {
	Code    Code     `json:"code,omitempty"`
	Message string   `json:"message,omitempty"`
	Hint    string   `json:"hint,omitempty"`
	Output  string   `json:"output"`
	Planned []string `json:"planned"`
	Done    int      `json:"done"`
}

// WriteResult writes the outcome of [Setup] (its report, its printed
// output, its error) to path, atomically.
func WriteResult(path string, r Report, output string, err error) error {
	return ResultOf(r, output).Write(path, err)
}

// ResultOf is the Result of a report and its printed output.
func ResultOf(r Report, output string) Result {
	res := Result{Output: output, Done: r.Done}
	for _, a := range r.Planned {
		res.Planned = append(res.Planned, a.String())
	}
	return res
}

// Write writes res, with err's code, message and hint, to path,
// atomically, for [ReadResult].
func (res Result) Write(path string, err error) error {
	if err != nil {
		res.Code, res.Message = CodeFailed, err.Error()
		var e *Error
		if errors.As(err, &e) {
			res.Code, res.Hint = e.Code, e.Hint()
		}
	}
	b, merr := json.MarshalIndent(res, "", "  ")
	if merr != nil {
		return merr
	}
	return statedir.WriteFile(path, b)
}

// ReadResult reads what [WriteResult] wrote, and returns the child's
// failure as an *Error with its code. A missing or unreadable file means
// the child died before finishing: CodeFailed.
func ReadResult(path string) (Result, error) {
	var res Result
	b, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(b, &res)
	}
	if err != nil {
		return res, &Error{Code: CodeFailed, Op: "reading the elevated setup's result", Err: err}
	}
	if res.Code != "" {
		return res, &Error{Code: res.Code, Op: "elevated setup", Err: fmt.Errorf("%s", res.Message)}
	}
	return res, nil
}
