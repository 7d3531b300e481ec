package api_test

import (
	"testing"

	"github.com/hzkit/sendmessage/api"
)

func TestLoadValidatesTheContract(t *testing.T) {
	t.Parallel()
	doc, err := api.Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got, want := doc.OpenAPI, "3.0.3"; got != want {
		t.Errorf("openapi version = %q, want %q", got, want)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "/rest" {
		t.Errorf("servers = %v, want exactly [/rest]", doc.Servers)
	}
	op := doc.Paths.Find("/inventory/v1/sessions/action/send-message")
	if op == nil || op.Post == nil || op.Post.OperationID != "sendMessageToSessions" {
		t.Fatalf("send-message operation missing or misnamed")
	}
}

func TestLoadReturnsIndependentCopies(t *testing.T) {
	t.Parallel()
	a, err := api.Load()
	if err != nil {
		t.Fatal(err)
	}
	b, err := api.Load()
	if err != nil {
		t.Fatal(err)
	}
	a.Info.Title = "changed"
	if b.Info.Title == "changed" {
		t.Error("Load shares state between calls")
	}
}
