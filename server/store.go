package server

import (
	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/server/internal/record"
	"github.com/hzkit/sendmessage/server/internal/sessions"
)

// DefaultMaxRecordedMessages caps the record of delivered messages when
// Config.MaxRecordedMessages is 0. A kept delivery costs about 100 bytes plus
// its message text, which the deliveries of one request share.
const DefaultMaxRecordedMessages = record.DefaultMaxRecordedMessages

// DefaultMaxRecordedBytes caps the record in bytes when
// Config.MaxRecordedBytes is 0.
const DefaultMaxRecordedBytes = record.DefaultMaxRecordedBytes

// Store is the state behind the handlers: the session inventory and the record
// of delivered messages. It is safe for concurrent use.
type Store interface {
	// Session returns the session with the given id.
	Session(id string) (model.SessionInfo, bool)
	// Sessions returns every session, in inventory order. The slice may be
	// the store's own: the caller must not change it.
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

// DeliveredQuery selects a page of the record of deliveries.
type DeliveredQuery = record.DeliveredQuery

// DeliveredPage is a page of the record of deliveries.
type DeliveredPage = record.DeliveredPage

// MemoryStore is the Store that keeps everything in memory: a fixed
// inventory, read without locking, and a bounded record.
type MemoryStore struct {
	*sessions.Inventory
	*record.Deliveries
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns a store holding sessions that records at most
// DefaultMaxRecordedMessages deliveries and DefaultMaxRecordedBytes bytes. Ids must be unique, as LoadData
// guarantees. The store takes the sessions over: the caller must not change
// them afterwards.
func NewMemoryStore(sessions []model.SessionInfo) *MemoryStore {
	return newMemoryStore(sessions, DefaultMaxRecordedMessages, DefaultMaxRecordedBytes)
}

func newMemoryStore(inventory []model.SessionInfo, maxMessages int, maxBytes int64) *MemoryStore {
	return &MemoryStore{Inventory: sessions.New(inventory), Deliveries: record.New(maxMessages, maxBytes)}
}
