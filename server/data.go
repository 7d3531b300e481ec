package server

import (
	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/server/internal/datafile"
)

// The demo data's one account. Its password is chosen at start-up.
const (
	DemoAdminUsername = datafile.DemoAdminUsername
	DemoAdminDomain   = datafile.DemoAdminDomain
)

// DemoSessions returns the built-in demo inventory. The seed example's session
// 7cdd624f-37d1-46c1-ab96-695a5d13956f is one of them, connected.
func DemoSessions() ([]model.SessionInfo, error) { return datafile.DemoSessions() }

// DemoAdministrator returns the demo data's account with the given password.
// It is the operator: whoever starts the demo gets its password.
func DemoAdministrator(password string) model.ReferenceUser {
	return datafile.DemoAdministrator(password)
}

// LoadData parses a data file ({"users": [...], "sessions": [...]}, SessionInfo
// field names) after validating it against the spec's ReferenceData schema.
// Errors name the file (name) and the offending place in it, never a password.
func LoadData(name string, data []byte) (model.ReferenceData, error) {
	return datafile.LoadData(name, data)
}
