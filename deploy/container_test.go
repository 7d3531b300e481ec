package deploy

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/internal/spectest"
)

// The container test runs the image that make test-image builds; without
// one named here it skips, so that go test needs no container engine.
const (
	imageVariable  = "REFSERVER_TEST_IMAGE"
	engineVariable = "REFSERVER_TEST_ENGINE" // "podman --runtime runc", "docker"...
	// maxImageBytes is the image's size budget.
	maxImageBytes = 25 << 20
	// failAfter bounds every wait; reaching it is a failure, not a schedule.
	failAfter = 30 * time.Second
	// The secrets the containers are given.
	testToken    = "container-test-token"
	testPassword = "container-test-password"
)

// engine runs a container engine's command line.
type engine struct {
	argv []string
	name string // podman, docker
}

func (e engine) cmd(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	return exec.CommandContext(t.Context(), e.argv[0], slices.Concat(e.argv[1:], args)...)
}

// run runs the engine and returns its standard output, failing t if it fails.
func (e engine) run(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := e.cmd(t, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", e.name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return strings.TrimSpace(stdout.String())
}

// logs returns what the container wrote, stdout and stderr.
func (e engine) logs(t *testing.T, name string) string {
	t.Helper()
	out, err := e.cmd(t, "logs", name).CombinedOutput()
	if err != nil {
		t.Fatalf("%s logs %s: %v\n%s", e.name, name, err, out)
	}
	return string(out)
}

func containerEngine(t *testing.T) (engine, string) {
	t.Helper()
	image := os.Getenv(imageVariable)
	if image == "" {
		t.Skipf("%s names no image to test: make test-image builds one and runs this test with it", imageVariable)
	}
	argv := strings.Fields(os.Getenv(engineVariable))
	if len(argv) == 0 {
		argv = []string{"podman"}
	}
	if _, err := exec.LookPath(argv[0]); err != nil {
		t.Fatalf("%s=%q: %v", engineVariable, os.Getenv(engineVariable), err)
	}
	return engine{argv: argv, name: filepath.Base(argv[0])}, image
}

// TestContainerImage runs the image as a tester would: configured by
// variables and mounted files only, on a read-only root, not as root; it
// becomes healthy, serves the README's walkthrough, and drains on SIGTERM.
func TestContainerImage(t *testing.T) {
	e, image := containerEngine(t)
	t.Run("image", func(t *testing.T) { checkImage(t, e, image) })
	t.Run("http", func(t *testing.T) { runPlain(t, e, image) })
	t.Run("https with mounted files", func(t *testing.T) { runWithFiles(t, e, image) })
	t.Run("https with a generated certificate", func(t *testing.T) {
		c := start(t, e, image, nil, "-e", "REFSERVER_TLS=true", "-e", "REFSERVER_TOKEN="+testToken)
		c.waitHealthy(t)
	})
}

// checkImage reads the image's configuration as the engine sees it.
func checkImage(t *testing.T, e engine, image string) {
	t.Helper()
	r := factsOf(t)
	size, err := strconv.ParseInt(e.run(t, "image", "inspect", "--format", "{{.Size}}", image), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image %s: %d bytes (%.1f MiB)", image, size, float64(size)/(1<<20))
	if size > maxImageBytes {
		t.Errorf("image is %d bytes, over the budget of %d", size, maxImageBytes)
	}
	var config struct {
		User       string
		Entrypoint []string
		Env        []string
		Labels     map[string]string
		StopSignal string
	}
	if err := json.Unmarshal([]byte(e.run(t, "image", "inspect", "--format", "{{json .Config}}", image)), &config); err != nil {
		t.Fatal(err)
	}
	if config.User != r.container.user || config.StopSignal != "SIGTERM" || !slices.Equal(config.Entrypoint, r.container.entrypoint) {
		t.Errorf("user %q, stop signal %q, entry point %q; want the Containerfile's", config.User, config.StopSignal, config.Entrypoint)
	}
	if !slices.Contains(config.Env, "REFSERVER_ADDR="+r.container.env["REFSERVER_ADDR"]) {
		t.Errorf("environment %q lacks REFSERVER_ADDR", config.Env)
	}
	if got := config.Labels["org.opencontainers.image.version"]; got != model.SpecVersion {
		t.Errorf("version label %q, want the contract's %s", got, model.SpecVersion)
	}
	for _, key := range []string{"org.opencontainers.image.source", "org.opencontainers.image.licenses", "org.opencontainers.image.revision"} {
		if config.Labels[key] == "" {
			t.Errorf("no label %s", key)
		}
	}
	// Engines keep HEALTHCHECK only in docker's image format.
	health := "{{json .Config.Healthcheck}}"
	if e.name == "podman" {
		health = "{{json .HealthCheck}}"
	}
	var check struct{ Test []string }
	if err := json.Unmarshal([]byte(e.run(t, "image", "inspect", "--format", health, image)), &check); err != nil {
		t.Fatal(err)
	}
	if want := append([]string{"CMD"}, r.container.healthcheck...); !slices.Equal(check.Test, want) {
		t.Errorf("the image's health check is %q, want %q", check.Test, want)
	}
}

// container is one running container of the image.
type container struct {
	e       engine
	name    string
	base    string // http(s)://127.0.0.1:PORT/rest
	client  *http.Client
	started time.Time
}

// start runs the image with a read-only root, its port published on
// loopback, and args (-e, -v...) before the image.
func start(t *testing.T, e engine, image string, tlsConfig *tls.Config, args ...string) *container {
	t.Helper()
	r := factsOf(t)
	name := fmt.Sprintf("refserver-test-%d-%s", os.Getpid(), strings.NewReplacer(" ", "-", "/", "-").Replace(t.Name()))
	c := &container{e: e, name: name, started: time.Now()}
	port := strconv.Itoa(r.container.port)
	run := []string{"run", "-d", "--name", name, "--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "-p", "127.0.0.1::" + port}
	if e.name == "podman" {
		// podman's --read-only mounts a writable /tmp, /var/tmp and /run
		// unless told not to; docker's mounts none.
		run = append(run, "--read-only-tmpfs=false")
	}
	e.run(t, slices.Concat(run, args, []string{image})...)
	t.Cleanup(func() {
		// The test's context is done by now: not e.run.
		after := func(args ...string) ([]byte, error) {
			return exec.Command(e.argv[0], slices.Concat(e.argv[1:], args)...).CombinedOutput() //nolint:noctx // after the test's context ended
		}
		if t.Failed() {
			logs, _ := after("logs", name)
			t.Logf("logs of %s:\n%s", name, logs)
		}
		if out, err := after("rm", "-f", name); err != nil {
			t.Errorf("%s rm -f %s: %v\n%s", e.name, name, err, out)
		}
	})
	hostPort := e.run(t, "port", name, port+"/tcp")
	hostPort, _, _ = strings.Cut(hostPort, "\n")
	scheme, transport := "http", &http.Transport{}
	if tlsConfig != nil {
		scheme, transport.TLSClientConfig = "https", tlsConfig
	}
	c.base = scheme + "://" + hostPort + "/rest"
	c.client = &http.Client{Transport: spectest.Load(t).Transport(t, transport), Timeout: failAfter}
	return c
}

// waitHealthy waits until the image's own health check passes, and returns
// how long that took from the start.
func (c *container) waitHealthy(t *testing.T) time.Duration {
	t.Helper()
	deadline := time.Now().Add(failAfter)
	for {
		var check *exec.Cmd
		if c.e.name == "podman" {
			// Runs the image's HEALTHCHECK, as podman's timer would.
			check = c.e.cmd(t, "healthcheck", "run", c.name)
		} else {
			check = c.e.cmd(t, "inspect", "--format", "{{.State.Health.Status}}", c.name)
		}
		out, err := check.CombinedOutput()
		if err == nil && (c.e.name == "podman" || strings.TrimSpace(string(out)) == "healthy") {
			return time.Since(c.started)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is not healthy after %s: %v %s\nlogs:\n%s", c.name, failAfter, err, out, c.e.logs(t, c.name))
		}
	}
}

// waitForLog waits until the container's log holds text.
func (c *container) waitForLog(t *testing.T, text string) {
	t.Helper()
	deadline := time.Now().Add(failAfter)
	for !strings.Contains(c.e.logs(t, c.name), text) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the log of %s after %s", text, c.name, failAfter)
		}
	}
}

// process reads the container's main process from /proc: the user and
// group it runs as inside the container, its capabilities and its memory.
type process struct {
	uid, gid   int
	capEff     string
	rssKiB     int
	hostPid    string
	statusText string
}

func (c *container) process(t *testing.T) process {
	t.Helper()
	p := process{hostPid: c.e.run(t, "inspect", "--format", "{{.State.Pid}}", c.name)}
	status, err := os.ReadFile("/proc/" + p.hostPid + "/status")
	if err != nil {
		t.Fatalf("the container's process: %v", err)
	}
	p.statusText = string(status)
	field := func(name string) []string {
		for line := range strings.Lines(p.statusText) {
			if rest, ok := strings.CutPrefix(line, name+":"); ok {
				return strings.Fields(rest)
			}
		}
		t.Fatalf("no %s in /proc/%s/status", name, p.hostPid)
		return nil
	}
	p.uid = insideID(t, p.hostPid, "uid_map", field("Uid"))
	p.gid = insideID(t, p.hostPid, "gid_map", field("Gid"))
	p.capEff = field("CapEff")[0]
	if p.rssKiB, err = strconv.Atoi(field("VmRSS")[0]); err != nil {
		t.Fatal(err)
	}
	return p
}

// insideID maps the effective id of a process, as the host sees it, into
// the process's user namespace; all four ids must agree.
func insideID(t *testing.T, pid, mapFile string, ids []string) int {
	t.Helper()
	if len(ids) != 4 || len(slices.Compact(slices.Clone(ids))) != 1 {
		t.Errorf("ids %v: facts, effective, saved and file system ids differ", ids)
	}
	host, err := strconv.Atoi(ids[1])
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("/proc/" + pid + "/" + mapFile)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(raw)) {
		var inside, outside, count int
		if _, err := fmt.Sscan(line, &inside, &outside, &count); err == nil && host >= outside && host < outside+count {
			return inside + host - outside
		}
	}
	t.Fatalf("host id %d is not mapped in /proc/%s/%s:\n%s", host, pid, mapFile, raw)
	return -1
}

