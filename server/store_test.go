package server_test

import (
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/server"
)

func TestMemoryStoreSession(t *testing.T) {
	t.Parallel()
	store := server.NewMemoryStore(testSessions())
	byID := map[string]model.SessionInfo{}
	for _, s := range testSessions() {
		byID[s.ID] = s
	}
	tests := []struct {
		name   string
		id     string
		wantOK bool
	}{
		{"connected", idConnected, true},
		{"without user", idNoUser, true},
		{"disconnected", idDisconnected, true},
		{"pending", idPending, true},
		{"unknown", idUnknown, false},
		{"empty id", "", false},
		{"case differs", "11111111-0000-4000-8000-00000000000A", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := store.Session(tt.id)
			if ok != tt.wantOK {
				t.Fatalf("Session(%q) ok = %v, want %v", tt.id, ok, tt.wantOK)
			}
			if diff := cmp.Diff(byID[tt.id], got); diff != "" {
				t.Errorf("Session(%q) mismatch (-want +got):\n%s", tt.id, diff)
			}
		})
	}
}

func TestMemoryStoreSessionsInInventoryOrder(t *testing.T) {
	t.Parallel()
	store := server.NewMemoryStore([]model.SessionInfo{
		{ID: "c", SessionState: model.SessionInfoSessionStateCONNECTED},
		{ID: "a", SessionState: model.SessionInfoSessionStatePENDING},
		{ID: "b", SessionState: model.SessionInfoSessionStateCONNECTED},
		{ID: "a", SessionState: model.SessionInfoSessionStateDISCONNECTED},
	})
	var got []string
	for _, s := range store.Sessions() {
		got = append(got, s.ID+":"+string(s.SessionState))
	}
	// A later duplicate replaces the earlier one in its place.
	want := []string{"c:CONNECTED", "a:DISCONNECTED", "b:CONNECTED"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Sessions (-want +got):\n%s", diff)
	}
	if empty := server.NewMemoryStore(nil).Sessions(); empty == nil || len(empty) != 0 {
		t.Errorf("Sessions of an empty store = %#v, want an empty slice", empty)
	}
}

