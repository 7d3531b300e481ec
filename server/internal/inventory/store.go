// Package inventory holds the sessions, their filters and the record of deliveries.
package inventory

import (
	"sync"

	"github.com/hzkit/sendmessage/gen/model"
)

// DefaultMaxRecordedMessages caps the record of delivered messages when
// the server is given no other cap. A kept delivery costs about 100 bytes plus
// its message text, which the deliveries of one request share.
const DefaultMaxRecordedMessages = 100000

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
	// Delivered returns the recorded deliveries, oldest first (all of them
	// when sessionID is "", else those of that session), and how many the
	// record has evicted since it was made, as one consistent snapshot.
	Delivered(sessionID string) model.DeliveredMessages
	// ClearMessages forgets every recorded delivery; sequence numbers and the
	// evicted count go on.
	ClearMessages()
}

// MemoryStore keeps everything in memory. The inventory is fixed at creation
// and read without locking; the message record is behind a mutex and holds at
// most a fixed number of deliveries, evicting the oldest first.
type MemoryStore struct {
	sessions    map[string]model.SessionInfo
	order       []string // ids in inventory order
	maxMessages int

	mu sync.Mutex
	// messages grows to maxMessages, then is a ring: each new delivery
	// overwrites the oldest one, at messages[oldest].
	messages []model.DeliveredMessage
	oldest   int
	sequence int64
	evicted  int64
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns a store holding sessions that records at most
// maxMessages deliveries (at least 1). Ids must be unique, as LoadData
// guarantees; a later duplicate replaces an earlier one. The store takes the
// sessions over: the caller must not change them afterwards.
func NewMemoryStore(sessions []model.SessionInfo, maxMessages int) *MemoryStore {
	byID := make(map[string]model.SessionInfo, len(sessions))
	order := make([]string, 0, len(sessions))
	for _, s := range sessions {
		if _, dup := byID[s.ID]; !dup {
			order = append(order, s.ID)
		}
		byID[s.ID] = s
	}
	return &MemoryStore{sessions: byID, order: order, maxMessages: max(maxMessages, 1)}
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
	for i := range deliveries {
		s.sequence++
		deliveries[i].Sequence = s.sequence
	}
	room := min(s.maxMessages-len(s.messages), len(deliveries))
	s.messages = append(s.messages, deliveries[:room]...)
	for _, d := range deliveries[room:] {
		s.messages[s.oldest] = d
		s.oldest = (s.oldest + 1) % len(s.messages)
		s.evicted++
	}
}

// Delivered implements Store.
func (s *MemoryStore) Delivered(sessionID string) model.DeliveredMessages {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []model.DeliveredMessage{}
	for _, part := range [][]model.DeliveredMessage{s.messages[s.oldest:], s.messages[:s.oldest]} {
		for _, m := range part {
			if sessionID == "" || m.SessionID == sessionID {
				out = append(out, m)
			}
		}
	}
	return model.DeliveredMessages{Messages: out, Evicted: s.evicted}
}

// Messages is Delivered(sessionID).Messages: the recorded deliveries, oldest
// first, all of them when sessionID is "", else those of that session.
func (s *MemoryStore) Messages(sessionID string) []model.DeliveredMessage {
	return s.Delivered(sessionID).Messages
}

// ClearMessages implements Store.
func (s *MemoryStore) ClearMessages() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages, s.oldest = nil, 0
}
