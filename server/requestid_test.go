package server

import "testing"

func TestRequestIDsAreUniqueAndDiffer(t *testing.T) {
	t.Parallel()
	a, b := newRequestIDs(), newRequestIDs()
	seen := map[string]bool{}
	for range 1000 {
		for _, id := range []string{a.next(), b.next()} {
			if id == "" || seen[id] {
				t.Fatalf("request id %q is empty or repeated", id)
			}
			seen[id] = true
		}
	}
}