func TestMemoryStoreSessionCount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		sessions []model.SessionInfo
		want     int
	}{
		{"nil", nil, 0},
		{"empty", []model.SessionInfo{}, 0},
		{"test inventory", testSessions(), len(testSessions())},
		{"repeated id counted once", []model.SessionInfo{{ID: "a"}, {ID: "a"}, {ID: "b"}}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := server.NewMemoryStore(tt.sessions).SessionCount(); got != tt.want {
				t.Errorf("SessionCount() = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestMemoryStoreLaterDuplicateWins(t *testing.T) {
	t.Parallel()
	store := server.NewMemoryStore([]model.SessionInfo{
		{ID: "a", SessionState: model.SessionInfoSessionStateDISCONNECTED},
		{ID: "a", SessionState: model.SessionInfoSessionStateCONNECTED},
	})
	got, ok := store.Session("a")
	if !ok || got.SessionState != model.SessionInfoSessionStateCONNECTED {
		t.Errorf("Session(a) = %+v, %v; want the later, CONNECTED one", got, ok)
	}
}

func delivery(sessionID, message string) model.DeliveredMessage {
	return model.DeliveredMessage{
		SessionID:   sessionID,
		Message:     message,
		MessageType: model.DeliveredMessageMessageTypeINFO,
		Timestamp:   fixedNow.UnixMilli(),
	}
}

func withSequence(m model.DeliveredMessage, seq int64) model.DeliveredMessage {
	m.Sequence = seq
	return m
}

func TestMemoryStoreRecordNumbersFromOneAcrossCalls(t *testing.T) {
	t.Parallel()
	store := server.NewMemoryStore(nil)

	first := []model.DeliveredMessage{delivery("a", "one"), delivery("b", "two")}
	store.Record(first)
	store.Record(nil)
	store.Record([]model.DeliveredMessage{})
	second := []model.DeliveredMessage{delivery("a", "three"), delivery("c", "four"), delivery("a", "five")}
	store.Record(second)

	// The caller's slice learns the numbers given.
	if diff := cmp.Diff([]int64{1, 2}, sequences(first)); diff != "" {
		t.Errorf("first batch sequences (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{3, 4, 5}, sequences(second)); diff != "" {
		t.Errorf("second batch sequences (-want +got):\n%s", diff)
	}
	want := []model.DeliveredMessage{
		withSequence(delivery("a", "one"), 1),
		withSequence(delivery("b", "two"), 2),
		withSequence(delivery("a", "three"), 3),
		withSequence(delivery("c", "four"), 4),
		withSequence(delivery("a", "five"), 5),
	}
	if diff := cmp.Diff(want, store.Messages("")); diff != "" {
		t.Errorf("Messages(\"\") (-want +got):\n%s", diff)
	}
}

func sequences(ms []model.DeliveredMessage) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.Sequence
	}
	return out
}

func TestMemoryStoreMessagesFilter(t *testing.T) {
	t.Parallel()
	store := server.NewMemoryStore(nil)
	store.Record([]model.DeliveredMessage{delivery("a", "one"), delivery("b", "two"), delivery("a", "three")})

	tests := []struct {
		name      string
		sessionID string
		want      []model.DeliveredMessage
	}{
		{"all", "", []model.DeliveredMessage{
			withSequence(delivery("a", "one"), 1),
			withSequence(delivery("b", "two"), 2),
			withSequence(delivery("a", "three"), 3),
		}},
		{"one session, oldest first", "a", []model.DeliveredMessage{
			withSequence(delivery("a", "one"), 1),
			withSequence(delivery("a", "three"), 3),
		}},
		{"other session", "b", []model.DeliveredMessage{withSequence(delivery("b", "two"), 2)}},
		{"no deliveries", "z", []model.DeliveredMessage{}},
		{"prefix is not a match", "a ", []model.DeliveredMessage{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := store.Messages(tt.sessionID)
			if got == nil {
				t.Fatalf("Messages(%q) = nil, want a non-nil slice", tt.sessionID)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Messages(%q) (-want +got):\n%s", tt.sessionID, diff)
			}
		})
	}
}

func TestMemoryStoreMessagesEmptyIsNotNil(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(*server.MemoryStore)
	}{
		{"new store", func(*server.MemoryStore) {}},
		{"after clear", func(s *server.MemoryStore) {
			s.Record([]model.DeliveredMessage{delivery("a", "one")})
			s.ClearMessages()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := server.NewMemoryStore(nil)
			tt.setup(store)
			for _, id := range []string{"", "a"} {
				// A nil slice would encode as null, which the spec's array refuses.
				if got := store.Messages(id); got == nil || len(got) != 0 {
					t.Errorf("Messages(%q) = %#v, want an empty, non-nil slice", id, got)
				}
			}
		})
	}
}

func TestMemoryStoreClearKeepsCounting(t *testing.T) {
	t.Parallel()
	store := server.NewMemoryStore(nil)
	store.Record([]model.DeliveredMessage{delivery("a", "one"), delivery("a", "two")})
	store.ClearMessages()
	store.ClearMessages()
	store.Record([]model.DeliveredMessage{delivery("b", "three")})

	want := []model.DeliveredMessage{withSequence(delivery("b", "three"), 3)}
	if diff := cmp.Diff(want, store.Messages("")); diff != "" {
		t.Errorf("Messages after clear (-want +got):\n%s", diff)
	}
	if got := store.Messages("a"); len(got) != 0 {
		t.Errorf("Messages(a) after clear = %+v, want none", got)
	}
}

func TestMemoryStoreMessagesReturnsACopy(t *testing.T) {
	t.Parallel()
	store := server.NewMemoryStore(nil)
	store.Record([]model.DeliveredMessage{delivery("a", "one")})
	got := store.Messages("")
	got[0].Message = "changed"
	got[0].Sequence = 99

	want := []model.DeliveredMessage{withSequence(delivery("a", "one"), 1)}
	if diff := cmp.Diff(want, store.Messages("")); diff != "" {
		t.Errorf("store changed through a returned slice (-want +got):\n%s", diff)
	}
}

// TestMemoryStoreConcurrentRecord has writers record batches while readers take
// snapshots. Run with -race. Every snapshot must hold whole batches numbered
// 1..n without gaps, and at the end every delivery is numbered exactly once.
func TestMemoryStoreConcurrentRecord(t *testing.T) {
	t.Parallel()
	const (
		writers   = 8
		batches   = 40
		batchSize = 5
		readers   = 4
	)
	store := server.NewMemoryStore(nil)
	batchName := func(w, b int) string { return fmt.Sprintf("w%d-b%d", w, b) }

	// checkSnapshot says what is wrong with one view of the record, or "".
	checkSnapshot := func(ms []model.DeliveredMessage) string {
		perBatch := map[string][]int64{}
		for i, m := range ms {
			if m.Sequence != int64(i+1) {
				return fmt.Sprintf("message %d has sequence %d, want %d", i, m.Sequence, i+1)
			}
			perBatch[m.Message] = append(perBatch[m.Message], m.Sequence)
		}
		for name, seqs := range perBatch {
			if len(seqs) != batchSize {
				return fmt.Sprintf("batch %s is partly visible: %d of %d", name, len(seqs), batchSize)
			}
			for j := 1; j < len(seqs); j++ {
				if seqs[j] != seqs[j-1]+1 {
					return fmt.Sprintf("batch %s is interleaved: sequences %v", name, seqs)
				}
			}
		}
		return ""
	}

	var writersDone sync.WaitGroup
	for w := range writers {
		writersDone.Go(func() {
			for b := range batches {
				batch := make([]model.DeliveredMessage, batchSize)
				for i := range batch {
					// Session ids cycle so that filtered reads see part of each batch.
					batch[i] = delivery(fmt.Sprintf("s%d", i%2), batchName(w, b))
				}
				store.Record(batch)
			}
		})
	}
	stop := make(chan struct{})
	var readersDone sync.WaitGroup
	for range readers {
		readersDone.Go(func() {
			for {
				if problem := checkSnapshot(store.Messages("")); problem != "" {
					t.Errorf("snapshot: %s", problem)
					return
				}
				for _, m := range store.Messages("s1") {
					if m.SessionID != "s1" {
						t.Errorf("Messages(s1) returned a message of %q", m.SessionID)
						return
					}
				}
				select {
				case <-stop:
					return
				default:
				}
			}
		})
	}
	writersDone.Wait()
	close(stop)
	readersDone.Wait()

	final := store.Messages("")
	if got, want := len(final), writers*batches*batchSize; got != want {
		t.Fatalf("recorded %d messages, want %d", got, want)
	}
	if problem := checkSnapshot(final); problem != "" {
		t.Errorf("final record: %s", problem)
	}
	seen := map[string]bool{}
	for _, m := range final {
		seen[m.Message] = true
	}
	if got, want := len(seen), writers*batches; got != want {
		t.Errorf("final record holds %d batches, want %d", got, want)
	}
}

func TestMemoryStoreEvictsOldestFirst(t *testing.T) {
	t.Parallel()
	msgs := func(texts ...string) []model.DeliveredMessage {
		out := make([]model.DeliveredMessage, len(texts))
		for i, text := range texts {
			out[i] = delivery("s"+text[:1], text)
		}
		return out
	}
	// want lists the texts kept, oldest first, with their sequence numbers.
	type kept struct {
		text string
		seq  int64
	}
	tests := []struct {
		name        string
		maxMessages int
		record      func(*server.MemoryStore)
		want        []kept
		wantEvicted int64
	}{
		{"under the cap", 3, func(s *server.MemoryStore) { s.Record(msgs("a1", "b2")) }, []kept{{"a1", 1}, {"b2", 2}}, 0},
		{"at the cap", 3, func(s *server.MemoryStore) { s.Record(msgs("a1", "b2", "a3")) }, []kept{{"a1", 1}, {"b2", 2}, {"a3", 3}}, 0},
		{"one over, in one batch", 3, func(s *server.MemoryStore) { s.Record(msgs("a1", "b2", "a3", "b4")) }, []kept{{"b2", 2}, {"a3", 3}, {"b4", 4}}, 1},
		{"batch larger than the cap", 2, func(s *server.MemoryStore) { s.Record(msgs("a1", "b2", "a3", "b4", "a5")) }, []kept{{"b4", 4}, {"a5", 5}}, 3},
		{"wraps around across batches", 3, func(s *server.MemoryStore) {
			for _, text := range []string{"a1", "b2", "a3", "b4", "a5", "b6", "a7"} {
				s.Record(msgs(text))
			}
		}, []kept{{"a5", 5}, {"b6", 6}, {"a7", 7}}, 4},
		{"cap of one", 1, func(s *server.MemoryStore) {
			s.Record(msgs("a1", "b2"))
			s.Record(msgs("a3"))
		}, []kept{{"a3", 3}}, 2},
		{"clear keeps the count and the numbering", 2, func(s *server.MemoryStore) {
			s.Record(msgs("a1", "b2", "a3"))
			s.ClearMessages()
			s.Record(msgs("b4"))
		}, []kept{{"b4", 4}}, 1},
		{"fills again after a clear before evicting", 2, func(s *server.MemoryStore) {
			s.Record(msgs("a1", "b2", "a3"))
			s.ClearMessages()
			s.Record(msgs("b4", "a5"))
		}, []kept{{"b4", 4}, {"a5", 5}}, 1},
		{"zero cap means one", 0, func(s *server.MemoryStore) { s.Record(msgs("a1", "b2")) }, []kept{{"b2", 2}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := server.NewMemoryStoreWithCap(nil, tt.maxMessages)
			tt.record(store)
			want := []model.DeliveredMessage{}
			for _, k := range tt.want {
				want = append(want, withSequence(delivery("s"+k.text[:1], k.text), k.seq))
			}
			got := allDelivered(store, "")
			if diff := cmp.Diff(model.DeliveredMessages{Messages: want, Evicted: tt.wantEvicted}, got); diff != "" {
				t.Errorf("Delivered(\"\") (-want +got):\n%s", diff)
			}
			// A filter keeps the order and reports the same, global count.
			wantA := []model.DeliveredMessage{}
			for _, m := range want {
				if m.SessionID == "sa" {
					wantA = append(wantA, m)
				}
			}
			if diff := cmp.Diff(model.DeliveredMessages{Messages: wantA, Evicted: tt.wantEvicted}, allDelivered(store, "sa")); diff != "" {
				t.Errorf("Delivered(sa) (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMemoryStoreDefaultCap(t *testing.T) {
	t.Parallel()
	store := server.NewMemoryStore(nil)
	batch := make([]model.DeliveredMessage, server.DefaultMaxRecordedMessages+1)
	for i := range batch {
		batch[i] = delivery("a", "m")
	}
	store.Record(batch)
	got := allDelivered(store, "")
	if len(got.Messages) != server.DefaultMaxRecordedMessages || got.Evicted != 1 {
		t.Fatalf("kept %d, evicted %d; want %d kept and 1 evicted", len(got.Messages), got.Evicted, server.DefaultMaxRecordedMessages)
	}
	if first := got.Messages[0].Sequence; first != 2 {
		t.Errorf("oldest kept has sequence %d, want 2", first)
	}
}

// TestMemoryStoreConcurrentEviction records batches from several writers
// into a small record while readers take snapshots. Run with -race. Each
// snapshot must be consistent: numbered without gaps from evicted+1, never
// over the cap; at the end every delivery is either kept or counted evicted.
func TestMemoryStoreConcurrentEviction(t *testing.T) {
	t.Parallel()
	const (
		maxMessages = 37 // not a multiple of the batch size, so batches split
		writers     = 8
		batches     = 50
		batchSize   = 5
		readers     = 4
	)
	store := server.NewMemoryStoreWithCap(nil, maxMessages)
	checkSnapshot := func(d model.DeliveredMessages) string {
		if len(d.Messages) > maxMessages {
			return fmt.Sprintf("holds %d messages, over the cap of %d", len(d.Messages), maxMessages)
		}
		if d.Evicted > 0 && len(d.Messages) != maxMessages {
			return fmt.Sprintf("evicted %d while holding only %d of %d", d.Evicted, len(d.Messages), maxMessages)
		}
		for i, m := range d.Messages {
			if want := d.Evicted + int64(i) + 1; m.Sequence != want {
				return fmt.Sprintf("message %d has sequence %d, want %d (evicted %d)", i, m.Sequence, want, d.Evicted)
			}
		}
		return ""
	}

	var writersDone sync.WaitGroup
	for w := range writers {
		writersDone.Go(func() {
			for b := range batches {
				batch := make([]model.DeliveredMessage, batchSize)
				for i := range batch {
					batch[i] = delivery("s", fmt.Sprintf("w%d-b%d-%d", w, b, i))
				}
				store.Record(batch)
			}
		})
	}
	stop := make(chan struct{})
	var readersDone sync.WaitGroup
	for range readers {
		readersDone.Go(func() {
			for {
				if problem := checkSnapshot(allDelivered(store, "")); problem != "" {
					t.Errorf("snapshot: %s", problem)
					return
				}
				select {
				case <-stop:
					return
				default:
				}
			}
		})
	}
	writersDone.Wait()
	close(stop)
	readersDone.Wait()

	final := allDelivered(store, "")
	if problem := checkSnapshot(final); problem != "" {
		t.Errorf("final record: %s", problem)
	}
	total := int64(writers * batches * batchSize)
	if got := final.Evicted + int64(len(final.Messages)); got != total || len(final.Messages) != maxMessages {
		t.Errorf("kept %d + evicted %d = %d, want %d kept of %d", len(final.Messages), final.Evicted, got, maxMessages, total)
	}
}

// allDelivered is the whole record of store, or the part of one session, as
// one page.
func allDelivered(store *server.MemoryStore, sessionID string) model.DeliveredMessages {
	page := store.Delivered(server.DeliveredQuery{SessionID: sessionID, Limit: math.MaxInt})
	return model.DeliveredMessages{Messages: page.Messages, Evicted: page.Evicted}
}
