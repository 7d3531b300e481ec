package server

import (
	"crypto/rand"
	"strconv"
	"sync/atomic"
)

// requestIDs makes the X-Request-Id of each request: a random prefix drawn
// once per server and a counter, unique within the server and unlikely to
// repeat across servers. echo's default draws 32 random characters per
// request, which costs more than the rest of the request's middleware.
type requestIDs struct {
	prefix string
	count  atomic.Uint64
}

func newRequestIDs() *requestIDs {
	// 16 base32 characters: 80 random bits.
	return &requestIDs{prefix: rand.Text()[:16] + "-"}
}

// next returns a new request id.
func (g *requestIDs) next() string {
	var room [32]byte // one allocation, the string's
	return string(strconv.AppendUint(append(room[:0], g.prefix...), g.count.Add(1), 36))
}
