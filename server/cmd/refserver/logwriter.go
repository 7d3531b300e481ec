package main

import (
	"io"
	"sync"
)

// logWriter hands the log lines to w from one goroutine, so that a request
// never waits for the write of its access-log line: whatever accumulates
// while one write is under way goes out in the next, in order. When little
// is logged each line is written as soon as that goroutine runs; under load
// many lines share one write system call. Close writes what is left.
type logWriter struct {
	w    io.Writer
	wake chan struct{} // one pending signal is enough
	done chan struct{} // closed when the writing goroutine has ended

	mu      sync.Mutex
	drained *sync.Cond // signalled after each write
	pending []byte
	closed  bool
}

// maxPending is how much may wait to be written before Write waits too, so
// that a stalled destination cannot make the log grow without bound.
const maxPending = 1 << 20

func newLogWriter(w io.Writer) *logWriter {
	l := &logWriter{w: w, wake: make(chan struct{}, 1), done: make(chan struct{})}
	l.drained = sync.NewCond(&l.mu)
	go l.run()
	return l
}

// Write queues p, which is one log record.
func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	for len(l.pending) >= maxPending && !l.closed {
		l.drained.Wait()
	}
	if l.closed {
		l.mu.Unlock()
		return l.w.Write(p)
	}
	l.pending = append(l.pending, p...)
	// Under the lock, so that Close cannot close wake in between.
	select {
	case l.wake <- struct{}{}:
	default:
	}
	l.mu.Unlock()
	return len(p), nil
}

func (l *logWriter) run() {
	defer close(l.done)
	var batch []byte
	for {
		_, open := <-l.wake
		l.mu.Lock()
		batch, l.pending = l.pending, batch[:0]
		l.mu.Unlock()
		if len(batch) > 0 {
			// A log that cannot be written has nowhere to report it.
			_, _ = l.w.Write(batch)
		}
		l.mu.Lock()
		l.drained.Broadcast()
		l.mu.Unlock()
		if !open {
			return
		}
	}
}

// Close writes what is queued and makes later writes go straight to w.
func (l *logWriter) Close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	close(l.wake)
	l.mu.Unlock()
	<-l.done
}
