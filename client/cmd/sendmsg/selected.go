package main

import (
	"fmt"
	"strings"

	"github.com/hzkit/sendmessage/gen/model"
)

// filterIgnoredHint is the advice under the error of a listing that the
// target flags do not select.
const filterIgnoredHint = "A server that ignores the filter parameter of the sessions listing (Horizon 8.0.0 documents none; Horizon 2111 and later do), or a proxy in front of it that drops the parameter, cannot select sessions by --pool, --user, --machine or --state. Give the session ids as arguments instead; sendmsg sessions --all lists every session."

// mismatch says why the target flags do not select t, or "" when they do.
// The server was asked for exactly these values.
func (o *options) mismatch(t target) string {
	for _, f := range o.targetFilters() {
		if got := f.got(t); f.want != "" && got != f.want {
			return fmt.Sprintf("its %s is %q, not %q", f.field, got, f.want)
		}
	}
	return ""
}

// filterFlags are the target flags that became the listing's filter, as the
// command line gives them.
func (o *options) filterFlags() string {
	var flags []string
	for _, f := range o.targetFilters() {
		if f.want != "" {
			flags = append(flags, f.flag+" "+f.want)
		}
	}
	return strings.Join(flags, " ")
}

// targetFilter is one target flag: the session field it filters on, the
// value asked for ("" when the flag is not given) and a target's value of
// that field.
type targetFilter struct {
	flag, field, want string
	got               func(target) string
}

// targetFilters are the target flags, in the order their filters are sent:
// the same flags send the same filter every time.
func (o *options) targetFilters() []targetFilter {
	return []targetFilter{
		{"--pool", string(model.SessionFieldNameDesktopPoolID), o.pool, func(t target) string { return t.Pool }},
		{"--user", string(model.SessionFieldNameUserID), o.user, func(t target) string { return t.User }},
		{"--machine", string(model.SessionFieldNameMachineID), o.machine, func(t target) string { return t.Machine }},
		{"--state", string(model.SessionFieldNameSessionState), o.state, func(t target) string { return t.State }},
	}
}

// checkSelected refuses a listing with a session that the target flags do
// not select: the server, or a proxy before it, ignored the filter, and the
// listing cannot be trusted to hold only the sessions asked for. Nothing is
// sent then, nor listed.
func (o *options) checkSelected(listed []target) error {
	var stray int
	var first string
	for _, t := range listed {
		if why := o.mismatch(t); why != "" {
			stray++
			if first == "" {
				first = fmt.Sprintf("session %s: %s", t.ID, why)
			}
		}
	}
	if stray == 0 {
		return nil
	}
	mismatched := fmt.Sprintf("%d do not match (such as %s)", stray, first)
	if stray == 1 {
		mismatched = fmt.Sprintf("1 does not match (%s)", first)
	}
	outcome := "nothing was sent"
	if o.listOnly {
		outcome = "nothing is listed"
	}
	return &hinted{
		err: fmt.Errorf("the server listed %s for %s, and %s: it did not apply the filter, so %s",
			sessions(len(listed)), o.filterFlags(), mismatched, outcome),
		hint: filterIgnoredHint,
	}
}
