package sendmessage_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/server"
)

// loadKind is what one request of the load test is.
type loadKind int

const (
	loadSend       loadKind = iota // a valid send-message request
	loadInvalid                    // refused with 400: must deliver nothing
	loadWrongToken                 // refused with 401: must deliver nothing
	loadInspect                    // a read of the record while others write
)

// loadTally is what one client saw.
type loadTally struct {
	requests  int
	items     int
	serverErr int             // 5xx answers
	delivered map[string]int  // "session|message" of every item answered 200
	refused   map[string]bool // messages of requests refused as a whole
	statuses  map[int]int     // answers by status
	wrong     []string        // answers that break the delivery rules
}

// TestLoadIntegrity drives the server over real HTTP with many concurrent
// clients, each on its own connection, for a fixed number of requests: valid
// ones naming known, unknown, not connected and repeated ids, some the server
// must refuse, and reads of the record meanwhile. Afterwards there is no 5xx,
// every answer follows the delivery rules, and the record holds every item
// answered 200 exactly once and nothing else; under a small cap, the newest
// of them, with the rest counted as evicted. Run with -race.
func TestLoadIntegrity(t *testing.T) {
	t.Parallel()
	const (
		clients           = 64
		requestsPerClient = 16
	)
	sessions, err := server.DemoSessions()
	if err != nil {
		t.Fatal(err)
	}
	var connected, notConnected []string
	for _, s := range sessions {
		if s.SessionState == model.SessionInfoSessionStateCONNECTED {
			connected = append(connected, s.ID)
		} else {
			notConnected = append(notConnected, s.ID)
		}
	}

	for _, tt := range []struct {
		name string
		cap  int // 0: the default, which this load does not reach
	}{
		{"default record cap", 0},
		{"record cap of 100", 100},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := startServer(t, withRecordCap(tt.cap))
			started := time.Now()
			tallies := make([]loadTally, clients)
			var wg sync.WaitGroup
			for c := range clients {
				wg.Go(func() {
					tallies[c] = runLoadClient(t, ts, c, requestsPerClient, connected, notConnected)
				})
			}
			wg.Wait()
			took := time.Since(started)

			total := loadTally{delivered: map[string]int{}, refused: map[string]bool{}, statuses: map[int]int{}}
			for _, tally := range tallies {
				total.requests += tally.requests
				total.items += tally.items
				total.serverErr += tally.serverErr
				for k, n := range tally.delivered {
					total.delivered[k] += n
				}
				for m := range tally.refused {
					total.refused[m] = true
				}
				for status, n := range tally.statuses {
					total.statuses[status] += n
				}
				for _, w := range tally.wrong {
					t.Error(w)
				}
			}
			if total.serverErr != 0 {
				t.Errorf("%d answers were 5xx", total.serverErr)
			}
			if len(total.delivered) == 0 || total.statuses[http.StatusBadRequest] == 0 || total.statuses[http.StatusUnauthorized] == 0 {
				t.Errorf("the mix lacks deliveries, 400s or 401s: %v", total.statuses)
			}
			record := ts.deliveredRecord(t)
			checkLoadRecord(t, total, record, tt.cap)
			t.Logf("load: %d clients sent %d requests in %s (by status %v); %d result items, %d delivered (200), %d recorded, %d evicted, %d 5xx",
				clients, total.requests, took.Round(time.Millisecond), total.statuses, total.items,
				len(total.delivered), len(record.Messages), record.Evicted, total.serverErr)
		})
	}
}

// checkLoadRecord holds the record against what the clients were told.
func checkLoadRecord(t *testing.T, total loadTally, record model.DeliveredMessages, recordCap int) {
	t.Helper()
	for k, n := range total.delivered {
		if n != 1 {
			t.Errorf("%s was answered 200 %d times; each request's message is unique", k, n)
		}
	}
	wantKept := len(total.delivered)
	if recordCap > 0 {
		wantKept = min(wantKept, recordCap)
	}
	if len(record.Messages) != wantKept || record.Evicted != int64(len(total.delivered)-wantKept) {
		t.Errorf("record keeps %d and evicted %d of %d delivered, want %d kept", len(record.Messages), record.Evicted, len(total.delivered), wantKept)
	}
	recorded := map[string]int{}
	perMessage := map[string][]int64{}
	for i, m := range record.Messages {
		k := m.SessionID + "|" + m.Message
		recorded[k]++
		perMessage[m.Message] = append(perMessage[m.Message], m.Sequence)
		// Nothing was cleared: what is kept runs without gaps up to the last delivery.
		if want := record.Evicted + int64(i) + 1; m.Sequence != want {
			t.Errorf("record entry %d has sequence %d, want %d", i, m.Sequence, want)
		}
		if total.refused[m.Message] {
			t.Errorf("a refused request was recorded: %+v", m)
		}
		if total.delivered[k] == 0 {
			t.Errorf("%s recorded, never answered 200", k)
		}
	}
	for k, n := range recorded {
		if n != 1 {
			t.Errorf("%s recorded %d times", k, n)
		}
	}
	if record.Evicted == 0 {
		for k := range total.delivered {
			if recorded[k] == 0 {
				t.Errorf("%s answered 200, not recorded and nothing evicted", k)
			}
		}
	}
	// One request's deliveries are recorded together: no interleaving.
	for message, seqs := range perMessage {
		for i := 1; i < len(seqs); i++ {
			if seqs[i] != seqs[i-1]+1 {
				t.Errorf("the deliveries of %q are interleaved with others: sequences %v", message, seqs)
				break
			}
		}
	}
}

