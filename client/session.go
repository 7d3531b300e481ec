package client

import (
	"math"
	"time"

	"github.com/hzkit/sendmessage/gen/model"
)

// Session is one Horizon session, as the inventory describes it. String
// fields are empty and times zero when Horizon did not send them. Type, State
// and Protocol hold what Horizon sent, even a value newer than this client
// (their Valid reports false then). Filters name a field as Horizon's JSON
// does; each field says its filter name, and Filter which filters Horizon
// documents for it.
type Session struct {
	// ID identifies the session; SendMessage takes it. Filter name: "id".
	ID string

	// UserID is the SID of the user who owns the session. Filter name:
	// "user_id".
	UserID string

	// BrokerUserID is the SID of the user the Connection Server
	// authenticated. Filter name: "broker_user_id".
	BrokerUserID string

	// AccessGroupID is the access group the session belongs to. Filter name:
	// "access_group_id".
	AccessGroupID string

	// DesktopPoolID is the desktop pool of a desktop session; empty for an
	// application session. Filter name: "desktop_pool_id".
	DesktopPoolID string

	// FarmID is the farm of an application session; empty for a desktop
	// session. Filter name: "farm_id".
	FarmID string

	// RDSServerID is the RDS host of a session on one; empty for a session
	// on a virtual desktop. Filter name: "rds_server_id".
	RDSServerID string

	// MachineID is the virtual desktop machine that hosts the session; empty
	// for a session on an RDS host. Filter name: "machine_id".
	MachineID string

	// AgentVersion is the version of the Horizon Agent that serves the
	// session. Filter name: "agent_version".
	AgentVersion string

	// Type says whether the session is a desktop or an application session;
	// empty when Horizon did not say. Filter name: "session_type".
	Type SessionType

	// State is the session's state: only a connected session shows a
	// message. Filter name: "session_state", the one field on which Horizon
	// documents NotEquals besides Equals.
	State SessionState

	// Protocol is the display protocol; empty when Horizon did not say.
	// Filter name: "session_protocol".
	Protocol SessionProtocol

	// StartTime is when the session started, to the millisecond. Filter name:
	// "start_time", which filters take as a time.Time (sent in milliseconds
	// since the Unix epoch).
	StartTime time.Time

	// DisconnectedTime is when the session was last disconnected, to the
	// millisecond; zero when it never was or Horizon did not say. Filter
	// name: "disconnected_time", which filters take as a time.Time.
	DisconnectedTime time.Time

	// IdleMinutes is how long the user has been idle, in minutes, as Horizon
	// sends it (its REST reference names no unit; its SOAP API documents
	// minutes); 0 when Horizon did not say. Filter name: "idle_duration",
	// which filters take as an integer.
	IdleMinutes int64

	// LastConnectionDuration is how long the session has been connected, or,
	// when it is disconnected, how long its last connection lasted; zero when
	// Horizon did not say. Filter name: "last_session_duration_ms", which
	// filters take as a time.Duration (sent in milliseconds).
	LastConnectionDuration time.Duration

	// BrokeredRemotely says whether a remote pod of a Cloud Pod Architecture
	// brokered the session. Filter name: "brokered_remotely".
	BrokeredRemotely bool

	// ResourcedRemotely says whether the session runs on a resource of a
	// remote pod. Filter name: "resourced_remotely".
	ResourcedRemotely bool

	// Unauthenticated says whether the session is that of an Unauthenticated
	// Access user. Filter name: "unauthenticated".
	Unauthenticated bool

	// ApplicationNames are the applications launched in an application
	// session; nil for a desktop session. Filter name: "application_names",
	// with Contains only, which selects the sessions whose list holds a name.
	ApplicationNames []string

	// Device is the client device from which the session is used, and the
	// Horizon Client on it; its zero value when Horizon did not say. Filter
	// names: "client_data.address" and so on.
	Device Device

	// Gateway is the security gateway the client connects through; its zero
	// value when there is none or Horizon did not say. Filter names:
	// "security_gateway_data.address" and so on.
	Gateway SecurityGateway
}

