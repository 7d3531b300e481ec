// Package record keeps the messages delivered, bounded in count and in bytes, for inspection.
package record

import (
	"math"
	"reflect"
	"sync"

	"github.com/hzkit/sendmessage/gen/model"
)

// DefaultMaxRecordedMessages caps the record of delivered messages when
// the server is given no other cap. A kept delivery costs about 100 bytes plus
// its message text, which the deliveries of one request share.
const DefaultMaxRecordedMessages = 100000

// DefaultMaxRecordedBytes caps the record in bytes when the server is given
// no other cap: each delivery counts recordOverhead plus the length of its
// texts, as if it held its own copy of the message (the deliveries of one
// request share it, so the record holds at most this much).
const DefaultMaxRecordedBytes int64 = 32 << 20

// recordOverhead is what a delivery costs the record besides its texts.
var recordOverhead = int64(reflect.TypeFor[model.DeliveredMessage]().Size()) + 16

// recordCost is what d counts against the record's cap in bytes.
func recordCost(d *model.DeliveredMessage) int64 {
	n := recordOverhead + int64(len(d.SessionID)+len(d.Message)+len(d.MessageType))
	if d.UserID != nil {
		n += int64(len(*d.UserID))
	}
	return n
}

// DeliveredQuery selects a page of the record of deliveries.
type DeliveredQuery struct {
	// SessionID selects the deliveries to one session; "" selects all.
	SessionID string
	// After selects deliveries whose sequence number is greater.
	After int64
	// Limit is the most deliveries returned, at least 1.
	Limit int
}

// DeliveredPage is a page of the record.
type DeliveredPage struct {
	// Messages are the deliveries selected, oldest first.
	Messages []model.DeliveredMessage
	// More says whether more deliveries selected by the same query follow
	// the last of Messages.
	More bool
	// Evicted is how many deliveries the record has evicted since it was
	// made, over all sessions.
	Evicted int64
}

// Deliveries is the record of delivered messages, in memory: it holds at most a
// fixed number of deliveries and of bytes, evicting the oldest first. It is
// safe for concurrent use.
type Deliveries struct {
	maxMessages int
	maxBytes    int64

	mu sync.Mutex
	// ring holds the record, oldest first from ring[head], count of them;
	// it grows by doubling up to maxMessages. Sequence numbers in it are
	// consecutive.
	ring     []model.DeliveredMessage
	head     int
	count    int
	bytes    int64
	sequence int64
	evicted  int64
}

// New returns a record of at most maxMessages deliveries (at least 1) and
// maxBytes bytes of them (see DefaultMaxRecordedBytes; 0 or less: no cap in
// bytes).
func New(maxMessages int, maxBytes int64) *Deliveries {
	if maxBytes <= 0 {
		maxBytes = math.MaxInt64
	}
	return &Deliveries{maxMessages: max(maxMessages, 1), maxBytes: maxBytes}
}

// Record appends deliveries in order, numbering them from the next
// sequence number. One call is atomic: readers see all of it or none.
// Eviction costs O(1) per delivery.
func (s *Deliveries) Record(deliveries []model.DeliveredMessage) {
	if len(deliveries) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var cost int64
	for i := range deliveries {
		s.sequence++
		deliveries[i].Sequence = s.sequence
		cost += recordCost(&deliveries[i])
	}
	s.reserve(s.count + len(deliveries))
	switch n := len(deliveries); {
	case s.count+n <= len(s.ring):
		// Room for all: copied in at most two runs.
		s.copyIn(s.head+s.count, deliveries)
		s.count += n
		s.bytes += cost
	case s.count == s.maxMessages && n <= s.count:
		// Full by count: the batch overwrites the oldest n in place.
		for i := range n {
			cost -= recordCost(s.at(i))
		}
		s.copyIn(s.head, deliveries)
		s.head = s.wrap(s.head + n)
		s.evicted += int64(n)
		s.bytes += cost
	default:
		for i := range deliveries {
			s.push(&deliveries[i])
		}
		return
	}
	for s.bytes > s.maxBytes && s.count > 1 {
		s.evictOldest()
	}
}

// wrap maps a position past the ring's end back into it.
func (s *Deliveries) wrap(i int) int {
	if i >= len(s.ring) {
		i -= len(s.ring)
	}
	return i
}

