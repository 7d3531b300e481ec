package delivery

import "sync"

// firstOccurrence tells, id by id, whether an id of a request came earlier in
// it and where. Short lists are scanned; longer ones use a map, reused across
// requests up to a size.
type firstOccurrence struct {
	ids   []string
	index map[string]int
}

const (
	// scanAtMost is the longest list searched without a map: below it a
	// scan is cheaper than hashing.
	scanAtMost = 16
	// poolAtMost bounds the lists whose map is reused, so that one huge
	// request does not leave a huge map to every later one.
	poolAtMost = 4096
)

var indexMaps = sync.Pool{New: func() any { return map[string]int{} }}

func newFirstOccurrence(ids []string) firstOccurrence {
	switch {
	case len(ids) <= scanAtMost:
		return firstOccurrence{ids: ids}
	case len(ids) <= poolAtMost:
		index, _ := indexMaps.Get().(map[string]int)
		return firstOccurrence{ids: ids, index: index}
	default:
		return firstOccurrence{ids: ids, index: make(map[string]int, len(ids))}
	}
}

// earlier returns the index of the first occurrence of ids[i] when that is
// before i. It must be called for i = 0, 1, 2... in order.
func (f *firstOccurrence) earlier(i int) (first int, repeated bool) {
	id := f.ids[i]
	if f.index == nil {
		for j := range i {
			if f.ids[j] == id {
				return j, true
			}
		}
		return 0, false
	}
	if first, ok := f.index[id]; ok {
		return first, true
	}
	f.index[id] = i
	return 0, false
}

// release hands a reusable map back.
func (f *firstOccurrence) release() {
	if f.index != nil && len(f.ids) <= poolAtMost {
		clear(f.index)
		indexMaps.Put(f.index)
	}
	f.index = nil
}
