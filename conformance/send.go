package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// sendBody is a send-message body for the given ids.
func sendBody(messageType, message string, ids ...string) []byte {
	return jsonBody(map[string]any{"message": message, "message_type": messageType, "session_ids": ids})
}

// probeText is the message of requests that no session can receive.
const probeText = "Conformance check: sent to session ids that do not exist."

// checkSendUnknown sends to ids that cannot exist: each must fail alone,
// with 404, in the order asked.
func (r *runner) checkSendUnknown(ctx context.Context) {
	c := r.start("send to ids that cannot exist", opSend)
	sent := []string{r.unknownID(), r.unknownID()}
	a := c.send(ctx, request{op: opSend, path: pathSend, body: sendBody("INFO", probeText, sent...), token: r.access}, http.StatusOK)
	if a != nil && a.status == http.StatusOK {
		items := objects(asList(a.json))
		if len(items) != len(sent) {
			c.differ("%s: %d result items for %d ids", opSend, len(items), len(sent))
		}
		for i, item := range items[:min(len(items), len(sent))] {
			if item["id"] != sent[i] {
				c.differ("%s: item %d is for %v, want %s (the order of the request)", opSend, i, item["id"], sent[i])
			}
			if code := item["status_code"]; code != json.Number("404") {
				c.differ("%s: item %d (an id that does not exist) has status_code %v, want 404", opSend, i, code)
			}
		}
	}
	c.done()
}

// checkSendReal sends one real message, only when told to.
func (r *runner) checkSendReal(ctx context.Context) {
	c := r.start("send a real message", opSend)
	if r.cfg.SendTo == "" {
		c.skip("no session to message was given (--send-to ID --confirm-send)")
		return
	}
	a := c.send(ctx, request{op: opSend, path: pathSend, body: sendBody("INFO", r.cfg.SendText, r.cfg.SendTo), token: r.access}, http.StatusOK)
	if a != nil && a.status == http.StatusOK {
		items := objects(asList(a.json))
		switch {
		case len(items) != 1:
			c.differ("%s: %d result items for 1 id", opSend, len(items))
		case items[0]["status_code"] != json.Number("200"):
			c.differ("%s: %s was not delivered: status_code %v %v", opSend, r.cfg.SendTo, items[0]["status_code"], items[0]["error_messages"])
		default:
			c.res.Note = "delivered to " + r.cfg.SendTo
		}
	}
	c.done()
}

// checkRefusals sends requests the contract refuses. Each names only ids
// that cannot exist, so a server that wrongly accepts one delivers nothing.
func (r *runner) checkRefusals(ctx context.Context) {
	probe := sendBody("INFO", probeText, r.unknownID())
	for _, refusal := range []struct {
		name string
		req  request
		want int
	}{
		{"send without a token", request{body: probe}, http.StatusUnauthorized},
		{"send with a wrong token", request{body: probe, token: "not-a-token-" + newID()}, http.StatusUnauthorized},
		{"send a bad body: message_type INFORMATION", request{body: sendBody("INFORMATION", probeText, r.unknownID()), token: r.access}, http.StatusBadRequest},
		{"send a body that is not application/json", request{body: probe, token: r.access, contentType: "text/plain"}, http.StatusBadRequest},
		{"send an oversized body", request{body: r.oversized(), token: r.access}, http.StatusRequestEntityTooLarge},
	} {
		c := r.start(refusal.name, opSend)
		refusal.req.op, refusal.req.path = opSend, pathSend
		c.send(ctx, refusal.req, refusal.want)
		c.done()
	}
}

// oversized is a send-message body one byte larger than MaxBodyBytes, to an
// id that cannot exist.
func (r *runner) oversized() []byte {
	head := fmt.Sprintf(`{"message_type":"INFO","session_ids":[%q],"message":"`, r.unknownID())
	const tail = `"}`
	fill := max(0, int(r.cfg.MaxBodyBytes)+1-len(head)-len(tail))
	return []byte(head + strings.Repeat("x", fill) + tail)
}

func asList(v any) []any {
	list, _ := v.([]any)
	return list
}