// Device is the client device a session is used from, and the Horizon
// Client on it: Horizon's client_data. Fields are empty when Horizon did not
// send them.
type Device struct {
	// Address is the device's IP address. Filter name:
	// "client_data.address".
	Address string
	// LocationID is the location the Horizon Client reports. Filter name:
	// "client_data.location_id".
	LocationID string
	// Name is the device's host name. Filter name: "client_data.name".
	Name string
	// Type is the kind of device, by the Horizon Client it runs. Filter
	// name: "client_data.type".
	Type DeviceType
	// Version is the Horizon Client's version. Filter name:
	// "client_data.version".
	Version string
}

// DeviceType is the kind of client device a session is used from, named by
// the Horizon Client it runs.
type DeviceType string

// DeviceWindows is Horizon Client for Windows.
const DeviceWindows DeviceType = "WINDOWS"

// DeviceMac is Horizon Client for macOS.
const DeviceMac DeviceType = "MAC"

// DeviceHTMLAccess is HTML Access: Horizon in a web browser.
const DeviceHTMLAccess DeviceType = "HTMLACCESS"

// DeviceLinux is Horizon Client for Linux.
const DeviceLinux DeviceType = "LINUX"

// DeviceIOS is Horizon Client for iOS.
const DeviceIOS DeviceType = "IOS"

// DeviceAndroid is Horizon Client for Android.
const DeviceAndroid DeviceType = "ANDROID"

// DeviceOther is any other device.
const DeviceOther DeviceType = "OTHER"

// Valid reports whether t is a device type the API defines.
func (t DeviceType) Valid() bool { return model.ClientDataType(t).Valid() }

// SecurityGateway describes the security gateway a session's client connects
// through. Fields are empty when Horizon did not send them.
type SecurityGateway struct {
	// Address is the gateway's IP address. Filter name:
	// "security_gateway_data.address".
	Address string
	// DomainName is the gateway's DNS name. Filter name:
	// "security_gateway_data.domain_name".
	DomainName string
	// Location says which side of the network the gateway serves. Filter
	// name: "security_gateway_data.location".
	Location GatewayLocation
}

// GatewayLocation says which clients a security gateway serves.
type GatewayLocation string

// GatewayExternal is a gateway for clients outside the corporate network.
const GatewayExternal GatewayLocation = "EXTERNAL"

// GatewayInternal is a gateway for clients inside it.
const GatewayInternal GatewayLocation = "INTERNAL"

// GatewayUnknown is a gateway whose side Horizon does not know.
const GatewayUnknown GatewayLocation = "UNKNOWN"

// Valid reports whether l is a gateway location the API defines.
func (l GatewayLocation) Valid() bool { return model.SecurityGatewayDataLocation(l).Valid() }

// SessionState is a session's state. Filters take it as a value, as in
// Equals("session_state", SessionConnected).
type SessionState string

// SessionConnected is a session to which a Horizon Client is connected: it
// can show messages.
const SessionConnected SessionState = "CONNECTED"

// SessionDisconnected is a session to which no client is connected.
const SessionDisconnected SessionState = "DISCONNECTED"

// SessionPending is a session being set up.
const SessionPending SessionState = "PENDING"

// Valid reports whether s is a state the API defines.
func (s SessionState) Valid() bool { return model.SessionInfoSessionState(s).Valid() }

// SessionType says what a session serves: a whole desktop or applications.
type SessionType string

// DesktopSession is a desktop or RDS desktop session.
const DesktopSession SessionType = "DESKTOP"

// ApplicationSession is a session of published applications.
const ApplicationSession SessionType = "APPLICATION"

// Valid reports whether t is a session type the API defines.
func (t SessionType) Valid() bool { return model.SessionInfoSessionType(t).Valid() }

