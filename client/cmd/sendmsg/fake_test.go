package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hzkit/sendmessage/client"
	"github.com/hzkit/sendmessage/internal/fakeclock"
)

// fakeHorizon answers like a Connection Server whose connected sessions are
// known; failures can be scripted per call.
type fakeHorizon struct {
	mu        sync.Mutex
	sessions  []target
	connected map[string]bool
	calls     [][]string // ids of each SendMessage call
	lookups   [][]string // ids of each Lookup call
	texts     []string
	types     []client.MessageType
	lookupErr error   // returned by Lookup
	failNext  []error // returned by the next SendMessage calls, in order
	afterSend func()  // called after each successful SendMessage, under the lock
	// ignoresFilter makes Targets return every session, as a server that
	// ignores the listing's filter parameter does.
	ignoresFilter bool
	closed        bool
}

func (f *fakeHorizon) SendMessage(_ context.Context, t client.MessageType, text string, ids []string) (client.Results, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, append([]string(nil), ids...))
	f.texts = append(f.texts, text)
	f.types = append(f.types, t)
	if len(f.failNext) > 0 {
		err := f.failNext[0]
		f.failNext = f.failNext[1:]
		if err != nil {
			return nil, err
		}
	}
	results := make(client.Results, len(ids))
	for i, id := range ids {
		results[i] = client.Result{SessionID: id, StatusCode: http.StatusOK, Time: time.UnixMilli(1)}
		if !f.connected[id] {
			results[i].StatusCode = http.StatusNotFound
			results[i].Reasons = []string{"does not exist"}
		}
	}
	if f.afterSend != nil {
		f.afterSend()
	}
	return results, nil
}

func (f *fakeHorizon) Targets(_ context.Context, o *options) ([]target, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []target
	for _, s := range f.sessions {
		if f.ignoresFilter || (o.pool == "" || s.Pool == o.pool) && (o.user == "" || s.User == o.user) &&
			(o.machine == "" || s.Machine == o.machine) && (o.state == "" || s.State == o.state) {
			out = append(out, s)
		}
	}
	return out, nil
}

func (f *fakeHorizon) Lookup(_ context.Context, ids []string) ([]target, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups = append(f.lookups, append([]string(nil), ids...))
	if f.lookupErr != nil {
		return nil, f.lookupErr
	}
	var out []target
	for _, s := range f.sessions {
		if slices.Contains(ids, s.ID) {
			out = append(out, s)
		}
	}
	return out, nil
}

func (f *fakeHorizon) Close(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

// fakeClock fires every After at once and moves time forward by its
// duration; it keeps the durations it was asked to wait.
type fakeClock struct {
	*fakeclock.Clock
	mu    *sync.Mutex
	waits *[]time.Duration
	// onWait, when set, runs before a wait fires, with the count of waits.
	onWait func(n int)
}

func newFakeClock(now time.Time) fakeClock {
	return fakeClock{Clock: fakeclock.New(now), mu: &sync.Mutex{}, waits: &[]time.Duration{}}
}

func (c fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	*c.waits = append(*c.waits, d)
	n := len(*c.waits)
	c.mu.Unlock()
	if c.onWait != nil {
		c.onWait(n)
	}
	c.Advance(d)
	ch := make(chan time.Time, 1)
	ch <- c.Now()
	return ch
}

// Waits returns the durations waited so far.
func (c fakeClock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(*c.waits)
}

type fakeRun struct {
	h              *fakeHorizon
	clock          fakeClock
	connects       int      // calls of connect
	opts           *options // the options connect was given
	stdout, stderr bytes.Buffer
	err            error
}

// runFake runs the command against h with env and stdin.
func runFake(t *testing.T, h *fakeHorizon, env map[string]string, stdin string, args ...string) *fakeRun {
	t.Helper()
	r := &fakeRun{h: h, clock: newFakeClock(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))}
	d := &deps{
		getenv: func(k string) string { return env[k] },
		stdin:  bytes.NewBufferString(stdin),
		stdout: &r.stdout, stderr: &r.stderr,
		clock:  r.clock,
		random: func() float64 { return 1 }, // the longest wait of each retry
		connect: func(_ context.Context, o *options, _ *deps) (horizon, error) {
			r.connects++
			r.opts = o
			if h == nil {
				return nil, errors.New("connection refused")
			}
			return h, nil
		},
	}
	r.err = runWith(t.Context(), args, d)
	return r
}
