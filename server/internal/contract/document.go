package contract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v3"

	"github.com/hzkit/sendmessage/api"
)

// Document renders doc, the spec a server enforces, as YAML and as JSON for
// a reader. The content is doc's, as kin-openapi writes it; members come in
// the order api/openapi.yaml gives them (members it does not have follow, in
// name order), and YAML keeps the file's flow and block styles where the
// value is the file's, so that a default server serves the file as written.
func Document(doc *openapi3.T) (yamlText, jsonText []byte, err error) {
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, nil, fmt.Errorf("server: render the spec: %w", err)
	}
	decoder := json.NewDecoder(bytes.NewReader(raw))
	decoder.UseNumber()
	var value any
	if err := decoder.Decode(&value); err != nil {
		return nil, nil, fmt.Errorf("server: render the spec: %w", err)
	}
	var source yaml.Node
	if err := yaml.Unmarshal(api.YAML, &source); err != nil {
		return nil, nil, fmt.Errorf("server: read api/openapi.yaml: %w", err)
	}
	var layout *yaml.Node
	if source.Kind == yaml.DocumentNode && len(source.Content) == 1 {
		layout = source.Content[0]
	}
	node := toNode(value, layout)

	var y bytes.Buffer
	encoder := yaml.NewEncoder(&y)
	encoder.SetIndent(2)
	if err := encoder.Encode(node); err != nil {
		return nil, nil, fmt.Errorf("server: render the spec as YAML: %w", err)
	}
	if err := encoder.Close(); err != nil {
		return nil, nil, fmt.Errorf("server: render the spec as YAML: %w", err)
	}
	var j bytes.Buffer
	writeJSON(&j, node)
	var indented bytes.Buffer
	if err := json.Indent(&indented, j.Bytes(), "", "  "); err != nil {
		return nil, nil, fmt.Errorf("server: render the spec as JSON: %w", err)
	}
	indented.WriteByte('\n')
	return y.Bytes(), indented.Bytes(), nil
}

// toNode turns a decoded JSON value into a YAML node laid out like layout,
// the same place in api/openapi.yaml (nil where the file has nothing).
func toNode(value any, layout *yaml.Node) *yaml.Node {
	switch v := value.(type) {
	case map[string]any:
		node := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		keys := make([]string, 0, len(v))
		children := map[string]*yaml.Node{}
		if layout != nil && layout.Kind == yaml.MappingNode {
			node.Style = layout.Style & yaml.FlowStyle
			for i := 0; i+1 < len(layout.Content); i += 2 {
				key := layout.Content[i].Value
				if _, ok := v[key]; ok {
					if _, seen := children[key]; !seen {
						keys = append(keys, key)
					}
					children[key] = layout.Content[i+1]
				}
			}
		}
		var rest []string
		for key := range v {
			if _, ok := children[key]; !ok {
				rest = append(rest, key)
			}
		}
		slices.Sort(rest)
		for _, key := range append(keys, rest...) {
			keyNode := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}
			node.Content = append(node.Content, keyNode, toNode(v[key], children[key]))
		}
		return node
	case []any:
		node := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		var items []*yaml.Node
		if layout != nil && layout.Kind == yaml.SequenceNode {
			node.Style = layout.Style & yaml.FlowStyle
			items = layout.Content
		}
		for i, item := range v {
			var itemLayout *yaml.Node
			if i < len(items) {
				itemLayout = items[i]
			}
			node.Content = append(node.Content, toNode(item, itemLayout))
		}
		return node
	case string:
		node := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
		if layout != nil && layout.Kind == yaml.ScalarNode && layout.Value == v {
			node.Style = layout.Style
		} else if strings.Contains(v, "\n") {
			node.Style = yaml.LiteralStyle
		}
		return node
	case json.Number:
		tag := "!!int"
		if strings.ContainsAny(v.String(), ".eE") {
			tag = "!!float"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: v.String()}
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v)}
	default: // nil
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	}
}

// writeJSON writes node, as toNode makes them, as compact JSON.
func writeJSON(b *bytes.Buffer, node *yaml.Node) {
	switch node.Kind {
	case yaml.MappingNode:
		b.WriteByte('{')
		for i := 0; i+1 < len(node.Content); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, node.Content[i].Value)
			b.WriteByte(':')
			writeJSON(b, node.Content[i+1])
		}
		b.WriteByte('}')
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, item := range node.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, item)
		}
		b.WriteByte(']')
	default:
		if node.Tag == "!!str" {
			writeString(b, node.Value)
		} else {
			b.WriteString(node.Value)
		}
	}
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
