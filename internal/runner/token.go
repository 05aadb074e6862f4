package runner

import (
	"fmt"

	"github.com/cordon-sandbox/cordon/internal/runnerpipe"
	"github.com/cordon-sandbox/cordon/ntsec"
)

// describe puts t's user, groups and mandatory policy into h, for cordon's
// proof. A nil t describes nothing.
func describe(h *runnerpipe.Hello, t *ntsec.Token) {
	if t == nil {
		return
	}
	h.User = t.User.String()
	for _, g := range t.Groups {
		h.Groups = append(h.Groups, runnerpipe.FormatGroup(g))
	}
	if !t.Integrity.IsZero() {
		h.Integrity = t.Integrity.String()
	}
	h.IgnoreNoWriteUp = t.IgnoreNoWriteUp
}

// TokenOf is the runner's token as its Hello describes it, or nil when
// the Hello describes none. Only what the access check of a token made
// from it reads is carried: restrictedtoken.Model keeps no privilege but
// SeChangeNotifyPrivilege, so the base's privileges are not needed, and a
// runner's token is never restricted or deny-only in its user (a
// restricted base is refused by Model anyway).
func TokenOf(h *runnerpipe.Hello) (*ntsec.Token, error) {
	if h.User == "" {
		return nil, nil
	}
	user, err := ntsec.ParseSID(h.User)
	if err != nil {
		return nil, fmt.Errorf("runner: its token's user: %w", err)
	}
	t := &ntsec.Token{User: user, IgnoreNoWriteUp: h.IgnoreNoWriteUp, Privileges: []string{"SeChangeNotifyPrivilege"}}
	for _, g := range h.Groups {
		sid, attrs, err := runnerpipe.ParseGroup(g)
		if err != nil {
			return nil, fmt.Errorf("runner: its token's groups: %w", err)
		}
		t.Groups = append(t.Groups, ntsec.Group{SID: sid, Attributes: ntsec.GroupAttr(attrs)})
	}
	if h.Integrity != "" {
		if t.Integrity, err = ntsec.ParseSID(h.Integrity); err != nil {
			return nil, fmt.Errorf("runner: its token's integrity: %w", err)
		}
	}
	return t, nil
}