// SessionProtocol is the display protocol of a session.
type SessionProtocol string

// ProtocolBlast is VMware Blast.
const ProtocolBlast SessionProtocol = "BLAST"

// ProtocolPCoIP is PCoIP.
const ProtocolPCoIP SessionProtocol = "PCOIP"

// ProtocolRDP is Microsoft RDP.
const ProtocolRDP SessionProtocol = "RDP"

// ProtocolConsole is the machine's console.
const ProtocolConsole SessionProtocol = "CONSOLE"

// ProtocolUnknown is a protocol Horizon does not know.
const ProtocolUnknown SessionProtocol = "UNKNOWN"

// Valid reports whether p is a protocol the API defines.
func (p SessionProtocol) Valid() bool { return model.SessionInfoSessionProtocol(p).Valid() }

// sessionFromModel is the one place that reads the generated SessionInfo. A
// field the spec adds must be added here and to Session:
// TestSessionCarriesEverySessionInfoField fails until it is.
func sessionFromModel(m model.SessionInfo) Session {
	return Session{
		ID:               m.ID,
		UserID:           value(m.UserID),
		BrokerUserID:     value(m.BrokerUserID),
		AccessGroupID:    value(m.AccessGroupID),
		DesktopPoolID:    value(m.DesktopPoolID),
		FarmID:           value(m.FarmID),
		RDSServerID:      value(m.RDSServerID),
		MachineID:        value(m.MachineID),
		AgentVersion:     value(m.AgentVersion),
		Type:             SessionType(value(m.SessionType)),
		State:            SessionState(m.SessionState),
		Protocol:         SessionProtocol(value(m.SessionProtocol)),
		StartTime:        epochMillis(m.StartTime),
		DisconnectedTime: epochMillis(m.DisconnectedTime),

		IdleMinutes:            value(m.IdleDuration),
		LastConnectionDuration: millis(m.LastSessionDurationMs),
		BrokeredRemotely:       value(m.BrokeredRemotely),
		ResourcedRemotely:      value(m.ResourcedRemotely),
		Unauthenticated:        value(m.Unauthenticated),
		ApplicationNames:       value(m.ApplicationNames),
		Device:                 deviceFromModel(value(m.ClientData)),
		Gateway:                gatewayFromModel(value(m.SecurityGatewayData)),
	}
}

func deviceFromModel(m model.ClientData) Device {
	return Device{
		Address:    value(m.Address),
		LocationID: value(m.LocationID),
		Name:       value(m.Name),
		Type:       DeviceType(value(m.Type)),
		Version:    value(m.Version),
	}
}

func gatewayFromModel(m model.SecurityGatewayData) SecurityGateway {
	return SecurityGateway{
		Address:    value(m.Address),
		DomainName: value(m.DomainName),
		Location:   GatewayLocation(value(m.Location)),
	}
}

func sessionsFromModel(ms []model.SessionInfo) []Session {
	out := make([]Session, len(ms))
	for i, m := range ms {
		out[i] = sessionFromModel(m)
	}
	return out
}

// value returns what p points to, or the zero value for an absent field.
func value[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

// epochMillis reads Horizon's milliseconds since the Unix epoch; an absent
// time is the zero time.Time, not 1970.
func epochMillis(ms *int64) time.Time {
	if ms == nil {
		return time.Time{}
	}
	return time.UnixMilli(*ms)
}

// millis reads a duration Horizon gives in milliseconds. One too long for a
// time.Duration (about 292 years) is the longest there is, not a wrapped
// negative one.
func millis(ms *int64) time.Duration {
	switch {
	case ms == nil:
		return 0
	case *ms > math.MaxInt64/int64(time.Millisecond):
		return math.MaxInt64
	case *ms < math.MinInt64/int64(time.Millisecond):
		return math.MinInt64
	}
	return time.Duration(*ms) * time.Millisecond
}
