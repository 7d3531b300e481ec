package main

import (
	"fmt"
	"io"
	"strings"
)

// judged is a change with the acknowledgement that lets it through, if any.
type judged struct {
	change
	ack *acknowledgement
}

// verdict is the gate's view of one comparison.
type verdict struct {
	baseVersion, revVersion string
	changes                 []judged
	// problems are the reasons to refuse the spec, each a line.
	problems []string
	// unacknowledged are breaking changes that no acknowledgement covers.
	unacknowledged []judged
}

func (v verdict) failed() bool { return len(v.problems) > 0 }

func (v verdict) breaking() int {
	n := 0
	for _, c := range v.changes {
		if c.breaking() {
			n++
		}
	}
	return n
}

// judge holds the changes against the policy and the versioning rule: a
// breaking change must be acknowledged for the revision's version, and
// raises the major version; any other change raises the version; the version
// never goes down.
func judge(changes []change, baseVersion, revVersion string, p policy, policyFile string) verdict {
	v := verdict{baseVersion: baseVersion, revVersion: revVersion}
	for _, c := range changes {
		j := judged{change: c}
		if c.breaking() {
			for i := range p.Acknowledged {
				if p.Acknowledged[i].matches(c, revVersion) {
					j.ack = &p.Acknowledged[i]
					break
				}
			}
			if j.ack == nil {
				v.unacknowledged = append(v.unacknowledged, j)
			}
		}
		v.changes = append(v.changes, j)
	}
	if n := len(v.unacknowledged); n > 0 {
		v.problems = append(v.problems, fmt.Sprintf("%d breaking change(s) not acknowledged in %s for version %s", n, policyFile, revVersion))
	}
	baseV, baseOK := parseVersion(baseVersion)
	revV, revOK := parseVersion(revVersion)
	switch {
	case !revOK:
		v.problems = append(v.problems, fmt.Sprintf("info.version %q is not MAJOR.MINOR.PATCH", revVersion))
	case !baseOK:
		// A base from before the rule: nothing to compare the version with.
	case revV.compare(baseV) < 0:
		v.problems = append(v.problems, fmt.Sprintf("info.version went down, from %s to %s", baseVersion, revVersion))
	case v.breaking() > 0 && revV[0] <= baseV[0]:
		v.problems = append(v.problems, fmt.Sprintf("a breaking change needs a new major version: raise info.version from %s to %d.0.0", revVersion, baseV[0]+1))
	case len(v.changes) > 0 && revV.compare(baseV) == 0:
		v.problems = append(v.problems, fmt.Sprintf("the contract changed, so info.version must be raised from %s: the minor version for an addition, else the patch version", baseVersion))
	}
	return v
}

// report prints the comparison and the verdict.
func (v verdict) report(w io.Writer, spec, policyFile string) {
	fmt.Fprintf(w, "%s: info.version %s, base %s; %d change(s), %d breaking\n", spec, v.revVersion, v.baseVersion, len(v.changes), v.breaking())
	for _, c := range v.changes {
		status := ""
		switch {
		case c.breaking() && c.ack != nil:
			status = "  [acknowledged: " + oneLine(c.ack.Reason) + "]"
		case c.breaking():
			status = "  [NOT ACKNOWLEDGED]"
		}
		fmt.Fprintf(w, "  %-7s %s: %s (%s)%s\n", c.levelName(), c.where(), c.Text, c.ID, status)
	}
	if !v.failed() {
		fmt.Fprintf(w, "breaking: ok (info.version %s against %s)\n", v.revVersion, v.baseVersion)
		return
	}
	fmt.Fprintln(w, "breaking: FAILED")
	for _, p := range v.problems {
		fmt.Fprintf(w, "  - %s\n", p)
	}
	if len(v.unacknowledged) > 0 {
		next := v.revVersion
		if baseV, ok := parseVersion(v.baseVersion); ok {
			if revV, ok := parseVersion(v.revVersion); !ok || revV[0] <= baseV[0] {
				next = fmt.Sprintf("%d.0.0", baseV[0]+1)
			}
		}
		fmt.Fprintf(w, "If the break is worth it, raise info.version to %s and add to %s, under acknowledged:\n", next, policyFile)
		for _, c := range v.unacknowledged {
			fmt.Fprintf(w, "  - version: %s\n    id: %s\n    operation: %s\n    reason: <why clients must follow>\n", next, c.ID, c.where())
		}
	}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
