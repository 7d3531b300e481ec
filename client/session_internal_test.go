package client

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hzkit/sendmessage/gen/model"
)

// carried says where Session carries each value of the spec's SessionInfo,
// by JSON path ("client_data.address" for a nested field). When the spec
// gains a field, TestSessionCarriesEverySessionInfoField names it until
// Session, sessionFromModel and this table carry it.
var carried = map[string]func(Session) any{
	"id":                func(s Session) any { return s.ID },
	"user_id":           func(s Session) any { return s.UserID },
	"broker_user_id":    func(s Session) any { return s.BrokerUserID },
	"access_group_id":   func(s Session) any { return s.AccessGroupID },
	"desktop_pool_id":   func(s Session) any { return s.DesktopPoolID },
	"farm_id":           func(s Session) any { return s.FarmID },
	"rds_server_id":     func(s Session) any { return s.RDSServerID },
	"machine_id":        func(s Session) any { return s.MachineID },
	"agent_version":     func(s Session) any { return s.AgentVersion },
	"session_type":      func(s Session) any { return s.Type },
	"session_state":     func(s Session) any { return s.State },
	"session_protocol":  func(s Session) any { return s.Protocol },
	"start_time":        func(s Session) any { return s.StartTime.UnixMilli() },
	"disconnected_time": func(s Session) any { return s.DisconnectedTime.UnixMilli() },

	"idle_duration":            func(s Session) any { return s.IdleMinutes },
	"last_session_duration_ms": func(s Session) any { return s.LastConnectionDuration.Milliseconds() },
	"brokered_remotely":        func(s Session) any { return s.BrokeredRemotely },
	"resourced_remotely":       func(s Session) any { return s.ResourcedRemotely },
	"unauthenticated":          func(s Session) any { return s.Unauthenticated },
	"application_names":        func(s Session) any { return s.ApplicationNames },

	"client_data.address":     func(s Session) any { return s.Device.Address },
	"client_data.location_id": func(s Session) any { return s.Device.LocationID },
	"client_data.name":        func(s Session) any { return s.Device.Name },
	"client_data.type":        func(s Session) any { return s.Device.Type },
	"client_data.version":     func(s Session) any { return s.Device.Version },

	"security_gateway_data.address":     func(s Session) any { return s.Gateway.Address },
	"security_gateway_data.domain_name": func(s Session) any { return s.Gateway.DomainName },
	"security_gateway_data.location":    func(s Session) any { return s.Gateway.Location },
}

func TestSessionCarriesEverySessionInfoField(t *testing.T) {
	t.Parallel()
	var m model.SessionInfo
	f := filler{leaves: map[string]any{}}
	f.fill(t, reflect.ValueOf(&m).Elem(), "")
	s := sessionFromModel(m)

	for _, path := range slices.Sorted(maps.Keys(f.leaves)) {
		get, ok := carried[path]
		if !ok {
			t.Errorf("model.SessionInfo has %q, which Session does not carry: add it to Session, sessionFromModel and carried", path)
			continue
		}
		if got, want := plain(reflect.ValueOf(get(s))), f.leaves[path]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Session has %#v, want %#v from model.SessionInfo", path, got, want)
		}
	}
	for path := range carried {
		if _, ok := f.leaves[path]; !ok {
			t.Errorf("carried names %q, which model.SessionInfo no longer has", path)
		}
	}
	// The other way round: a Session field that nothing fills.
	sv := reflect.ValueOf(s)
	for i := range sv.NumField() {
		if sv.Field(i).IsZero() {
			t.Errorf("sessionFromModel leaves Session.%s zero for a SessionInfo with every field set", sv.Type().Field(i).Name)
		}
	}
}

func TestSessionFromModelWithAbsentFields(t *testing.T) {
	t.Parallel()
	got := sessionFromModel(model.SessionInfo{ID: "s1", SessionState: model.SessionInfoSessionStateCONNECTED})
	if diff := cmp.Diff(Session{ID: "s1", State: SessionConnected}, got); diff != "" {
		t.Errorf("Session (-want +got):\n%s", diff)
	}
	if !got.StartTime.IsZero() || !got.DisconnectedTime.IsZero() {
		t.Errorf("absent times = %v, %v, want zero times", got.StartTime, got.DisconnectedTime)
	}
}

// Durations in milliseconds become time.Duration; one past what a Duration
// holds is the longest Duration, never a wrapped negative one.
func TestSessionDurationsInMilliseconds(t *testing.T) {
	t.Parallel()
	const maxMillis = math.MaxInt64 / int64(time.Millisecond)
	tests := []struct {
		ms   int64
		want time.Duration
	}{
		{116320, 116320 * time.Millisecond},
		{0, 0},
		{maxMillis, time.Duration(maxMillis) * time.Millisecond},
		{maxMillis + 1, math.MaxInt64},
		{math.MaxInt64, math.MaxInt64},
		{math.MinInt64, math.MinInt64},
	}
	for _, tt := range tests {
		got := sessionFromModel(model.SessionInfo{ID: "s1", LastSessionDurationMs: &tt.ms})
		if got.LastConnectionDuration != tt.want {
			t.Errorf("last_session_duration_ms %d: LastConnectionDuration = %v, want %v", tt.ms, got.LastConnectionDuration, tt.want)
		}
	}
}

func TestSessionTimesAreEpochMilliseconds(t *testing.T) {
	t.Parallel()
	start, disconnected := int64(1561935600000), int64(1561935600123)
	got := sessionFromModel(model.SessionInfo{ID: "s1", StartTime: &start, DisconnectedTime: &disconnected})
	if want := time.Date(2019, 6, 30, 23, 0, 0, 0, time.UTC); !got.StartTime.Equal(want) {
		t.Errorf("StartTime = %v, want %v", got.StartTime, want)
	}
	if want := time.Date(2019, 6, 30, 23, 0, 0, 123e6, time.UTC); !got.DisconnectedTime.Equal(want) {
		t.Errorf("DisconnectedTime = %v, want %v", got.DisconnectedTime, want)
	}
}

