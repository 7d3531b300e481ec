package server

import (
	"sync"

	"github.com/hzkit/sendmessage/gen"
)

// Store is the state behind the handlers: the session inventory and the record
// of delivered messages. It is safe for concurrent use.
type Store interface {
	// Session returns the session with the given id.
	Session(id string) (gen.SessionInfo, bool)
	// Sessions returns every session, in inventory order. The caller must
	// not change what the sessions' pointer fields point to.
	Sessions() []gen.SessionInfo
	// SessionCount returns how many sessions the inventory holds.
	SessionCount() int
	// Record appends deliveries in order, numbering them from the next
	// sequence number. One call is atomic: readers see all of it or none.
	Record(deliveries []gen.DeliveredMessage)
	// Messages returns the recorded deliveries, oldest first; all of them
	// when sessionID is "", else those of that session.
	Messages(sessionID string) []gen.DeliveredMessage
	// ClearMessages forgets every recorded delivery; sequence numbers go on.
	ClearMessages()
}

// MemoryStore keeps everything in memory. The inventory is fixed at creation
// and read without locking; the message record is behind a mutex.
type MemoryStore struct {
	sessions map[string]gen.SessionInfo
	order    []string // ids in inventory order

	mu       sync.Mutex
	messages []gen.DeliveredMessage
	sequence int64
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns a store holding sessions. Ids must be unique, as
// LoadData guarantees; a later duplicate replaces an earlier one. The store
// takes the sessions over: the caller must not change them afterwards.
func NewMemoryStore(sessions []gen.SessionInfo) *MemoryStore {
	byID := make(map[string]gen.SessionInfo, len(sessions))
	order := make([]string, 0, len(sessions))
	for _, s := range sessions {
		if _, dup := byID[s.Id]; !dup {
			order = append(order, s.Id)
		}
		byID[s.Id] = s
	}
	return &MemoryStore{sessions: byID, order: order}
}

// Session implements Store.
func (s *MemoryStore) Session(id string) (gen.SessionInfo, bool) {
	session, ok := s.sessions[id]
	return session, ok
}

// Sessions implements Store.
func (s *MemoryStore) Sessions() []gen.SessionInfo {
	out := make([]gen.SessionInfo, len(s.order))
	for i, id := range s.order {
		out[i] = s.sessions[id]
	}
	return out
}

// SessionCount implements Store.
func (s *MemoryStore) SessionCount() int { return len(s.sessions) }

// Record implements Store.
func (s *MemoryStore) Record(deliveries []gen.DeliveredMessage) {
	if len(deliveries) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range deliveries {
		s.sequence++
		deliveries[i].Sequence = s.sequence
	}
	s.messages = append(s.messages, deliveries...)
}

// Messages implements Store.
func (s *MemoryStore) Messages(sessionID string) []gen.DeliveredMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []gen.DeliveredMessage{}
	for _, m := range s.messages {
		if sessionID == "" || m.SessionId == sessionID {
			out = append(out, m)
		}
	}
	return out
}

// ClearMessages implements Store.
func (s *MemoryStore) ClearMessages() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = nil
}
