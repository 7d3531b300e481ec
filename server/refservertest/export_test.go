package refservertest

import "net/http"

// WrapHandler puts wrap between the test server and the reference server:
// this package's tests hold every answer against the spec with it.
func WrapHandler(wrap func(http.Handler) http.Handler) Option {
	return func(s *settings) { s.handler = wrap }
}
