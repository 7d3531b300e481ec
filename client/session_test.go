package client_test

import (
	"testing"

	"github.com/hzkit/sendmessage/client"
	"github.com/hzkit/sendmessage/gen/model"
)

// TestEnumConstantsAreTheSpecs holds the client's constants, converted from
// the generated ones, to the enums of the spec.
func TestEnumConstantsAreTheSpecs(t *testing.T) {
	t.Parallel()
	for _, c := range []client.SessionState{client.SessionConnected, client.SessionDisconnected, client.SessionPending} {
		if !model.SessionInfoSessionState(c).Valid() || !c.Valid() {
			t.Errorf("session state %q is not in the spec's enum", c)
		}
	}
	for _, c := range []client.SessionType{client.DesktopSession, client.ApplicationSession} {
		if !model.SessionInfoSessionType(c).Valid() || !c.Valid() {
			t.Errorf("session type %q is not in the spec's enum", c)
		}
	}
	protocols := []client.SessionProtocol{
		client.ProtocolBlast, client.ProtocolPCoIP, client.ProtocolRDP, client.ProtocolConsole, client.ProtocolUnknown,
	}
	for _, c := range protocols {
		if !model.SessionInfoSessionProtocol(c).Valid() || !c.Valid() {
			t.Errorf("session protocol %q is not in the spec's enum", c)
		}
	}
	clientTypes := []client.HorizonClientType{
		client.ClientWindows, client.ClientMac, client.ClientHTMLAccess, client.ClientLinux,
		client.ClientIOS, client.ClientAndroid, client.ClientOther,
	}
	for _, c := range clientTypes {
		if !model.ClientDataType(c).Valid() || !c.Valid() {
			t.Errorf("client type %q is not in the spec's enum", c)
		}
	}
	for _, c := range []client.GatewayLocation{client.GatewayExternal, client.GatewayInternal, client.GatewayUnknown} {
		if !model.SecurityGatewayDataLocation(c).Valid() || !c.Valid() {
			t.Errorf("gateway location %q is not in the spec's enum", c)
		}
	}
	for _, c := range []client.MessageType{client.MessageInfo, client.MessageWarning, client.MessageError} {
		if !model.SessionSendMessageSpecMessageType(c).Valid() || !c.Valid() {
			t.Errorf("message type %q is not in the spec's enum", c)
		}
	}
}

func TestEnumsRefuseOtherValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		valid bool
	}{
		{"a state in lower case", client.SessionState("connected").Valid()},
		{"no state", client.SessionState("").Valid()},
		{"an unknown session type", client.SessionType("KIOSK").Valid()},
		{"a protocol in mixed case", client.SessionProtocol("PCoIP").Valid()},
		{"a message type in lower case", client.MessageType("info").Valid()},
		{"a client type as Go would spell it", client.HorizonClientType("HTMLAccess").Valid()},
		{"an unknown gateway location", client.GatewayLocation("DMZ").Valid()},
	}
	for _, tt := range tests {
		if tt.valid {
			t.Errorf("%s: Valid() = true, want false", tt.name)
		}
	}
}
