package server

import (
	"context"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/hzkit/sendmessage/gen/model"
)

// WithoutFastPath returns cfg for a server that sends every request through
// the generic validator, as before the fast path existed.
func WithoutFastPath(cfg Config) Config {
	cfg.noFastPath = true
	return cfg
}

// WithSpecChange returns cfg for a server whose spec change alters before New
// builds anything from it: validator, fast path, limits.
func WithSpecChange(cfg Config, change func(*openapi3.T)) Config {
	cfg.specChange = change
	return cfg
}

// WithFaultSleep returns cfg for a server that waits out the delays of fault
// rules with sleep, which must return once ctx is done.
func WithFaultSleep(cfg Config, sleep func(ctx context.Context, d time.Duration)) Config {
	cfg.faultSleep = sleep
	return cfg
}

// CountFastPathBinds makes srv count the requests whose handler bound the
// value the fast path decoded. Call it before srv serves.
func CountFastPathBinds(srv *Server) *atomic.Int64 {
	n := &atomic.Int64{}
	srv.echo.Binder = countingBinder{Binder: srv.echo.Binder, n: n}
	return n
}

type countingBinder struct {
	echo.Binder
	n *atomic.Int64
}

func (b countingBinder) Bind(i any, c echo.Context) error {
	fast := stateOf(c).decoded
	if err := b.Binder.Bind(i, c); err != nil {
		return err
	}
	if fast != nil && reflect.DeepEqual(fast, i) {
		b.n.Add(1)
	}
	return nil
}

// NewMemoryStoreWithCap lets tests make a store with a small cap in count
// (and none in bytes), which New makes only from a Config.
func NewMemoryStoreWithCap(sessions []model.SessionInfo, maxMessages int) *MemoryStore {
	return newMemoryStore(sessions, maxMessages, 0)
}

// NewMemoryStoreWithCaps lets tests make a store with small caps in count
// and in bytes.
var NewMemoryStoreWithCaps = newMemoryStore

// FaultInputs says, for each operation that fault rules may name, whether
// its requests name sessions, carry a user name, and are answered with an
// item per session.
func FaultInputs() map[string][3]bool {
	// What faultRequest reads of each operation's requests: session ids,
	// a user name; and whether the answer has an item per session.
	carried := map[string][3]bool{
		"login":                 {false, true, false},
		"getSession":            {true, false, false},
		"sendMessageToSessions": {true, false, true},
	}
	out := map[string][3]bool{}
	for _, op := range faultOperations {
		out[op] = carried[op]
	}
	return out
}
