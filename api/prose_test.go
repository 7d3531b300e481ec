package api_test

import (
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/hzkit/sendmessage/api"
)

// The reference server serves this document with the limits it was started
// with written in, prose and all: a description that named a flag's
// default would say one number beside the limit that says another. So a
// sentence that names a flag of the server (`-max-body-bytes`) names no
// number, and says the flag instead; docs/refserver.md's table of flags gives the
// defaults.
func TestProseNamesNoNumberThatAFlagSets(t *testing.T) {
	t.Parallel()
	var root yaml.Node
	if err := yaml.Unmarshal(api.YAML, &root); err != nil {
		t.Fatal(err)
	}
	flag := regexp.MustCompile("`-[a-z][a-z-]+`")
	digit := regexp.MustCompile(`[0-9]`)
	// Numbers that no flag sets: HTTP/2, and statuses (gets 400).
	fixed := regexp.MustCompile(`HTTP/[0-9.]+|\b[45][0-9][0-9]\b`)
	checked := 0
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		for i, child := range n.Content {
			if n.Kind == yaml.MappingNode && i%2 == 1 && n.Content[i-1].Value == "description" && child.Kind == yaml.ScalarNode {
				for _, sentence := range strings.Split(strings.ReplaceAll(child.Value, "\n", " "), ". ") {
					if flag.MatchString(sentence) {
						checked++
						if digit.MatchString(fixed.ReplaceAllString(sentence, "")) {
							t.Errorf("line %d: a sentence names a flag and a number: %q", child.Line, sentence)
						}
					}
				}
			}
			walk(child)
		}
	}
	walk(&root)
	if checked < 10 {
		t.Fatalf("only %d sentences name a flag: the check means nothing", checked)
	}
}
