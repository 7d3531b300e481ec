// Package bulkjson writes the items of a send-message answer as encoding/json
// writes them, without reflection per item and in chunks, and reuses the item
// lists of answers.
package bulkjson

import (
	"encoding"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/hzkit/sendmessage/gen/model"
)

// flushEvery is the size of the chunks an answer is written in.
const flushEvery = 32 << 10

// Write writes items to w as json.Encoder.Encode writes them, in chunks of
// about flushEvery bytes, so that a large answer is never whole in memory.
func Write(w io.Writer, items []model.BulkItemResponseInfo) error {
	if itemEncoder == nil {
		if err := json.NewEncoder(w).Encode(items); err != nil {
			return fmt.Errorf("write response: %w", err)
		}
		return nil
	}
	buf := getBuffer()
	defer putBuffer(buf)
	b, err := appendItems((*buf)[:0], items, func(b []byte) ([]byte, error) {
		if _, err := w.Write(b); err != nil {
			return b, fmt.Errorf("write response: %w", err)
		}
		return b[:0], nil
	})
	*buf = b
	return err
}

// appendItems appends what json.Encoder.Encode writes for items to b, and
// hands b to flush whenever it holds flushEvery bytes or more, and at the end.
func appendItems(b []byte, items []model.BulkItemResponseInfo, flush func([]byte) ([]byte, error)) ([]byte, error) {
	if items == nil {
		return flush(append(b, "null\n"...))
	}
	b = append(b, '[')
	for i := range items {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = itemEncoder.append(b, &items[i]); err != nil {
			return b, err
		}
		if len(b) >= flushEvery {
			if b, err = flush(b); err != nil {
				return b, err
			}
		}
	}
	return flush(append(b, "]\n"...))
}

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

// itemEncoder encodes the items of the send-message answer; nil when the
// generated type has a field it cannot write, and then encoding/json does.
var itemEncoder = newStructEncoder[model.BulkItemResponseInfo]()

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

func encodesItself(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return t.Implements(jsonMarshaler) || t.Implements(textMarshaler) || pt.Implements(jsonMarshaler) || pt.Implements(textMarshaler)
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

// appendString writes s as encoding/json does (HTML-safe): plain printable
// ASCII as it is, anything else through encoding/json itself.
func appendString(b []byte, s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if !writtenAsIs[s[i]] {
			data, err := json.Marshal(s)
			if err != nil {
				return b, fmt.Errorf("encode string: %w", err)
			}
			return append(b, data...), nil
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

// Answer buffers are reused. One that grew far past flushEvery (a failed
// item of a huge message) is left to the garbage collector.
const maxPooledBuffer = 4 * flushEvery

var buffers = sync.Pool{New: func() any {
	b := make([]byte, 0, flushEvery+flushEvery/4)
	return &b
}}

func getBuffer() *[]byte {
	buf, _ := buffers.Get().(*[]byte)
	return buf
}

func putBuffer(buf *[]byte) {
	if cap(*buf) <= maxPooledBuffer {
		buffers.Put(buf)
	}
}

// Item lists of answers from poolItemsAtLeast to poolItemsAtMost long are
// reused; shorter ones cost less to allocate than to clear and pool.
const (
	poolItemsAtLeast = 64
	poolItemsAtMost  = 4096
)

var itemLists = sync.Pool{New: func() any {
	list := make([]model.BulkItemResponseInfo, 0, poolItemsAtMost)
	return &list
}}

// GetItems returns n zero items.
func GetItems(n int) []model.BulkItemResponseInfo {
	if n < poolItemsAtLeast || n > poolItemsAtMost {
		return make([]model.BulkItemResponseInfo, n)
	}
	list, _ := itemLists.Get().(*[]model.BulkItemResponseInfo)
	return (*list)[:n]
}

// PutItems hands a list from GetItems back. Only its first len(items) can
// have been written: they are cleared, the rest still is.
func PutItems(items []model.BulkItemResponseInfo) {
	if len(items) >= poolItemsAtLeast && cap(items) == poolItemsAtMost {
		clear(items)
		items = items[:0]
		itemLists.Put(&items)
	}
}
