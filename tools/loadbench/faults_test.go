package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/hzkit/sendmessage/gen/model"
	refserver "github.com/hzkit/sendmessage/server"
)

// The rules of -faults load with the data file, and none of them acts on the
// benchmark's requests: each is answered, delivered, and no rule counts a hit.
func TestNonMatchingFaults(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const sessions, rules = 1000, 24
	dataFile, err := writeData(dir, sessions)
	if err != nil {
		t.Fatal(err)
	}
	path, err := addFaults(dir, dataFile, rules)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data, err := refserver.LoadData(path, raw)
	if err != nil {
		t.Fatal(err)
	}
	if data.Faults == nil || len(*data.Faults) != rules || len(data.Sessions) != sessions {
		t.Fatalf("data file has %d sessions and %v fault rules", len(data.Sessions), data.Faults)
	}
	srv, err := refserver.New(refserver.Config{Token: token, Sessions: data.Sessions, Faults: *data.Faults})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, sessions} {
		_, body, err := writeBody(dir, n)
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/rest"+sendPath, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		var items []model.BulkItemResponseInfo
		if err := json.Unmarshal(rec.Body.Bytes(), &items); rec.Code != http.StatusOK || err != nil || len(items) != n {
			t.Fatalf("%d ids: %d %.300s", n, rec.Code, rec.Body)
		}
		for _, item := range items {
			if item.StatusCode != http.StatusOK {
				t.Fatalf("%d ids: item %+v", n, item)
			}
		}
	}
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/rest/refserver/v1/faults", http.NoBody)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	var listed model.Faults
	if err := json.Unmarshal(rec.Body.Bytes(), &listed); err != nil || len(listed.Faults) != rules {
		t.Fatalf("faults: %v %s", err, rec.Body)
	}
	for _, f := range listed.Faults {
		if f.Hits != 0 {
			rule, _ := f.Rule.MarshalJSON()
			t.Errorf("rule %s (%s) acted %d times", f.ID, rule, f.Hits)
		}
	}
}