// copyIn copies deliveries into the ring from position at (which may be past
// its end), wrapping once. s.mu must be held.
func (s *Deliveries) copyIn(at int, deliveries []model.DeliveredMessage) {
	at = s.wrap(at)
	n := copy(s.ring[at:], deliveries)
	copy(s.ring, deliveries[n:])
}

// reserve grows the ring, once, to room for n deliveries (at most the cap in
// count), at least doubling it. s.mu must be held.
func (s *Deliveries) reserve(n int) {
	n = min(n, s.maxMessages)
	if n <= len(s.ring) {
		return
	}
	grown := make([]model.DeliveredMessage, min(max(n, 2*len(s.ring), 64), s.maxMessages))
	if s.count > 0 {
		k := copy(grown, s.ring[s.head:min(s.head+s.count, len(s.ring))])
		copy(grown[k:s.count], s.ring)
	}
	s.ring, s.head = grown, 0
}

// push appends d, evicting the oldest deliveries to stay within both caps.
// It is on the path of every delivery: no division, and a record full by
// count overwrites its oldest entry in place. s.mu must be held.
func (s *Deliveries) push(d *model.DeliveredMessage) {
	cost := recordCost(d)
	if s.count == s.maxMessages {
		// The ring is as long as the cap: the oldest entry's slot is the
		// next one's.
		oldest := &s.ring[s.head]
		s.bytes += cost - recordCost(oldest)
		*oldest = *d
		if s.head++; s.head == len(s.ring) {
			s.head = 0
		}
		s.evicted++
	} else {
		if s.count == len(s.ring) {
			s.reserve(s.count + 1)
		}
		s.ring[s.wrap(s.head+s.count)] = *d
		s.count++
		s.bytes += cost
	}
	for s.bytes > s.maxBytes && s.count > 1 {
		s.evictOldest()
	}
}

// evictOldest drops the oldest delivery. s.mu must be held.
func (s *Deliveries) evictOldest() {
	s.bytes -= recordCost(&s.ring[s.head])
	s.ring[s.head] = model.DeliveredMessage{} // its texts may go
	if s.head++; s.head == len(s.ring) {
		s.head = 0
	}
	s.count--
	s.evicted++
}

// at returns the i-th oldest delivery kept. s.mu must be held.
func (s *Deliveries) at(i int) *model.DeliveredMessage {
	return &s.ring[s.wrap(s.head+i)]
}

// Delivered returns one page of the recorded deliveries, as one consistent
// snapshot. Only the page is copied: the time under the
// lock and the memory grow with the page, not with the record, except that a
// session's deliveries are searched for among all.
func (s *Deliveries) Delivered(q DeliveredQuery) DeliveredPage {
	limit := max(q.Limit, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	page := DeliveredPage{Messages: []model.DeliveredMessage{}, Evicted: s.evicted}
	start := 0
	if s.count > 0 {
		// Sequence numbers are consecutive: the first one past After is
		// found by subtraction.
		first := s.at(0).Sequence
		if q.After >= first {
			start = int(min(q.After-first+1, int64(s.count)))
		}
	}
	for i := start; i < s.count; i++ {
		m := s.at(i)
		if q.SessionID != "" && m.SessionID != q.SessionID {
			continue
		}
		if len(page.Messages) == limit {
			page.More = true
			break
		}
		page.Messages = append(page.Messages, *m)
	}
	return page
}

// Messages returns every recorded delivery, oldest first, all of them when
// sessionID is "", else those of that session.
func (s *Deliveries) Messages(sessionID string) []model.DeliveredMessage {
	return s.Delivered(DeliveredQuery{SessionID: sessionID, Limit: math.MaxInt}).Messages
}

// Evicted returns how many deliveries the record has evicted.
func (s *Deliveries) Evicted() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.evicted
}

// RecordedBytes returns what the kept deliveries count against the cap in
// bytes.
func (s *Deliveries) RecordedBytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

// ClearMessages forgets every recorded delivery; sequence numbers and the
// evicted count go on.
func (s *Deliveries) ClearMessages() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ring, s.head, s.count, s.bytes = nil, 0, 0, 0
}
