package main

import (
	"testing"

	"github.com/spf13/pflag"
)

func TestClosestFlag(t *testing.T) {
	t.Parallel()
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	for _, name := range []string{"type", "pool", "retries", "retry-wait", "dry-run", "message", "all"} {
		fs.Bool(name, false, "")
	}
	fs.Bool("secret", false, "")
	if err := fs.MarkHidden("secret"); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"typ":     "type",
		"tpye":    "", // two edits: too far for a short name
		"nope":    "",
		"retires": "retries",
		"dryrun":  "dry-run",
		"mess":    "message",
		"al":      "all",
		"secrt":   "", // hidden flags are not suggested
		"x":       "",
	} {
		if got := closestFlag(fs, name); got != want {
			t.Errorf("closestFlag(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"", "abc", 3}, {"type", "type", 0}, {"typ", "type", 1}, {"nope", "type", 2}, {"kitten", "sitting", 3},
	} {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
