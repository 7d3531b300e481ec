package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/hzkit/sendmessage/gen"
)

// itemsResponse is the 200 answer of send-message. It writes what the
// generated SendMessageToSessions200JSONResponse writes, byte for byte (a test
// holds the two together), but without encoding/json's reflection on every
// item and without growing a fresh buffer per answer.
type itemsResponse []gen.BulkItemResponseInfo

var _ gen.SendMessageToSessionsResponseObject = itemsResponse(nil)

// VisitSendMessageToSessionsResponse implements
// gen.SendMessageToSessionsResponseObject. It writes in chunks of about
// flushEvery bytes, so that a large answer is never whole in memory.
func (r itemsResponse) VisitSendMessageToSessionsResponse(w http.ResponseWriter) error {
	if itemEncoder == nil {
		return gen.SendMessageToSessions200JSONResponse(r).VisitSendMessageToSessionsResponse(w)
	}
	buf := getBuffer()
	defer putBuffer(buf)
	defer putItems(r) // the answer is the items' last use
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	b, err := appendItems((*buf)[:0], r, func(b []byte) ([]byte, error) {
		if _, err := w.Write(b); err != nil {
			return b, fmt.Errorf("write response: %w", err)
		}
		return b[:0], nil
	})
	*buf = b
	return err
}

// flushEvery is the size of the chunks an answer is written in.
const flushEvery = 32 << 10

// appendItems appends what json.Encoder.Encode writes for items to b, and
// hands b to flush whenever it holds flushEvery bytes or more, and at the end.
func appendItems(b []byte, items []gen.BulkItemResponseInfo, flush func([]byte) ([]byte, error)) ([]byte, error) {
	if items == nil {
		return flush(append(b, "null\n"...))
	}
	b = append(b, '[')
	for i := range items {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = itemEncoder.append(b, reflect.ValueOf(&items[i]).Elem()); err != nil {
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

// structEncoder writes a struct of string and integer fields, and of pointers
// that are left out when nil, as encoding/json does. It is derived from the
// struct's json tags; a struct with any other field gets none.
type structEncoder struct {
	fields []fieldEncoder
}

type fieldEncoder struct {
	index int
	key   string // `"name":`
	kind  reflect.Kind
}

// itemEncoder encodes the items of the send-message answer; nil when the
// generated type has a field it cannot write, and then encoding/json does.
var itemEncoder = newStructEncoder(reflect.TypeFor[gen.BulkItemResponseInfo]())

func newStructEncoder(t reflect.Type) *structEncoder {
	e := &structEncoder{}
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
		kind := f.Type.Kind()
		switch kind {
		case reflect.String, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			if opts != "" {
				return nil
			}
		case reflect.Pointer:
			if opts != "omitempty" {
				return nil
			}
		default:
			return nil
		}
		e.fields = append(e.fields, fieldEncoder{index: i, key: string(key) + ":", kind: kind})
	}
	return e
}

func (e *structEncoder) append(b []byte, v reflect.Value) ([]byte, error) {
	for _, f := range e.fields {
		if f.kind == reflect.Pointer && !v.Field(f.index).IsNil() {
			// Rare (a failed item): let encoding/json write all of it.
			data, err := json.Marshal(v.Interface())
			if err != nil {
				return b, fmt.Errorf("encode %s: %w", v.Type(), err)
			}
			return append(b, data...), nil
		}
	}
	b = append(b, '{')
	first := true
	for _, f := range e.fields {
		fv := v.Field(f.index)
		if f.kind == reflect.Pointer {
			continue // nil, as checked above
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, f.key...)
		if f.kind == reflect.String {
			var err error
			if b, err = appendString(b, fv.String()); err != nil {
				return b, err
			}
		} else {
			b = strconv.AppendInt(b, fv.Int(), 10)
		}
	}
	return append(b, '}'), nil
}

// appendString writes s as encoding/json does (HTML-safe): plain printable
// ASCII as it is, anything else through encoding/json itself.
func appendString(b []byte, s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
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
	list := make([]gen.BulkItemResponseInfo, 0, poolItemsAtMost)
	return &list
}}

// getItems returns n zero items.
func getItems(n int) []gen.BulkItemResponseInfo {
	if n < poolItemsAtLeast || n > poolItemsAtMost {
		return make([]gen.BulkItemResponseInfo, n)
	}
	list, _ := itemLists.Get().(*[]gen.BulkItemResponseInfo)
	return (*list)[:n]
}

// putItems hands a list from getItems back. Only its first len(items) can
// have been written: they are cleared, the rest still is.
func putItems(items []gen.BulkItemResponseInfo) {
	if len(items) >= poolItemsAtLeast && cap(items) == poolItemsAtMost {
		clear(items)
		items = items[:0]
		itemLists.Put(&items)
	}
}