// runPlain: demo data, secrets from variables; the README's walkthrough;
// then SIGTERM while a request is in flight.
func runPlain(t *testing.T, e engine, image string) {
	t.Helper()
	r := factsOf(t)
	c := start(t, e, image, nil, "-e", "REFSERVER_TOKEN="+testToken, "-e", "REFSERVER_ADMIN_PASSWORD="+testPassword)
	healthy := c.waitHealthy(t)
	p := c.process(t)
	t.Logf("healthy %s after %s run; at rest: %d KiB resident", c.name, healthy.Round(time.Millisecond), p.rssKiB)
	if p.uid != r.container.uid || p.gid == 0 || p.uid == 0 {
		t.Errorf("runs as %d:%d inside the container, want %s", p.uid, p.gid, r.container.user)
	}
	if strings.Trim(p.capEff, "0") != "" {
		t.Errorf("effective capabilities %s, want none", p.capEff)
	}

	walkthrough(t, c, "administrator", testPassword, "EXAMPLE", []string{
		"7cdd624f-37d1-46c1-ab96-695a5d13956f", "2f1c0b7e-5a7d-4c8b-9e5f-1a2b3c4d5e6f",
	}, nil)
	t.Logf("after the walkthrough: %d KiB resident", c.process(t).rssKiB)
	drain(t, c)
}

