package client_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/hzkit/sendmessage/api"
	"github.com/hzkit/sendmessage/client"
)

// Without WithUserAgent, requests name the client and the version of the
// contract it was generated from.
func TestDefaultUserAgentNamesTheContractVersion(t *testing.T) {
	t.Parallel()
	doc, err := api.Load() // the test reads the spec; the client does not
	if err != nil {
		t.Fatal(err)
	}
	want := "hzkit-sendmessage/" + doc.Info.Version
	if client.DefaultUserAgent != want {
		t.Errorf("DefaultUserAgent = %q, want %q", client.DefaultUserAgent, want)
	}
	rec, url := startRecorder(t, http.StatusOK, "application/json", `[]`)
	c, err := client.New(url, client.WithToken("tok"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendMessage(context.Background(), client.MessageInfo, "hello", []string{"a"}); err != nil {
		t.Fatal(err)
	}
	if got := (<-rec.last).Header.Get("User-Agent"); got != want {
		t.Errorf("User-Agent = %q, want %q", got, want)
	}
}
