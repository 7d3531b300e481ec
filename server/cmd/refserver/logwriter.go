package main

import (
	"io"
	"sync"
	"time"
)

// logWriter buffers log lines and writes them to w in batches: when flushAt
// bytes have gathered, else flushEvery after the last write, and on Close.
// Under load many access-log lines share one write system call instead of
// costing one each on the request's path. Lines stay whole and in order.
type logWriter struct {
	w    io.Writer
	stop chan struct{}
	done chan struct{}

	mu     sync.Mutex
	buf    []byte
	closed bool
}

const (
	flushAt    = 64 << 10
	flushEvery = 100 * time.Millisecond
)

func newLogWriter(w io.Writer) *logWriter {
	l := &logWriter{w: w, stop: make(chan struct{}), done: make(chan struct{})}
	go l.flushPeriodically()
	return l
}

// Write buffers p, which is one log record.
func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return l.w.Write(p)
	}
	l.buf = append(l.buf, p...)
	if len(l.buf) >= flushAt {
		l.flushLocked()
	}
	return len(p), nil
}

func (l *logWriter) flushLocked() {
	if len(l.buf) > 0 {
		// A log that cannot be written has nowhere to report it.
		_, _ = l.w.Write(l.buf)
		l.buf = l.buf[:0]
	}
}

func (l *logWriter) flushPeriodically() {
	defer close(l.done)
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			l.mu.Lock()
			l.flushLocked()
			l.mu.Unlock()
		case <-l.stop:
			return
		}
	}
}

// Close writes what is buffered and makes later writes go straight to w.
func (l *logWriter) Close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	l.flushLocked()
	l.mu.Unlock()
	close(l.stop)
	<-l.done
}
