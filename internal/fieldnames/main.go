// Command fieldnames writes the enum of the spec's SessionFieldName, the names
// that filters give fields, from SessionInfo itself: every property that says
// which filter types it takes (x-filters), and those of the objects it holds
// ($ref to a component), named after the object's property and a dot
// ("client_data.type"). A property that does not say fails the run, so that
// no field is left out by mistake. The spec stays the one source: the enum is
// written into it, in place, and nothing else of the file changes. `go
// generate ./...` runs it before the code generator reads the spec.
//
//	fieldnames -spec api/openapi.yaml [-check]
//
// With -check it writes nothing and fails when the enum is not the one it
// would write.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Where the names come from and where they go, in the spec.
const (
	sessionSchema = "SessionInfo"
	namesSchema   = "SessionFieldName"
	filtersKey    = "x-filters"
	schemaRefs    = "#/components/schemas/"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "fieldnames:", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	flags := flag.NewFlagSet("fieldnames", flag.ContinueOnError)
	flags.SetOutput(stderr)
	specPath := flags.String("spec", "", "the OpenAPI document (YAML) to write the enum into")
	check := flags.Bool("check", false, "write nothing; fail when the enum is stale")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *specPath == "" {
		return errors.New("-spec is required")
	}
	text, err := os.ReadFile(*specPath)
	if err != nil {
		return fmt.Errorf("read the spec: %w", err)
	}
	updated, err := Rewrite(text)
	if err != nil {
		return fmt.Errorf("%s: %w", *specPath, err)
	}
	switch {
	case bytes.Equal(updated, text):
		return nil
	case *check:
		return fmt.Errorf("%s: %s.enum is stale against the fields of %s that say %s (go generate ./... writes it anew)", *specPath, namesSchema, sessionSchema, filtersKey)
	}
	if err := os.WriteFile(*specPath, updated, 0o644); err != nil { //nolint:gosec // G306: the spec, as readable as it was
		return fmt.Errorf("write the spec: %w", err)
	}
	return nil
}

// Rewrite returns the spec text with the enum of SessionFieldName set to
// Names, one block item per line, and every other byte as it was. The enum
// must be a block list, as Rewrite writes it.
func Rewrite(text []byte) ([]byte, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(text, &root); err != nil {
		return nil, fmt.Errorf("parse the spec: %w", err)
	}
	if len(root.Content) != 1 {
		return nil, errors.New("the spec is not one YAML document")
	}
	doc := root.Content[0]
	names, err := Names(doc)
	if err != nil {
		return nil, err
	}
	enum := at(doc, "components", "schemas", namesSchema, "enum")
	if enum == nil || enum.Kind != yaml.SequenceNode || enum.Style&yaml.FlowStyle != 0 || len(enum.Content) == 0 {
		return nil, fmt.Errorf("components.schemas.%s has no enum written as a block list of at least one item", namesSchema)
	}
	first, last := enum.Content[0], enum.Content[len(enum.Content)-1]
	lines := bytes.SplitAfter(text, []byte("\n"))
	if last.Line > len(lines) || first.Line < 1 {
		return nil, errors.New("the enum's lines are not in the text")
	}
	indent := strings.Repeat(" ", first.Column-3) // the column of "-", 1-based
	var items bytes.Buffer
	for _, name := range names {
		item, err := yaml.Marshal(name)
		if err != nil {
			return nil, fmt.Errorf("write %q: %w", name, err)
		}
		fmt.Fprintf(&items, "%s- %s", indent, item)
	}
	var out bytes.Buffer
	out.Write(bytes.Join(lines[:first.Line-1], nil))
	out.Write(items.Bytes())
	out.Write(bytes.Join(lines[last.Line:], nil))
	return out.Bytes(), nil
}

// Names lists the fields of SessionInfo that say which filter types they
// take, in the spec's order, nested objects' fields after a dot.
func Names(doc *yaml.Node) ([]string, error) {
	schema := at(doc, "components", "schemas", sessionSchema)
	if schema == nil {
		return nil, fmt.Errorf("no components.schemas.%s", sessionSchema)
	}
	return fields(doc, schema, "", map[*yaml.Node]bool{})
}

// fields lists the fields of an object schema, prefix before each name.
func fields(doc, schema *yaml.Node, prefix string, seen map[*yaml.Node]bool) ([]string, error) {
	if seen[schema] {
		return nil, fmt.Errorf("%s refers back to an object that holds it", strings.TrimSuffix(prefix, "."))
	}
	seen[schema] = true
	defer delete(seen, schema)
	props := at(schema, "properties")
	if props == nil || props.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("the object of %q has no properties", sessionSchema+"."+prefix)
	}
	var names []string
	for i := 0; i+1 < len(props.Content); i += 2 {
		name, prop := prefix+props.Content[i].Value, props.Content[i+1]
		if ref := at(prop, "$ref"); ref != nil {
			target, ok := strings.CutPrefix(ref.Value, schemaRefs)
			object := at(doc, "components", "schemas", target)
			if !ok || object == nil {
				return nil, fmt.Errorf("field %s: $ref %q is not a component schema", name, ref.Value)
			}
			inner, err := fields(doc, object, name+".", seen)
			if err != nil {
				return nil, err
			}
			names = append(names, inner...)
			continue
		}
		if at(prop, "properties") != nil {
			inner, err := fields(doc, prop, name+".", seen)
			if err != nil {
				return nil, err
			}
			names = append(names, inner...)
			continue
		}
		filters := at(prop, filtersKey)
		switch {
		case filters == nil:
			return nil, fmt.Errorf("field %s says no %s: list the filter types that apply to it, or [] for none", name, filtersKey)
		case filters.Kind != yaml.SequenceNode:
			return nil, fmt.Errorf("field %s: %s is not a list of filter types", name, filtersKey)
		case len(filters.Content) > 0:
			names = append(names, name)
		}
	}
	return names, nil
}

// at returns the value at the keys under a mapping node, or nil.
func at(node *yaml.Node, keys ...string) *yaml.Node {
	for _, key := range keys {
		var next *yaml.Node
		for i := 0; node != nil && node.Kind == yaml.MappingNode && i+1 < len(node.Content); i += 2 {
			if node.Content[i].Value == key {
				next = node.Content[i+1]
			}
		}
		if next == nil {
			return nil
		}
		node = next
	}
	return node
}