// filler gives every value inside a generated model a value of its own, so
// that a value that lands in the wrong field shows, and records each by its
// JSON path.
type filler struct {
	n      int
	leaves map[string]any
}

var timeType = reflect.TypeFor[time.Time]()

func (f *filler) fill(t *testing.T, v reflect.Value, path string) {
	t.Helper()
	switch {
	case isScalar(v.Type()):
		f.set(v)
	case v.Kind() == reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		f.fill(t, v.Elem(), path)
		return
	case v.Kind() == reflect.Struct:
		for i := range v.NumField() {
			field := v.Type().Field(i)
			name, _, _ := strings.Cut(field.Tag.Get("json"), ",")
			switch {
			case !field.IsExported() || name == "-":
				continue
			case field.Anonymous && name == "":
				f.fill(t, v.Field(i), path) // embedded: its fields are the parent's
			case name == "":
				t.Fatalf("%s: field %s has no JSON name", path, field.Name)
			case path == "":
				f.fill(t, v.Field(i), name)
			default:
				f.fill(t, v.Field(i), path+"."+name)
			}
		}
		return
	case v.Kind() == reflect.Slice && isScalar(v.Type().Elem()):
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range v.Len() {
			f.set(v.Index(i))
		}
	case v.Kind() == reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		f.fill(t, v.Index(0), path+"[0]")
		return
	default:
		t.Fatalf("%s: cannot fill a %s; teach filler.fill", path, v.Type())
	}
	f.leaves[path] = plain(v)
}

// set gives a scalar a value that no other one has, and that is not zero.
func (f *filler) set(v reflect.Value) {
	f.n++
	big := 1_700_000_000_000 + int64(f.n) // a time in milliseconds, where it fits
	switch {
	case v.Type() == timeType:
		v.Set(reflect.ValueOf(time.UnixMilli(big)))
	case v.Kind() == reflect.String:
		v.SetString(fmt.Sprintf("value-%d", f.n))
	case v.CanInt() && !v.OverflowInt(big):
		v.SetInt(big)
	case v.CanInt():
		v.SetInt(int64(f.n))
	case v.CanUint():
		v.SetUint(uint64(f.n))
	case v.CanFloat():
		v.SetFloat(float64(f.n) + 0.5)
	case v.Kind() == reflect.Bool:
		v.SetBool(true) // the other value is zero, which would hide a field left out
	}
}

func isScalar(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return true
	}
	return t == timeType
}

// plain strips a value of its named type, so that a client type compares
// equal to the generated type it was converted from.
func plain(v reflect.Value) any {
	switch {
	case !v.IsValid():
		return nil
	case v.Type() == timeType:
		tm, _ := v.Interface().(time.Time) // the case checked the type
		return tm.UnixMilli()
	case v.Kind() == reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return plain(v.Elem())
	case v.Kind() == reflect.Slice || v.Kind() == reflect.Array:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = plain(v.Index(i))
		}
		return out
	case v.Kind() == reflect.String:
		return v.String()
	case v.CanInt():
		return v.Int()
	case v.CanUint():
		return v.Uint()
	case v.CanFloat():
		return v.Float()
	case v.Kind() == reflect.Bool:
		return v.Bool()
	}
	return v.Interface()
}

// The filter names the builders accept are the fields Session carries.
func TestFilterFieldsAreSessionInfos(t *testing.T) {
	t.Parallel()
	got, want := slices.Sorted(maps.Keys(filterFields())), slices.Sorted(maps.Keys(carried))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("filter names (-carried +filterFields):\n%s", diff)
	}
	for name, held := range filterFields() {
		if held == otherField {
			t.Errorf("%s: no FilterValue carries its type", name)
		}
	}
}

// The fields whose filters take a time.Time or a time.Duration are those
// that Session reads as one, and no others.
func TestMillisecondFieldsAreSessions(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		names map[string]bool
		typ   reflect.Type
		want  func(int64) any
	}{
		{timeFields, timeType, func(ms int64) any { return time.UnixMilli(ms) }},
		{durationFields, reflect.TypeFor[time.Duration](), func(ms int64) any { return time.Duration(ms) * time.Millisecond }},
	} {
		filled := map[string]bool{}
		for name := range tt.names {
			const ms = 1561935600000
			var m model.SessionInfo
			if err := json.Unmarshal(fmt.Appendf(nil, `{"id":"s1","session_state":"CONNECTED",%q:%d}`, name, ms), &m); err != nil {
				t.Fatal(err)
			}
			s := reflect.ValueOf(sessionFromModel(m))
			for i := range s.NumField() {
				if f := s.Field(i); f.Type() == tt.typ && !f.IsZero() {
					filled[s.Type().Field(i).Name] = true
					if !reflect.DeepEqual(f.Interface(), tt.want(ms)) {
						t.Errorf("%s = %d: Session.%s = %v, want %v", name, ms, s.Type().Field(i).Name, f.Interface(), tt.want(ms))
					}
				}
			}
		}
		st := reflect.TypeFor[Session]()
		for i := range st.NumField() {
			if st.Field(i).Type == tt.typ && !filled[st.Field(i).Name] {
				t.Errorf("Session.%s is a %s, but no filter name in the table of %s fields fills it", st.Field(i).Name, tt.typ, tt.typ)
			}
		}
		if len(filled) != len(tt.names) {
			t.Errorf("%d %s fields named, %d of Session filled", len(tt.names), tt.typ, len(filled))
		}
	}
}
