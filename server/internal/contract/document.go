package contract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/hzkit/sendmessage/api"
)

// Limit is a bound the server sets in the spec: the keys from the
// document's root to it, and its value.
type Limit struct {
	Path  []string
	Value uint64
}

// Document is api/openapi.yaml with limits set in it, as YAML and as JSON,
// for a reader: the file's own tree, its order, comments and styles, with
// those values changed and nothing else.
func Document(limits []Limit) (yamlText, jsonText []byte, err error) {
	var root yaml.Node
	if err := yaml.Unmarshal(api.YAML, &root); err != nil || root.Kind != yaml.DocumentNode || len(root.Content) != 1 {
		return nil, nil, fmt.Errorf("server: read api/openapi.yaml: %w", err)
	}
	yamlText = api.YAML
	changed := false
	for _, limit := range limits {
		node := at(root.Content[0], limit.Path)
		if node == nil || node.Kind != yaml.ScalarNode {
			return nil, nil, fmt.Errorf("server: api/openapi.yaml has no value at %v", limit.Path)
		}
		if value := strconv.FormatUint(limit.Value, 10); node.Value != value {
			node.Value, changed = value, true
		}
	}
	if changed {
		var y bytes.Buffer
		encoder := yaml.NewEncoder(&y)
		encoder.SetIndent(2)
		if err := encoder.Encode(&root); err != nil {
			return nil, nil, fmt.Errorf("server: render the spec as YAML: %w", err)
		}
		if err := encoder.Close(); err != nil {
			return nil, nil, fmt.Errorf("server: render the spec as YAML: %w", err)
		}
		yamlText = y.Bytes()
	}
	var j bytes.Buffer
	if err := writeJSON(&j, root.Content[0]); err != nil {
		return nil, nil, err
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, j.Bytes(), "", "  "); err != nil {
		return nil, nil, fmt.Errorf("server: render the spec as JSON: %w", err)
	}
	indented.WriteByte('\n')
	return yamlText, indented.Bytes(), nil
}

// at returns the value at path under the mapping node, or nil.
func at(node *yaml.Node, path []string) *yaml.Node {
	for _, key := range path {
		var next *yaml.Node
		for i := 0; node.Kind == yaml.MappingNode && i+1 < len(node.Content); i += 2 {
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

// writeJSON writes a node of the spec's YAML as compact JSON, members in
// the file's order.
func writeJSON(b *bytes.Buffer, node *yaml.Node) error {
	switch node.Kind {
	case yaml.MappingNode:
		b.WriteByte('{')
		for i := 0; i+1 < len(node.Content); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, node.Content[i].Value)
			b.WriteByte(':')
			if err := writeJSON(b, node.Content[i+1]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, item := range node.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(b, item); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case yaml.ScalarNode:
		return writeScalar(b, node)
	default:
		return fmt.Errorf("server: api/openapi.yaml line %d: a %v node has no JSON form", node.Line, node.Kind)
	}
	return nil
}

// writeScalar writes a YAML scalar as the JSON value it stands for.
func writeScalar(b *bytes.Buffer, node *yaml.Node) error {
	switch node.ShortTag() {
	case "!!str":
		writeString(b, node.Value)
		return nil
	case "!!null":
		b.WriteString("null")
		return nil
	}
	var value any
	if err := node.Decode(&value); err != nil {
		return fmt.Errorf("server: api/openapi.yaml line %d: %w", node.Line, err)
	}
	raw, err := json.Marshal(value)
	if err != nil {
		return fmt.Errorf("server: api/openapi.yaml line %d: %w", node.Line, err)
	}
	b.Write(raw)
	return nil
}

// writeString writes s as a JSON string, leaving <, > and & as they are:
// the document is served as application/json, never inside HTML.
func writeString(b *bytes.Buffer, s string) {
	encoder := json.NewEncoder(b)
	encoder.SetEscapeHTML(false)
	if err := encoder.Encode(s); err != nil {
		panic(err) // a string always encodes
	}
	b.Truncate(b.Len() - 1) // Encode ends the value with a newline
}
