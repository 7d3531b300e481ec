package server

import (
	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/server/internal/inventory"
)

// DefaultMaxRecordedMessages caps the record of delivered messages when
// Config.MaxRecordedMessages is 0. A kept delivery costs about 100 bytes plus
// its message text, which the deliveries of one request share.
const DefaultMaxRecordedMessages = inventory.DefaultMaxRecordedMessages

// DefaultMaxRecordedBytes caps the record in bytes when
// Config.MaxRecordedBytes is 0.
const DefaultMaxRecordedBytes = inventory.DefaultMaxRecordedBytes

// Store is the state behind the handlers: the session inventory and the record
// of delivered messages. It is safe for concurrent use.
type Store = inventory.Store

// DeliveredQuery selects a page of the record of deliveries.
type DeliveredQuery = inventory.DeliveredQuery

// DeliveredPage is a page of the record of deliveries.
type DeliveredPage = inventory.DeliveredPage

// MemoryStore is the Store that keeps everything in memory.
type MemoryStore = inventory.MemoryStore

// NewMemoryStore returns a store holding sessions that records at most
// DefaultMaxRecordedMessages deliveries and DefaultMaxRecordedBytes bytes. Ids must be unique, as LoadData
// guarantees. The store takes the sessions over: the caller must not change
// them afterwards.
func NewMemoryStore(sessions []model.SessionInfo) *MemoryStore {
	return inventory.NewMemoryStore(sessions, DefaultMaxRecordedMessages, DefaultMaxRecordedBytes)
}
