// Package datafile reads the reference server's data file (users, sessions, fault rules) and holds the built-in demo data.
package datafile

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/oapi-codegen/runtime"

	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/server/internal/contract"
	"github.com/hzkit/sendmessage/server/internal/logins"
)

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
// It is the operator: whoever starts the demo gets its password.
func DemoAdministrator(password string) model.ReferenceUser {
	operator := true
	return model.ReferenceUser{Username: DemoAdminUsername, Domain: DemoAdminDomain, Password: password, Operator: &operator}
}

// LoadData parses a data file ({"users": [...], "sessions": [...]}, SessionInfo
// field names) after validating it against the spec's ReferenceData schema.
// Errors name the file (name) and the offending place in it, never a password.
func LoadData(name string, data []byte) (model.ReferenceData, error) {
	var none model.ReferenceData
	doc, err := contract.Load()
	if err != nil {
		return none, err
	}
	schema, err := contract.DataFileSchema(doc)
	if err != nil {
		return none, err
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
	if err := schema.VisitJSON(value); err != nil {
		return none, fmt.Errorf("data file %s: %s", name, contract.DescribeSchemaError(err))
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
			if first, dup := users[logins.UserKey(u.Username, u.Domain)]; dup {
				return none, fmt.Errorf("data file %s: /users/%d: %s\\%s is already /users/%d (names are compared without regard to case)",
					name, i, u.Domain, u.Username, first)
			}
			users[logins.UserKey(u.Username, u.Domain)] = i
		}
	}
	return parsed, nil
}