// walkthrough is the README's: log in, list a pool's connected sessions,
// warn them, read the record, log out. Sessions of failed are expected to
// fail with that status.
func walkthrough(t *testing.T, c *container, user, password, domain string, want []string, failed map[string]int) {
	t.Helper()
	var tokens model.AuthTokens
	c.call(t, http.MethodPost, "/login", "", fmt.Sprintf(`{"username":%q,"password":%q,"domain":%q}`, user, password, domain), http.StatusOK, &tokens)

	filter := `{"type":"And","filters":[{"type":"Equals","name":"desktop_pool_id","value":"pool-finance"},` +
		`{"type":"Equals","name":"session_state","value":"CONNECTED"}]}`
	var sessions []model.SessionInfo
	c.call(t, http.MethodGet, "/inventory/v1/sessions?filter="+url.QueryEscape(filter), tokens.AccessToken, "", http.StatusOK, &sessions)
	var ids []string
	for _, s := range sessions {
		ids = append(ids, s.ID)
	}
	if !slices.Equal(ids, want) {
		t.Fatalf("connected sessions of pool-finance: %v, want %v", ids, want)
	}

	body, err := json.Marshal(model.SessionSendMessageSpec{Message: "Restart in 15 minutes", MessageType: model.SessionSendMessageSpecMessageTypeWARNING, SessionIDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	var items []model.BulkItemResponseInfo
	c.call(t, http.MethodPost, "/inventory/v1/sessions/action/send-message", tokens.AccessToken, string(body), http.StatusOK, &items)
	var delivered []string
	for _, item := range items {
		wantStatus, fails := failed[item.ID]
		if !fails {
			wantStatus = http.StatusOK
			delivered = append(delivered, item.ID)
		}
		if int(item.StatusCode) != wantStatus {
			t.Errorf("session %s: status %d, want %d", item.ID, item.StatusCode, wantStatus)
		}
	}

	var record model.DeliveredMessages
	c.call(t, http.MethodGet, "/refserver/v1/messages", testToken, "", http.StatusOK, &record)
	var recorded []string
	for _, m := range record.Messages {
		recorded = append(recorded, m.SessionID)
		if m.Message != "Restart in 15 minutes" || m.MessageType != model.DeliveredMessageMessageTypeWARNING {
			t.Errorf("recorded %+v, want the warning as sent", m)
		}
	}
	if !slices.Equal(recorded, delivered) {
		t.Errorf("the record holds %v, want %v", recorded, delivered)
	}
	c.call(t, http.MethodPost, "/logout", "", fmt.Sprintf(`{"refresh_token":%q}`, tokens.RefreshToken), http.StatusOK, nil)
}

// call sends a request to the container and decodes its answer into v.
func (c *container) call(t *testing.T, method, path, token, body string, wantStatus int, v any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, c.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != wantStatus {
		t.Fatalf("%s %s: %s %s, want %d", method, path, resp.Status, raw, wantStatus)
	}
	if v != nil {
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// drain sends SIGTERM while a request is in flight (held by a delay fault
// rule): the request gets its answer, and the server stops on its own with
// status 0 and says so.
func drain(t *testing.T, c *container) {
	t.Helper()
	hold := int32(3000)
	c.call(t, http.MethodPost, "/refserver/v1/faults", testToken, mustJSON(t, model.DelayFaultRule{
		Operation: model.FaultOperationListSessions, Action: model.DelayFaultRuleActionDelay, DelayMs: hold,
	}), http.StatusCreated, nil)
	type answer struct {
		sessions []model.SessionInfo
		err      error
	}
	answered := make(chan answer, 1)
	go func() {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, c.base+"/inventory/v1/sessions", http.NoBody)
		if err != nil {
			answered <- answer{err: err}
			return
		}
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := c.client.Do(req)
		if err != nil {
			answered <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		var a answer
		if resp.StatusCode != http.StatusOK {
			a.err = fmt.Errorf("answer %s", resp.Status)
		} else {
			a.err = json.NewDecoder(resp.Body).Decode(&a.sessions)
		}
		answered <- a
	}()
	c.waitForLog(t, "msg=fault")
	c.e.run(t, "kill", "--signal", "SIGTERM", c.name)
	select {
	case a := <-answered:
		if a.err != nil || len(a.sessions) != 6 {
			t.Errorf("the request in flight at SIGTERM: %d sessions, %v; want its answer", len(a.sessions), a.err)
		}
	case <-time.After(failAfter):
		t.Fatalf("no answer to the request in flight %s after SIGTERM", failAfter)
	}
	if status := c.e.run(t, "wait", c.name); status != "0" {
		t.Errorf("exit status %s after SIGTERM, want 0", status)
	}
	logs := c.e.logs(t, c.name)
	down, stopped := strings.Index(logs, `msg="shutting down"`), strings.Index(logs, "msg=stopped")
	if down < 0 || stopped < down {
		t.Errorf("the log does not say it shut down, then stopped:\n%s", logs)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// runWithFiles: the recipes' data file and a certificate of one's own,
// mounted read-only; HTTPS that a client verifies with that certificate.
func runWithFiles(t *testing.T, e engine, image string) {
	t.Helper()
	dir := t.TempDir()
	certPEM, keyPEM := certificate(t)
	data, err := os.ReadFile("lab.json")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"lab.json": data, "cert.pem": certPEM, "key.pem": keyPEM}
	var mounts []string
	for name, content := range files {
		file := filepath.Join(dir, name)
		// The container's user is not the file's owner: it reads as others do.
		if err := os.WriteFile(file, content, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(file, 0o644); err != nil {
			t.Fatal(err)
		}
		mounts = append(mounts, "-v", file+":/config/"+name+":ro")
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)
	c := start(t, e, image, &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}, slices.Concat(mounts, []string{
		"-e", "REFSERVER_TOKEN=" + testToken, "-e", "REFSERVER_DATA=/config/lab.json",
		"-e", "REFSERVER_TLS_CERT=/config/cert.pem", "-e", "REFSERVER_TLS_KEY=/config/key.pem",
	})...)
	c.waitHealthy(t)
	// lab.json's password and its fault rule: one session's agent does not
	// answer the first send.
	walkthrough(t, c, "administrator", "choose-one", "EXAMPLE", []string{
		"7cdd624f-37d1-46c1-ab96-695a5d13956f", "2f1c0b7e-5a7d-4c8b-9e5f-1a2b3c4d5e6f",
	}, map[string]int{"2f1c0b7e-5a7d-4c8b-9e5f-1a2b3c4d5e6f": http.StatusGatewayTimeout})
	if logs := c.e.logs(t, c.name); !strings.Contains(logs, "data=/config/lab.json") || !strings.Contains(logs, "scheme=https") {
		t.Errorf("the log does not say it serves HTTPS with the data file:\n%s", logs)
	}
}

// certificate makes a self-signed certificate for 127.0.0.1 and its key, in
// PEM.
func certificate(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "refserver container test"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
}
