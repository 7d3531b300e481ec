package delivery

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestFirstOccurrence(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(9, 9))
	for _, n := range []int{0, 1, 2, scanAtMost, scanAtMost + 1, 100, poolAtMost, poolAtMost + 1} {
		for range 3 { // again, so that a reused map must come back empty
			ids := make([]string, n)
			for i := range ids {
				ids[i] = fmt.Sprint(rng.IntN(max(1, n/2)))
			}
			want := map[string]int{}
			occurrences := newFirstOccurrence(ids)
			for i, id := range ids {
				first, repeated := occurrences.earlier(i)
				if wantFirst, wantRepeated := want[id]; repeated != wantRepeated || (repeated && first != wantFirst) {
					t.Fatalf("n=%d: earlier(%d) = %d, %v; want %d, %v", n, i, first, repeated, wantFirst, wantRepeated)
				}
				if _, seen := want[id]; !seen {
					want[id] = i
				}
			}
			occurrences.release()
		}
	}
}
