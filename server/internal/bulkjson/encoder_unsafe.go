//go:build bulkjson_unsafe

package bulkjson

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unsafe"

	"github.com/hzkit/sendmessage/gen/model"
)

// itemEncoder encodes the items of the send-message answer; nil when the
// generated type has a field it cannot write, and then encoding/json does.
// Built with the bulkjson_unsafe tag, it reads fields through unsafe, for
// comparison with the typed encoder.
var itemEncoder = newStructEncoder[model.BulkItemResponseInfo]()

// structEncoder writes a T, a struct of string and integer fields and of
// pointers that are left out when nil, as encoding/json does. It is derived
// from T's fields and json tags by reflection; a T with any other field, or
// with a field that encodes itself, gets none. It reads the fields at the
// offsets reflection gave, without reflection per value.
type structEncoder[T any] struct {
	fields   []fieldEncoder // the non-pointer fields, in order
	pointers []uintptr      // offsets of the pointer fields
}

type fieldEncoder struct {
	offset uintptr
	key    string // `"name":`
	kind   reflect.Kind
}

func newStructEncoder[T any]() *structEncoder[T] {
	t := reflect.TypeFor[T]()
	if t.Kind() != reflect.Struct || encodesItself(t) {
		return nil
	}
	e := &structEncoder[T]{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || f.Anonymous || name == "" || name == "-" {
			return nil
		}
		key, err := json.Marshal(name)
		if err != nil {
			return nil
		}
		switch kind := f.Type.Kind(); kind {
		case reflect.String, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			if opts != "" || encodesItself(f.Type) {
				return nil
			}
			e.fields = append(e.fields, fieldEncoder{offset: f.Offset, key: string(key) + ":", kind: kind})
		case reflect.Pointer:
			if opts != "omitempty" {
				return nil
			}
			e.pointers = append(e.pointers, f.Offset)
		default:
			return nil
		}
	}
	return e
}

func (e *structEncoder[T]) append(b []byte, v *T) ([]byte, error) {
	at := unsafe.Pointer(v)
	for _, offset := range e.pointers {
		if *(*unsafe.Pointer)(unsafe.Add(at, offset)) != nil {
			// Rare (a failed item): let encoding/json write all of it.
			data, err := json.Marshal(v)
			if err != nil {
				return b, fmt.Errorf("encode %T: %w", v, err)
			}
			return append(b, data...), nil
		}
	}
	b = append(b, '{')
	for i, f := range e.fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, f.key...)
		field := unsafe.Add(at, f.offset)
		switch f.kind {
		case reflect.String:
			var err error
			if b, err = appendString(b, *(*string)(field)); err != nil {
				return b, err
			}
		case reflect.Int:
			b = strconv.AppendInt(b, int64(*(*int)(field)), 10)
		case reflect.Int8:
			b = strconv.AppendInt(b, int64(*(*int8)(field)), 10)
		case reflect.Int16:
			b = strconv.AppendInt(b, int64(*(*int16)(field)), 10)
		case reflect.Int32:
			b = strconv.AppendInt(b, int64(*(*int32)(field)), 10)
		default: // reflect.Int64
			b = strconv.AppendInt(b, *(*int64)(field), 10)
		}
	}
	return append(b, '}'), nil
}
