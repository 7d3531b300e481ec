package client_test

import (
	"testing"

	"github.com/hzkit/sendmessage/client"
)

func TestSessionEnumsValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		valid func() bool
		want  bool
	}{
		{"SessionConnected", client.SessionConnected.Valid, true},
		{"SessionDisconnected", client.SessionDisconnected.Valid, true},
		{"SessionPending", client.SessionPending.Valid, true},
		{"a state in lower case", client.SessionState("connected").Valid, false},
		{"no state", client.SessionState("").Valid, false},
		{"DesktopSession", client.DesktopSession.Valid, true},
		{"ApplicationSession", client.ApplicationSession.Valid, true},
		{"an unknown type", client.SessionType("KIOSK").Valid, false},
		{"ProtocolBlast", client.ProtocolBlast.Valid, true},
		{"ProtocolPCoIP", client.ProtocolPCoIP.Valid, true},
		{"ProtocolRDP", client.ProtocolRDP.Valid, true},
		{"ProtocolConsole", client.ProtocolConsole.Valid, true},
		{"ProtocolUnknown", client.ProtocolUnknown.Valid, true},
		{"a protocol in mixed case", client.SessionProtocol("PCoIP").Valid, false},
	}
	for _, tt := range tests {
		if got := tt.valid(); got != tt.want {
			t.Errorf("%s: Valid() = %v, want %v", tt.name, got, tt.want)
		}
	}
}
