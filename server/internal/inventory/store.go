// Package inventory holds the sessions, their filters and the record of deliveries.
package inventory

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
const DefaultMaxRecordedBytes int64 = 64 << 20

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

// Store is the state behind the handlers: the session inventory and the record
// of delivered messages. It is safe for concurrent use.
type Store interface {
	// Session returns the session with the given id.
	Session(id string) (model.SessionInfo, bool)
	// Sessions returns every session, in inventory order. The caller must
	// not change what the sessions' pointer fields point to.
	Sessions() []model.SessionInfo
	// SessionCount returns how many sessions the inventory holds.
	SessionCount() int
	// Record appends deliveries in order, numbering them from the next
	// sequence number. One call is atomic: readers see all of it or none.
	Record(deliveries []model.DeliveredMessage)
	// Delivered returns one page of the recorded deliveries, as one
	// consistent snapshot.
	Delivered(q DeliveredQuery) DeliveredPage
	// ClearMessages forgets every recorded delivery; sequence numbers and the
	// evicted count go on.
	ClearMessages()
}

// MemoryStore keeps everything in memory. The inventory is fixed at creation
// and read without locking; the message record is behind a mutex and holds at
// most a fixed number of deliveries and of bytes, evicting the oldest first.
type MemoryStore struct {
	sessions    map[string]model.SessionInfo
	order       []string // ids in inventory order
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

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns a store holding sessions that records at most
// maxMessages deliveries (at least 1) and maxBytes bytes of them (see
// DefaultMaxRecordedBytes; 0 or less: no cap in bytes). Ids must be unique,
// as LoadData guarantees; a later duplicate replaces an earlier one. The
// store takes the sessions over: the caller must not change them afterwards.
func NewMemoryStore(sessions []model.SessionInfo, maxMessages int, maxBytes int64) *MemoryStore {
	byID := make(map[string]model.SessionInfo, len(sessions))
	order := make([]string, 0, len(sessions))
	for _, s := range sessions {
		if _, dup := byID[s.ID]; !dup {
			order = append(order, s.ID)
		}
		byID[s.ID] = s
	}
	if maxBytes <= 0 {
		maxBytes = math.MaxInt64
	}
	return &MemoryStore{sessions: byID, order: order, maxMessages: max(maxMessages, 1), maxBytes: maxBytes}
}

// Session implements Store.
func (s *MemoryStore) Session(id string) (model.SessionInfo, bool) {
	session, ok := s.sessions[id]
	return session, ok
}

// Sessions implements Store.
func (s *MemoryStore) Sessions() []model.SessionInfo {
	out := make([]model.SessionInfo, len(s.order))
	for i, id := range s.order {
		out[i] = s.sessions[id]
	}
	return out
}

// SessionCount implements Store.
func (s *MemoryStore) SessionCount() int { return len(s.sessions) }

// Record implements Store. Eviction costs O(1) per delivery.
func (s *MemoryStore) Record(deliveries []model.DeliveredMessage) {
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
func (s *MemoryStore) wrap(i int) int {
	if i >= len(s.ring) {
		i -= len(s.ring)
	}
	return i
}

// copyIn copies deliveries into the ring from position at (which may be past
// its end), wrapping once. s.mu must be held.
func (s *MemoryStore) copyIn(at int, deliveries []model.DeliveredMessage) {
	at = s.wrap(at)
	n := copy(s.ring[at:], deliveries)
	copy(s.ring, deliveries[n:])
}

// reserve grows the ring, once, to room for n deliveries (at most the cap in
// count), at least doubling it. s.mu must be held.
func (s *MemoryStore) reserve(n int) {
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
func (s *MemoryStore) push(d *model.DeliveredMessage) {
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
func (s *MemoryStore) evictOldest() {
	s.bytes -= recordCost(&s.ring[s.head])
	s.ring[s.head] = model.DeliveredMessage{} // its texts may go
	if s.head++; s.head == len(s.ring) {
		s.head = 0
	}
	s.count--
	s.evicted++
}

// at returns the i-th oldest delivery kept. s.mu must be held.
func (s *MemoryStore) at(i int) *model.DeliveredMessage {
	return &s.ring[s.wrap(s.head+i)]
}

// Delivered implements Store. Only the page is copied: the time under the
// lock and the memory grow with the page, not with the record, except that a
// session's deliveries are searched for among all.
func (s *MemoryStore) Delivered(q DeliveredQuery) DeliveredPage {
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
func (s *MemoryStore) Messages(sessionID string) []model.DeliveredMessage {
	return s.Delivered(DeliveredQuery{SessionID: sessionID, Limit: math.MaxInt}).Messages
}

// Evicted returns how many deliveries the record has evicted.
func (s *MemoryStore) Evicted() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.evicted
}

// RecordedBytes returns what the kept deliveries count against the cap in
// bytes.
func (s *MemoryStore) RecordedBytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

// ClearMessages implements Store.
func (s *MemoryStore) ClearMessages() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ring, s.head, s.count, s.bytes = nil, 0, 0, 0
}
