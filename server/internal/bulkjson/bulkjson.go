// Package bulkjson writes send-message answers as encoding/json would, faster.
package bulkjson

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"

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
	b, err := appendItems((*buf)[:0], items, w)
	*buf = b
	return err
}

// appendItems appends what json.Encoder.Encode writes for items to b, and
// writes b to w whenever it holds flushEvery bytes or more, and at the end.
func appendItems(b []byte, items []model.BulkItemResponseInfo, w io.Writer) ([]byte, error) {
	flush := func(b []byte) ([]byte, error) {
		if _, err := w.Write(b); err != nil {
			return b, fmt.Errorf("write response: %w", err)
		}
		return b[:0], nil
	}
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
