package fastpath

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/hzkit/sendmessage/gen/model"
)

// TestJSONSerializerHandsOverTheDecodedValue checks the seam the fast path
// uses: the value it decoded, to a destination of its type.
func TestJSONSerializerHandsOverTheDecodedValue(t *testing.T) {
	t.Parallel()
	op := compileSend(t, limits{})
	body := `{"message":"m","message_type":"INFO","session_ids":["a","b"]}`
	c := jsonContext(t, body)
	if !op.accept(c.Request()) {
		t.Fatal("fast path declines a plain valid body")
	}
	fast, ok := Decoded(c.Request().Body)
	if !ok {
		t.Fatal("an accepted body is not Decoded")
	}
	var got model.SendMessageToSessionsJSONRequestBody
	if err := (JSONSerializer{}).Deserialize(c, &got); err != nil {
		t.Fatal(err)
	}
	want, _ := fast.(*model.SendMessageToSessionsJSONRequestBody)
	if want == nil || !reflect.DeepEqual(&got, want) || &got.SessionIDs[0] != &want.SessionIDs[0] {
		t.Errorf("got %+v, not the decoded %+v", got, fast)
	}
}

// TestJSONSerializerIsEchosOtherwise wants every other decode, and every
// encode, exactly as echo's DefaultJSONSerializer does it.
func TestJSONSerializerIsEchosOtherwise(t *testing.T) {
	t.Parallel()
	op := compileSend(t, limits{})
	plain := `{"message":"m","message_type":"INFO","session_ids":["a"]}`
	for _, tt := range []struct {
		name, body string
		// accepted: the fast path has read and decoded the body first.
		accepted bool
		dst      func() any
	}{
		{"valid body", plain, false, func() any { return &model.SendMessageToSessionsJSONRequestBody{} }},
		{"case-insensitive names", `{"MESSAGE":"m","Message_Type":"INFO","session_ids":["a"]}`, false, func() any { return &model.SendMessageToSessionsJSONRequestBody{} }},
		{"syntax error", `{"message":`, false, func() any { return &model.SendMessageToSessionsJSONRequestBody{} }},
		{"type error", `{"message":1}`, false, func() any { return &model.SendMessageToSessionsJSONRequestBody{} }},
		{"accepted, another type", plain, true, func() any { return &map[string]any{} }},
		{"accepted, a struct of another type", plain, true, func() any { return &model.SessionInfo{} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ours, theirs := jsonContext(t, tt.body), jsonContext(t, tt.body)
			if tt.accepted && !op.accept(ours.Request()) {
				t.Fatal("fast path declines a plain valid body")
			}
			gotDst, wantDst := tt.dst(), tt.dst()
			gotErr := JSONSerializer{}.Deserialize(ours, gotDst)
			wantErr := echo.DefaultJSONSerializer{}.Deserialize(theirs, wantDst)
			if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !reflect.DeepEqual(gotDst, wantDst) {
				t.Errorf("got %+v, %v; echo's: %+v, %v", gotDst, gotErr, wantDst, wantErr)
			}
		})
	}
	t.Run("serialize", func(t *testing.T) {
		t.Parallel()
		ours, got := recordedContext(t, "")
		theirs, want := recordedContext(t, "")
		value := map[string]any{"a": []int{1, 2}, "b": "<&>"}
		if err := (JSONSerializer{}).Serialize(ours, value, "  "); err != nil {
			t.Fatal(err)
		}
		if err := (echo.DefaultJSONSerializer{}).Serialize(theirs, value, "  "); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Body.Bytes(), want.Body.Bytes()) || got.Body.Len() == 0 {
			t.Errorf("Serialize wrote %q, echo's %q", got.Body, want.Body)
		}
	})
}

// jsonContext is an echo context for a JSON request with body.
func jsonContext(t *testing.T, body string) echo.Context {
	t.Helper()
	c, _ := recordedContext(t, body)
	return c
}

// recordedContext is jsonContext with the recorder of its answer.
func recordedContext(t *testing.T, body string) (echo.Context, *httptest.ResponseRecorder) {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, basePath+"/x", strings.NewReader(body))
	req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	rec := httptest.NewRecorder()
	return echo.New().NewContext(req, rec), rec
}
