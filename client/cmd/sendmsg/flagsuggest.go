package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"
)

// suggestFlag adds to an unknown flag's error the flag that was surely
// meant: --type for --typ, and --pool for -pool, which pflag reads as the
// shorthands -p -o -o -l.
func suggestFlag(fs *pflag.FlagSet, err error) error {
	var unknown *pflag.NotExistError
	if !errors.As(err, &unknown) {
		return err
	}
	name := unknown.GetSpecifiedName()
	if word := unknown.GetSpecifiedShortnames(); word != "" {
		name, _, _ = strings.Cut(word, "=")
		if len(name) < 2 {
			return err
		}
		if f := fs.Lookup(name); f != nil && !f.Hidden {
			return fmt.Errorf("%w; long flags take two dashes: --%s", err, name)
		}
	}
	if meant := closestFlag(fs, name); meant != "" {
		return fmt.Errorf("%w; did you mean --%s?", err, meant)
	}
	return err
}

// closestFlag is the flag of fs whose name is nearest to name, or begins
// with it; "" when none is near: one edit away for a name of up to four
// letters, two for a longer one.
func closestFlag(fs *pflag.FlagSet, name string) string {
	best, bestDistance := "", 2
	if len(name) > 4 {
		bestDistance = 3
	}
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		d := editDistance(name, f.Name)
		if len(name) >= 3 && strings.HasPrefix(f.Name, name) {
			d = min(d, 1)
		}
		if d < bestDistance {
			best, bestDistance = f.Name, d
		}
	})
	return best
}

// editDistance is the Levenshtein distance of a and b: how many letters must
// be inserted, deleted or replaced to turn one into the other.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			replace := prev[j-1]
			if a[i-1] != b[j-1] {
				replace++
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, replace)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
