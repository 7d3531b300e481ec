// Package textlog is a slog.Handler that writes slog's text format. It
// writes a flat record of plain values itself, byte for byte what
// slog.TextHandler writes (a test holds the two equal), and hands any other
// record to a TextHandler. The access log's lines are all flat and plain:
// they cost a fraction of what slog's generic handler spends on them.
package textlog

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Handler writes records in slog's text format.
type Handler struct {
	w     *lockedWriter
	level slog.Leveler
	// text writes the records that are not flat and plain, and the
	// handlers derived with attributes or groups.
	text  *slog.TextHandler
	stamp atomic.Pointer[stamp]
}

// New returns a Handler that writes to w. Of opts it honours Level; a
// ReplaceAttr or AddSource sends every record to a TextHandler.
func New(w io.Writer, opts *slog.HandlerOptions) slog.Handler {
	if opts == nil {
		opts = &slog.HandlerOptions{}
	}
	locked := &lockedWriter{w: w}
	text := slog.NewTextHandler(locked, opts)
	if opts.ReplaceAttr != nil || opts.AddSource {
		return text
	}
	level := opts.Level
	if level == nil {
		level = slog.LevelInfo
	}
	return &Handler{w: locked, level: level, text: text}
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(_ context.Context, level slog.Level) bool {
	return level >= h.level.Level()
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler { return h.text.WithAttrs(attrs) }

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler { return h.text.WithGroup(name) }

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	buf, _ := buffers.Get().(*[]byte)
	if buf == nil {
		buf = new([]byte)
	}
	line, ok := h.appendRecord((*buf)[:0], r)
	if cap(line) <= maxPooled {
		*buf = line
		defer buffers.Put(buf)
	}
	if !ok {
		return h.text.Handle(ctx, r)
	}
	_, err := h.w.Write(line)
	return err
}

// buffers hold the lines being written, for the next ones; a buffer grown
// past maxPooled by a long line is left to the collector.
var buffers sync.Pool

const maxPooled = 16 << 10

// appendRecord appends r's line to b; false when r is not flat and plain.
func (h *Handler) appendRecord(b []byte, r slog.Record) ([]byte, bool) {
	sep := ""
	if !r.Time.IsZero() {
		b = h.appendTime(append(b, "time="...), r.Time)
		sep = " "
	}
	level := r.Level.String()
	if !plain(level) || !plain(r.Message) {
		return b, false
	}
	b = append(append(append(append(b, sep...), "level="...), level...), " msg="...)
	b = append(b, r.Message...)
	ok := true
	r.Attrs(func(a slog.Attr) bool {
		b, ok = appendAttr(b, a)
		return ok
	})
	return append(b, '\n'), ok
}

// appendAttr appends " key=value"; false when a is not plain.
func appendAttr(b []byte, a slog.Attr) ([]byte, bool) {
	if !plain(a.Key) {
		return b, false
	}
	b = append(append(append(b, ' '), a.Key...), '=')
	switch v := a.Value; v.Kind() {
	case slog.KindString:
		if !plain(v.String()) {
			return b, false
		}
		return append(b, v.String()...), true
	case slog.KindInt64:
		return strconv.AppendInt(b, v.Int64(), 10), true
	case slog.KindUint64:
		return strconv.AppendUint(b, v.Uint64(), 10), true
	case slog.KindBool:
		return strconv.AppendBool(b, v.Bool()), true
	case slog.KindDuration:
		return append(b, v.Duration().String()...), true
	default:
		return b, false
	}
}

// plain says whether s is written as it is, unquoted: printable ASCII
// without space, '"', '=' or '\'. Anything else goes to the TextHandler,
// which knows all of its quoting rules.
func plain(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if !plainBytes[s[i]] {
			return false
		}
	}
	return true
}

// plainBytes are the bytes plain allows.
var plainBytes = func() (t [256]bool) {
	for c := '!'; c <= '~'; c++ {
		t[c] = c != '"' && c != '=' && c != '\\'
	}
	return t
}()

// stamp is a second's text as slog writes it, shared by the lines of that
// second: all but the milliseconds, which each line appends itself.
type stamp struct {
	unix int64
	loc  *time.Location
	// date is "2006-01-02T15:04:05."; zone "Z" or "-07:00".
	date, zone string
}

// appendTime appends t in RFC 3339 with milliseconds, as slog does.
func (h *Handler) appendTime(b []byte, t time.Time) []byte {
	s := h.stamp.Load()
	if s == nil || s.unix != t.Unix() || s.loc != t.Location() {
		text := t.Format("2006-01-02T15:04:05.Z07:00")
		const dateLen = len("2006-01-02T15:04:05.")
		if len(text) < dateLen || text[dateLen-1] != '.' {
			// A year past 9999 or before 0: not worth a cache.
			return t.AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
		}
		s = &stamp{unix: t.Unix(), loc: t.Location(), date: text[:dateLen], zone: text[dateLen:]}
		h.stamp.Store(s)
	}
	ms := t.Nanosecond() / int(time.Millisecond)
	b = append(b, s.date...)
	const digits = "0123456789"
	b = append(b, digits[ms/100], digits[ms/10%10], digits[ms%10])
	return append(b, s.zone...)
}

// lockedWriter serialises the writes of the Handler and its TextHandler.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.w.Write(p)
	return n, err
}
