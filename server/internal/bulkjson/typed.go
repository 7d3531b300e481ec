package bulkjson

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/hzkit/sendmessage/gen/model"
)

// itemEncoder encodes the items of the send-message answer; nil when the
// generated type has a field it does not know, and then encoding/json does.
var itemEncoder = newTypedEncoder()

// typedEncoder writes a model.BulkItemResponseInfo as encoding/json does. It
// reads the fields by name, so that a field the spec renames or retypes breaks
// the build rather than the answer; only the member names come from the json
// tags, by reflection, once.
type typedEncoder struct {
	id, statusCode, timestamp string // `{"id":`, `,"status_code":`, `,"timestamp":`
}

// itemWrites set, each, one field that appendFields writes, in the order it
// writes them, to values of their own so that a sample tells them apart;
// itemOptionals set, each, one field that sends the item to encoding/json
// when set. Every field of the type must be set by one of them, or the typed
// encoder is off.
var (
	itemWrites = []func(*model.BulkItemResponseInfo){
		func(v *model.BulkItemResponseInfo) { v.ID = "x" },
		func(v *model.BulkItemResponseInfo) { v.StatusCode = 2 },
		func(v *model.BulkItemResponseInfo) { v.Timestamp = 3 },
	}
	itemOptionals = []func(*model.BulkItemResponseInfo){
		func(v *model.BulkItemResponseInfo) { v.ErrorMessages = new([]string) },
		func(v *model.BulkItemResponseInfo) { v.Errors = new([]model.APIError) },
	}
)

// failed reports whether any optional field of v is set, as on a failed item.
func failed(v *model.BulkItemResponseInfo) bool {
	return v.ErrorMessages != nil || v.Errors != nil
}

func (e *typedEncoder) append(b []byte, v *model.BulkItemResponseInfo) ([]byte, error) {
	if failed(v) {
		// Rare: let encoding/json write all of it.
		return appendMarshaled(b, v)
	}
	return e.appendFields(b, v)
}

// appendFields writes v as if no optional field were set.
func (e *typedEncoder) appendFields(b []byte, v *model.BulkItemResponseInfo) ([]byte, error) {
	b = append(b, e.id...)
	b, err := appendString(b, v.ID)
	if err != nil {
		return b, err
	}
	b = append(b, e.statusCode...)
	b = appendInt(b, v.StatusCode)
	b = append(b, e.timestamp...)
	b = appendInt(b, v.Timestamp)
	return append(b, '}'), nil
}

// newTypedEncoder returns nil when model.BulkItemResponseInfo has a field the
// typed encoder does not know, or one it would write otherwise than
// encoding/json.
func newTypedEncoder() *typedEncoder {
	keys, ok := memberKeys(itemWrites, itemOptionals)
	if !ok || len(keys) != 3 {
		return nil
	}
	e := &typedEncoder{id: "{" + keys[0], statusCode: "," + keys[1], timestamp: "," + keys[2]}
	// failed must see every optional field.
	for _, set := range itemOptionals {
		var v model.BulkItemResponseInfo
		set(&v)
		if !failed(&v) {
			return nil
		}
	}
	// And appendFields must write the fields in encoding/json's order and form.
	var all model.BulkItemResponseInfo
	for _, set := range itemWrites {
		set(&all)
	}
	for _, v := range []model.BulkItemResponseInfo{{}, all} {
		want, err := json.Marshal(&v)
		if err != nil {
			return nil
		}
		if got, err := e.appendFields(nil, &v); err != nil || !bytes.Equal(got, want) {
			return nil
		}
	}
	return e
}

// memberKeys returns `"name":`, from the json tag, of each field that writes
// sets, in order. It fails unless each function of writes and optionals sets
// one field of its own, the two together set every field of T, the fields of
// writes come in T in that order with no tag option and no type that encodes
// itself, and those of optionals are pointers tagged omitempty.
func memberKeys[T any](writes, optionals []func(*T)) ([]string, bool) {
	t := reflect.TypeFor[T]()
	if t.Kind() != reflect.Struct || encodesItself(t) {
		return nil, false
	}
	claimed := make([]bool, t.NumField())
	var keys []string
	last := -1
	for _, set := range writes {
		i := fieldSetBy(set)
		if i <= last { // none, several, repeated or out of order
			return nil, false
		}
		name, opts, ok := jsonName(t.Field(i))
		if !ok || opts != "" || encodesItself(t.Field(i).Type) {
			return nil, false
		}
		key, err := json.Marshal(name)
		if err != nil {
			return nil, false
		}
		keys = append(keys, string(key)+":")
		claimed[i], last = true, i
	}
	for _, set := range optionals {
		i := fieldSetBy(set)
		if i < 0 || claimed[i] {
			return nil, false
		}
		_, opts, ok := jsonName(t.Field(i))
		if !ok || opts != "omitempty" || t.Field(i).Type.Kind() != reflect.Pointer {
			return nil, false
		}
		claimed[i] = true
	}
	for _, c := range claimed {
		if !c {
			return nil, false
		}
	}
	return keys, true
}

// fieldSetBy returns the index of the one field that set makes non-zero in a
// zero T, or -1.
func fieldSetBy[T any](set func(*T)) int {
	var v T
	set(&v)
	rv := reflect.ValueOf(&v).Elem()
	field := -1
	for i := range rv.NumField() {
		if !rv.Field(i).IsZero() {
			if field >= 0 {
				return -1
			}
			field = i
		}
	}
	return field
}

// jsonName splits f's json tag; ok is false for a field encoding/json would
// name otherwise or leave out.
func jsonName(f reflect.StructField) (name, opts string, ok bool) {
	name, opts, _ = strings.Cut(f.Tag.Get("json"), ",")
	return name, opts, f.IsExported() && !f.Anonymous && name != "" && name != "-"
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

func encodesItself(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return t.Implements(jsonMarshaler) || t.Implements(textMarshaler) || pt.Implements(jsonMarshaler) || pt.Implements(textMarshaler)
}

// appendInt takes signed integers only: an unsigned one past MaxInt64 would
// not survive the conversion, and a float would not compile.
func appendInt[T ~int | ~int8 | ~int16 | ~int32 | ~int64](b []byte, n T) []byte {
	return strconv.AppendInt(b, int64(n), 10)
}

func appendMarshaled(b []byte, v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return b, fmt.Errorf("encode %T: %w", v, err)
	}
	return append(b, data...), nil
}

// appendString writes s as encoding/json does (HTML-safe): plain printable
// ASCII as it is, anything else through encoding/json itself.
func appendString(b []byte, s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if !writtenAsIs[s[i]] {
			return appendMarshaled(b, s)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), nil
}

// writtenAsIs holds the bytes that encoding/json writes unchanged in a string
// (HTML-safe): printable ASCII but the quote, the backslash, <, > and &.
var writtenAsIs = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()
