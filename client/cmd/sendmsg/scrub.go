package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/hzkit/sendmessage/gen/model"
)

// pseudonymClasses say what each identifying field of SessionInfo holds, and
// so the form of its pseudonym. Fields of one class share pseudonyms: the
// user of user_id and of broker_user_id, the host of machine_id and of
// rds_server_id, get the same one. A string field not named here or in
// keptFields (one a later contract adds) is replaced too, as "value".
var pseudonymClasses = map[string]string{
	"id":                                "session",
	"user_id":                           "sid",
	"broker_user_id":                    "sid",
	"machine_id":                        "machine",
	"rds_server_id":                     "machine",
	"client_data.name":                  "client",
	"client_data.address":               "address",
	"client_data.location_id":           "location",
	"security_gateway_data.address":     "address",
	"security_gateway_data.domain_name": "dns",
	"desktop_pool_id":                   "pool",
	"farm_id":                           "farm",
	"access_group_id":                   "access-group",
}

// poolClasses are kept as they are with --keep-pool-names: they name parts
// of the organisation, not people or hosts.
var poolClasses = map[string]bool{"pool": true, "farm": true, "access-group": true}

// keptFields say nothing of anyone: versions, and the applications of an
// application session.
var keptFields = map[string]bool{"agent_version": true, "client_data.version": true, "application_names": true}

// scrubber rewrites sessions as the contract's SessionInfo, with identifying
// values replaced by keyed pseudonyms, and counts what it left out.
type scrubber struct {
	key       []byte
	keepPools bool
	shift     time.Duration
	// unknown and refused count, by dotted path, the sessions that had a
	// field the contract does not have, or a value it does not allow there.
	unknown, refused map[string]int
}

func newScrubber(key []byte, keepPools bool, shift time.Duration) *scrubber {
	return &scrubber{key: key, keepPools: keepPools, shift: shift, unknown: map[string]int{}, refused: map[string]int{}}
}

// sessionType is SessionInfo, whose fields and their types say what a
// snapshot keeps.
var sessionType = reflect.TypeFor[model.SessionInfo]()

// session returns raw scrubbed.
func (s *scrubber) session(raw map[string]any) map[string]any {
	return s.object(sessionType, raw, "")
}

func (s *scrubber) object(t reflect.Type, raw map[string]any, at string) map[string]any {
	fields := jsonFields(t)
	out := make(map[string]any, len(raw))
	for name, v := range raw {
		path := name
		if at != "" {
			path = at + "." + name
		}
		ft, ok := fields[name]
		if !ok {
			s.unknown[path]++
			continue
		}
		if scrubbed, ok := s.value(ft, v, path); ok {
			out[name] = scrubbed
		} else {
			s.refused[path]++
		}
	}
	return out
}

// value scrubs one value of the Go type t; false when it does not fit t.
func (s *scrubber) value(t reflect.Type, v any, path string) (any, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		return s.object(t, m, path), true
	case reflect.String:
		text, ok := v.(string)
		if !ok || !validEnum(t, text) {
			return nil, false
		}
		return s.text(path, text, enumType(t)), true
	case reflect.Int64, reflect.Int32, reflect.Int:
		n, ok := v.(json.Number)
		if !ok {
			return nil, false
		}
		i, err := n.Int64()
		if err != nil {
			return nil, false
		}
		if strings.HasSuffix(path, "_time") {
			i += s.shift.Milliseconds()
		}
		return i, true
	case reflect.Bool:
		b, ok := v.(bool)
		return b, ok
	case reflect.Slice:
		items, ok := v.([]any)
		if !ok {
			return nil, false
		}
		out := make([]any, 0, len(items))
		for _, item := range items {
			scrubbed, ok := s.value(t.Elem(), item, path)
			if !ok {
				return nil, false
			}
			out = append(out, scrubbed)
		}
		return out, true
	}
	return nil, false
}

// validEnum says whether text is a value of t, when t is one of the
// generated enums (those have Valid); any text fits a plain string.
func validEnum(t reflect.Type, text string) bool {
	valid, ok := t.MethodByName("Valid")
	if !ok {
		return true
	}
	result := valid.Func.Call([]reflect.Value{reflect.ValueOf(text).Convert(t)})
	return len(result) == 1 && result[0].Bool()
}

// enumType says whether t is one of the generated enums.
func enumType(t reflect.Type) bool {
	_, ok := t.MethodByName("Valid")
	return ok
}

// jsonFields maps the JSON names of a generated struct to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := make(map[string]reflect.Type, t.NumField())
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			fields[name] = f.Type
		}
	}
	return fields
}

// text is the value a snapshot keeps for a string field; enum says the
// field is one of the generated enums.
func (s *scrubber) text(path, value string, enum bool) string {
	class, named := pseudonymClasses[path]
	switch {
	case keptFields[path]:
		return value
	case named && s.keepPools && poolClasses[class]:
		return value
	case !named:
		if enum {
			return value // an enum value says nothing of anyone
		}
		class = "value"
	}
	return s.pseudonym(class, value)
}

var uuidForm = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

var hexForm = regexp.MustCompile(`^[0-9a-fA-F]+$`)

// pseudonym is a stable stand-in for value: a keyed hash (HMAC-SHA256) of
// the class and the value, written in the form of the class, so that the
// same value gets the same pseudonym under the same key, and no one without
// the key can tell which value it stands for.
func (s *scrubber) pseudonym(class, value string) string {
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(class))
	mac.Write([]byte{0})
	mac.Write([]byte(value))
	sum := mac.Sum(nil)
	short := hex.EncodeToString(sum[:6])
	switch class {
	case "session":
		if uuidForm.MatchString(value) {
			b := sum[:16]
			b[6] = b[6]&0x0f | 0x40
			b[8] = b[8]&0x3f | 0x80
			return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
		}
		return "session-" + hex.EncodeToString(sum[:8])
	case "sid":
		// A domain SID: three sub-authorities, and a relative id past the
		// well-known ones.
		return fmt.Sprintf("S-1-5-21-%d-%d-%d-%d", binary.BigEndian.Uint32(sum[0:4]), binary.BigEndian.Uint32(sum[4:8]),
			binary.BigEndian.Uint32(sum[8:12]), 1000+binary.BigEndian.Uint32(sum[12:16])%2_000_000_000)
	case "address":
		addr, err := netip.ParseAddr(value)
		switch {
		case err == nil && addr.Is4():
			return netip.AddrFrom4([4]byte{10, sum[0], sum[1], sum[2]}).String()
		case err == nil:
			var b [16]byte
			b[0] = 0xfd
			copy(b[1:], sum[:15])
			return netip.AddrFrom16(b).String()
		}
		return "address-" + short
	case "dns":
		return "host-" + short + ".example.invalid"
	case "location":
		if hexForm.MatchString(value) {
			full := hex.EncodeToString(sum) + hex.EncodeToString(sum)
			return full[:min(len(value), len(full))]
		}
		return "location-" + short
	}
	return class + "-" + short
}