// runLoadClient sends n requests on a connection of its own and checks each
// answer against the delivery rules.
func runLoadClient(t *testing.T, ts *testServer, c, n int, connected, notConnected []string) loadTally {
	t.Helper()
	transport := &http.Transport{MaxIdleConnsPerHost: 1}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: time.Minute}
	tally := loadTally{delivered: map[string]int{}, refused: map[string]bool{}, statuses: map[int]int{}}
	wrong := func(format string, args ...any) {
		tally.wrong = append(tally.wrong, fmt.Sprintf("client %d: ", c)+fmt.Sprintf(format, args...))
	}

	for r := range n {
		rng := rand.New(rand.NewPCG(uint64(c), uint64(r)))
		kind := loadSend
		switch r % 8 {
		case 3:
			kind = loadInspect
		case 5:
			kind = []loadKind{loadInvalid, loadWrongToken}[rng.IntN(2)]
		}
		message := fmt.Sprintf("load client %02d request %02d", c, r)
		ids := loadIDs(rng, c, r, connected, notConnected)
		token, messageType := testToken, "INFO"
		switch kind {
		case loadInvalid:
			messageType = "info"
		case loadWrongToken:
			token = "wrong-" + testToken
		}

		var req *http.Request
		var err error
		if kind == loadInspect {
			req, err = http.NewRequestWithContext(t.Context(), http.MethodGet,
				ts.URL+messagesURL+"?session_id="+connected[rng.IntN(len(connected))], http.NoBody)
		} else {
			body, merr := json.Marshal(map[string]any{"message": message, "message_type": messageType, "session_ids": ids})
			if merr != nil {
				wrong("marshal: %v", merr)
				return tally
			}
			req, err = http.NewRequestWithContext(t.Context(), http.MethodPost, ts.URL+sendMessageURL, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
		}
		if err != nil {
			wrong("request: %v", err)
			return tally
		}
		req.Header.Set("Authorization", "Bearer "+token)

		resp, err := client.Do(req)
		if err != nil {
			wrong("%s %s: %v", req.Method, req.URL.Path, err)
			return tally
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			wrong("read answer: %v", err)
			return tally
		}
		tally.requests++
		tally.statuses[resp.StatusCode]++
		if resp.StatusCode >= http.StatusInternalServerError {
			tally.serverErr++
		}

		switch kind {
		case loadInspect:
			if resp.StatusCode != http.StatusOK {
				wrong("inspection answered %d: %s", resp.StatusCode, body)
			}
		case loadInvalid, loadWrongToken:
			tally.refused[message] = true
			if want := map[loadKind]int{loadInvalid: 400, loadWrongToken: 401}[kind]; resp.StatusCode != want {
				wrong("%q answered %d, want %d", message, resp.StatusCode, want)
			}
		case loadSend:
			if resp.StatusCode != http.StatusOK {
				wrong("%q answered %d: %s", message, resp.StatusCode, body)
				continue
			}
			var got []model.BulkItemResponseInfo
			if err := json.Unmarshal(body, &got); err != nil {
				wrong("%q: decode %s: %v", message, body, err)
				continue
			}
			tally.items += len(got)
			want := expectedStatuses(ids, connected, notConnected)
			if len(got) != len(want) {
				wrong("%q: %d items for %d ids", message, len(got), len(ids))
				continue
			}
			for i, item := range got {
				if item.ID != ids[i] || int(item.StatusCode) != want[i] {
					wrong("%q item %d: %s %d, want %s %d", message, i, item.ID, item.StatusCode, ids[i], want[i])
				}
				if item.StatusCode == http.StatusOK {
					tally.delivered[item.ID+"|"+message]++
				}
			}
		}
	}
	return tally
}

// loadIDs picks one to six ids: connected, not connected and unknown ones,
// sometimes one of them again.
func loadIDs(rng *rand.Rand, c, r int, connected, notConnected []string) []string {
	ids := make([]string, 1+rng.IntN(6))
	for i := range ids {
		switch p := rng.IntN(10); {
		case p < 6:
			ids[i] = connected[rng.IntN(len(connected))]
		case p < 8:
			ids[i] = notConnected[rng.IntN(len(notConnected))]
		default:
			ids[i] = fmt.Sprintf("00000000-0000-4000-8000-%06d%06d", c, r)
		}
	}
	if rng.IntN(3) == 0 {
		ids = append(ids, ids[rng.IntN(len(ids))])
	}
	return ids
}

// expectedStatuses is the delivery rule: a connected session is delivered to
// at its first occurrence; a repeat gets 409, a session not connected 409,
// an unknown id 404.
func expectedStatuses(ids, connected, notConnected []string) []int {
	out := make([]int, len(ids))
	seen := map[string]bool{}
	for i, id := range ids {
		switch {
		case seen[id], slices.Contains(notConnected, id):
			out[i] = http.StatusConflict
		case slices.Contains(connected, id):
			out[i] = http.StatusOK
		default:
			out[i] = http.StatusNotFound
		}
		seen[id] = true
	}
	return out
}
