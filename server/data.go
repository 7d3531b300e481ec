package server

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/oapi-codegen/runtime"

	"github.com/hzkit/sendmessage/gen/model"
)

// dataSchema is the component of the spec that a data file must match.
const dataSchema = "ReferenceData"

// patternMessage is the spec extension that explains a schema's pattern.
const patternMessage = "x-pattern-message"

//go:embed demo.json
var demoData []byte

// The demo data's one account. Its password is chosen at start-up.
const (
	DemoAdminUsername = "administrator"
	DemoAdminDomain   = "EXAMPLE"
)

// DemoSessions returns the built-in demo inventory. The seed example's session
// 7cdd624f-37d1-46c1-ab96-695a5d13956f is one of them, connected.
func DemoSessions() ([]model.SessionInfo, error) {
	data, err := LoadData("built-in demo data", demoData)
	if err != nil {
		return nil, err
	}
	return data.Sessions, nil
}

// DemoAdministrator returns the demo data's account with the given password.
func DemoAdministrator(password string) model.ReferenceUser {
	return model.ReferenceUser{Username: DemoAdminUsername, Domain: DemoAdminDomain, Password: password}
}

// LoadData parses a data file ({"users": [...], "sessions": [...]}, SessionInfo
// field names) after validating it against the spec's ReferenceData schema.
// Errors name the file (name) and the offending place in it, never a password.
func LoadData(name string, data []byte) (model.ReferenceData, error) {
	var none model.ReferenceData
	doc, err := loadSpec()
	if err != nil {
		return none, err
	}
	schemaRef, ok := doc.Components.Schemas[dataSchema]
	if !ok || schemaRef.Value == nil {
		return none, fmt.Errorf("spec has no %s schema", dataSchema)
	}
	// Numbers stay json.Number so int64 fields bind exactly.
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.UseNumber()
	var value any
	if err := decoder.Decode(&value); err != nil {
		return none, fmt.Errorf("data file %s: not valid JSON: %w", name, err)
	}
	if _, err := decoder.Token(); !errors.Is(err, io.EOF) {
		return none, fmt.Errorf("data file %s: not valid JSON: something follows the document", name)
	}
	if err := schemaRef.Value.VisitJSON(value); err != nil {
		return none, fmt.Errorf("data file %s: %s", name, describeSchemaError(err))
	}
	var parsed model.ReferenceData
	if err := runtime.BindJSONValue(value, &parsed); err != nil {
		return none, fmt.Errorf("data file %s: %w", name, err)
	}
	seen := make(map[string]int, len(parsed.Sessions))
	for i, s := range parsed.Sessions {
		if first, dup := seen[s.ID]; dup {
			return none, fmt.Errorf("data file %s: /sessions/%d/id: %q is already the id of /sessions/%d", name, i, s.ID, first)
		}
		seen[s.ID] = i
	}
	if parsed.Users != nil {
		users := make(map[string]int, len(*parsed.Users))
		for i, u := range *parsed.Users {
			if first, dup := users[userKey(u.Username, u.Domain)]; dup {
				return none, fmt.Errorf("data file %s: /users/%d: %s\\%s is already /users/%d (names are compared without regard to case)",
					name, i, u.Domain, u.Username, first)
			}
			users[userKey(u.Username, u.Domain)] = i
		}
	}
	return parsed, nil
}

// describeSchemaError turns a kin-openapi schema error into one line that
// points at the offending value, e.g. `/message_type: value is not one of ...`.
func describeSchemaError(err error) string {
	var schemaErr *openapi3.SchemaError
	if !errors.As(err, &schemaErr) {
		return firstLine(err.Error())
	}
	reason := schemaErr.Reason
	// A pattern says little to a reader; the spec may say what it means.
	if schemaErr.Schema != nil && schemaErr.SchemaField == "pattern" {
		if message, ok := schemaErr.Schema.Extensions[patternMessage].(string); ok {
			reason = message
		}
	}
	if pointer := schemaErr.JSONPointer(); len(pointer) > 0 {
		return "/" + strings.Join(pointer, "/") + ": " + reason
	}
	return reason
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
