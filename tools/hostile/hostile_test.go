package main

import (
	"encoding/json"
	"net"
	"testing"

	"golang.org/x/net/http2/hpack"
)

func TestPaddedBodiesAreValidJSONOfTheirSize(t *testing.T) {
	t.Parallel()
	for _, size := range []int{200, 201, 4096, 1<<20 + 1} {
		body, err := validSendBody(size)
		if err != nil {
			t.Fatalf("validSendBody(%d): %v", size, err)
		}
		if len(body) != size {
			t.Errorf("validSendBody(%d) is %d bytes", size, len(body))
		}
		var decoded struct {
			Message    string   `json:"message"`
			Type       string   `json:"message_type"`
			SessionIDs []string `json:"session_ids"`
			X          []int    `json:"x"`
		}
		if err := json.Unmarshal(body, &decoded); err != nil {
			t.Fatalf("validSendBody(%d) is not JSON: %v", size, err)
		}
		if decoded.Message == "" || decoded.Type != "INFO" || len(decoded.SessionIDs) != 3 || len(decoded.X) == 0 {
			t.Errorf("validSendBody(%d) decodes to %+v...", size, decoded.SessionIDs)
		}
	}
	if _, err := validSendBody(50); err == nil {
		t.Error("validSendBody(50): no error, but the members do not fit")
	}
}

func TestParseFlagsReadsNamesAndDefaults(t *testing.T) {
	t.Parallel()
	usage := `Usage of refserver:
  -addr string
    	listen address (host:port) (env REFSERVER_ADDR) (default "127.0.0.1:8080")
  -max-body-bytes bytes
    	largest request body accepted, in bytes (413 above) (env REFSERVER_MAX_BODY_BYTES) (default 1048576)
  -max-connections count
    	most connections open at once (0: the open-file limit less 64) (env REFSERVER_MAX_CONNECTIONS)
  -tls
    	serve HTTPS (env REFSERVER_TLS)
`
	got := parseFlags(usage)
	want := serverFlags{"addr": "127.0.0.1:8080", "max-body-bytes": "1048576", "max-connections": "", "tls": ""}
	if len(got) != len(want) {
		t.Fatalf("parseFlags: %v, want %v", got, want)
	}
	for name, value := range want {
		if v, ok := got[name]; !ok || v != value {
			t.Errorf("parseFlags: -%s = %q (%v), want %q", name, v, ok, value)
		}
	}
	if n := got.limit("max-body-bytes", 7); n != 1048576 {
		t.Errorf("limit(max-body-bytes) = %d", n)
	}
	if n := got.limit("max-header-bytes", 7); n != 7 {
		t.Errorf("limit of a flag the server lacks = %d, want the fallback 7", n)
	}
}

func TestHeaderBlockDecodesToItsFields(t *testing.T) {
	t.Parallel()
	fields := bigHeaderFields(64 << 10)
	block, err := headerBlock("POST", "127.0.0.1:1", loginPath, fields)
	if err != nil {
		t.Fatal(err)
	}
	// The block is encoded without indexing: decoding it twice with one
	// decoder gives the same fields, as the server sees every stream.
	dec := hpack.NewDecoder(4096, nil)
	for range 2 {
		got, err := dec.DecodeFull(block)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(fields)+4 || got[3].Value != loginPath || got[4].Name != fields[0].Name {
			t.Fatalf("decoded %d fields, want %d (path %q)", len(got), len(fields)+4, got[3].Value)
		}
		size := 0
		for _, f := range got[4:] {
			size += int(f.Size())
		}
		if size < 64<<10 {
			t.Errorf("header list of %d bytes, want at least %d", size, 64<<10)
		}
	}
}

func TestAttackersAreDistinctLoopbackAddresses(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, ip := range []net.IP{operatorIP, guesserIP, adminIP, probeIP, legitIP} {
		seen[ip.String()] = true
	}
	loopback := &net.IPNet{IP: net.IPv4(127, 0, 0, 0), Mask: net.CIDRMask(8, 32)}
	for i := range longNameAddrs {
		ip := attackerIP(i)
		if ip == nil || !loopback.Contains(ip) {
			t.Fatalf("attackerIP(%d) = %v, not on 127.0.0.0/8", i, ip)
		}
		if seen[ip.String()] {
			t.Fatalf("attackerIP(%d) = %v, already in use", i, ip)
		}
		seen[ip.String()] = true
	}
}

func TestTallyOrdersStatusesThenFailures(t *testing.T) {
	t.Parallel()
	var tl tally
	tl.add(503, nil)
	tl.add(200, nil)
	tl.add(200, nil)
	tl.addKey("held open")
	if got, want := tl.String(), "2x200 1x503 1xheld open"; got != want {
		t.Errorf("tally = %q, want %q", got, want)
	}
	if !tl.only(200, 503) || tl.only(200) {
		t.Error("only: wrong")
	}
	if tl.total() != 4 || !tl.any(503) || tl.any(400) {
		t.Error("total or any: wrong")
	}
}
