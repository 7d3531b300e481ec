package bulkjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/hzkit/sendmessage/gen/apiserver"
	"github.com/hzkit/sendmessage/gen/model"
)

// fill sets every field that v reaches to a random value, so that a field the
// spec adds to the generated type is covered without this test knowing it.
func fill(rng *rand.Rand, v reflect.Value) {
	strs := []string{"", "a", "7cdd624f-37d1-46c1-ab96-695a5d13956f", `q"uote`, `back\slash`, "<b>&amp;</b>",
		"caf\u00e9", "\U0001F600", "\u2028\u2029", "\x00\x1f\x7f", "\xff\xfe", "tab\there", "Session \"x\" does not exist."}
	switch v.Kind() {
	case reflect.String:
		v.SetString(strs[rng.IntN(len(strs))])
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt([]int64{0, 200, 404, 409, -1, 1561939200000, 1<<31 - 1}[rng.IntN(7)])
	case reflect.Bool:
		v.SetBool(rng.IntN(2) == 0)
	case reflect.Pointer:
		if rng.IntN(2) == 0 {
			v.SetZero()
			return
		}
		v.Set(reflect.New(v.Type().Elem()))
		fill(rng, v.Elem())
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), rng.IntN(3), rng.IntN(3)+3))
		for i := range v.Len() {
			fill(rng, v.Index(i))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(rng, v.Field(i))
			}
		}
	default:
		panic(fmt.Sprintf("fill: add %s", v.Kind()))
	}
}

func randomItems(rng *rand.Rand, n int) []model.BulkItemResponseInfo {
	items := make([]model.BulkItemResponseInfo, n)
	for i := range items {
		fill(rng, reflect.ValueOf(&items[i]).Elem())
	}
	return items
}

func TestItemEncoderIsDerivedFromTheGeneratedType(t *testing.T) {
	t.Parallel()
	if itemEncoder == nil {
		t.Fatal("no item encoder for model.BulkItemResponseInfo: answers fall back to encoding/json")
	}
}

func TestItemsEncodeAsEncodingJSON(t *testing.T) {
	t.Parallel()
	if itemEncoder == nil {
		t.Fatal("no item encoder")
	}
	rng := rand.New(rand.NewPCG(7, 11))
	cases := [][]model.BulkItemResponseInfo{nil, {}}
	for _, n := range []int{1, 2, 5, 40, 2000} {
		for range 20 {
			cases = append(cases, randomItems(rng, n))
		}
	}
	for _, items := range cases {
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(apiserver.SendMessageToSessions200JSONResponse(items)); err != nil {
			t.Fatal(err)
		}
		var out countedWrites
		tail, err := appendItems(nil, items, &out)
		got, flushes := out.Bytes(), out.writes
		if err != nil || len(tail) != 0 {
			t.Fatalf("appendItems: %v, %d bytes not flushed", err, len(tail))
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("%d items: encoded differently:\n got %q\nwant %q", len(items), got, want.Bytes())
		}
		if limit := len(got)/flushEvery + 1; flushes > limit {
			t.Errorf("%d flushes of %d bytes, want at most %d", flushes, len(got), limit)
		}
	}
}

func TestWriteWritesWhatTheGeneratedResponseWrites(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 3, 3000} {
		items := randomItems(rng, n)
		want := httptest.NewRecorder()
		if err := apiserver.SendMessageToSessions200JSONResponse(items).VisitSendMessageToSessionsResponse(want); err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := Write(&got, items); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Body.Bytes()) {
			t.Errorf("%d items: wrote %q, want %q", n, got.Bytes(), want.Body)
		}
	}
}

func TestReusedItemsComeBackZero(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{1, poolItemsAtLeast, 1000, poolItemsAtMost, poolItemsAtMost + 1} {
		for range 3 {
			items := GetItems(n)
			if len(items) != n {
				t.Fatalf("GetItems(%d) has %d items", n, len(items))
			}
			for i := range items {
				if !reflect.ValueOf(items[i]).IsZero() {
					t.Fatalf("GetItems(%d): item %d is not zero: %+v", n, i, items[i])
				}
				fill(rng, reflect.ValueOf(&items[i]).Elem())
			}
			PutItems(items)
		}
	}
}

type selfEncodingString string

func (s selfEncodingString) MarshalText() ([]byte, error) { return []byte("x" + s), nil }

// countedWrites keeps what is written, and counts the writes.
type countedWrites struct {
	bytes.Buffer
	writes int
}

func (w *countedWrites) Write(p []byte) (int, error) {
	w.writes++
	n, err := w.Buffer.Write(p)
	if err != nil {
		return n, fmt.Errorf("buffer: %w", err)
	}
	return n, nil
}
