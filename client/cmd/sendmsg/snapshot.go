package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/hzkit/sendmessage/client"
	"github.com/hzkit/sendmessage/internal/connflags"
)

// envSalt is read when --salt is not given: a salt on the command line is
// seen by every user of the computer.
const envSalt = "HORIZON_SNAPSHOT_SALT"

const snapshotLong = `sendmsg snapshot reads every session of the server, page by page, and writes
them as a data file of the reference server (refserver -data FILE): an
inventory shaped like yours, without personal data. It sends nothing.

Every field keeps its shape, but session ids, user SIDs, machine and client
names, addresses, DNS names and location ids are replaced by pseudonyms: a
keyed hash of the value, so that the same user in two sessions gets the same
pseudonym. With the same --salt (or ` + envSalt + `), a later snapshot gives
the same pseudonyms; keep the salt secret, as anyone who has it can test
guesses. Desktop pool, farm and access group names are replaced too, unless
--keep-pool-names keeps them. Versions, states, types, durations and
application names are kept; --shift-time moves every time.

Fields this contract does not have (a newer Horizon adds some) are left out,
and the command says which. The file has no users: add an entry to "users"
to log in to the reference server, or use its token.`

type snapshotOptions struct {
	out       string
	salt      string
	keepPools bool
	shift     time.Duration
}

// newSnapshotCommand is "sendmsg snapshot".
func newSnapshotCommand(d *deps, o *options) *cobra.Command {
	var so snapshotOptions
	cmd := &cobra.Command{
		Use:   "snapshot --out FILE [flags]",
		Short: "Write the sessions, scrubbed, as a reference server data file",
		Long:  snapshotLong,
		Example: `  sendmsg snapshot --out lab.json
  ` + envSalt + `=... sendmsg snapshot --out lab.json --keep-pool-names --shift-time -720h
  refserver -data lab.json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return &usageErr{cmd: cmd.CommandPath(), err: fmt.Errorf("snapshot takes no arguments, only flags: %q", args[0])}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.FromEnv(cmd.Flags(), d.getenv)
			if !cmd.Flags().Changed("salt") {
				so.salt = d.getenv(envSalt)
			}
			err := o.checkConnection()
			if err == nil && so.out == "" {
				err = usageError("--out FILE is required: where to write the data file")
			}
			var u *usageErr
			if errors.As(err, &u) {
				u.cmd = cmd.CommandPath()
			}
			if err != nil {
				return err
			}
			return snapshot(cmd.Context(), o, &so, d)
		},
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	fs := cmd.Flags()
	fs.SortFlags = false
	addConnectionFlags(fs, o)
	fs.StringVar(&so.out, "out", "", "write the data file to `FILE`")
	fs.StringVar(&so.salt, "salt", "", "key of the pseudonyms, the same for stable ones; a new one each time when empty (env "+envSalt+")")
	fs.BoolVar(&so.keepPools, "keep-pool-names", false, "keep desktop pool, farm and access group names as they are")
	fs.DurationVar(&so.shift, "shift-time", 0, "add this `DURATION` to every time, such as -720h")
	inGroup(fs, groupOutput, "out", "salt", "keep-pool-names", "shift-time")
	_ = cmd.MarkFlagFilename("out", "json")
	cmd.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &usageErr{cmd: cmd.CommandPath(), err: err}
	})
	return cmd
}

// snapshot reads the sessions and writes them, scrubbed, to --out.
func snapshot(ctx context.Context, o *options, so *snapshotOptions, d *deps) (err error) {
	defer func() { err = explain(err, o) }()
	if o.Insecure {
		fmt.Fprintln(d.stderr, "sendmsg: "+connflags.InsecureWarning)
	}
	key := []byte(so.salt)
	if len(key) == 0 {
		key = make([]byte, 32)
		_, _ = rand.Read(key) // never fails (crypto/rand)
		fmt.Fprintf(d.stderr, "sendmsg: no --salt (or %s): the pseudonyms are new with each snapshot\n", envSalt)
	}
	pages := &pageRecorder{}
	c, err := newClient(ctx, o, d, pages.wrap)
	if err != nil {
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if closeErr := c.Close(closeCtx); closeErr != nil && err == nil {
			err = closeErr
		}
	}()
	var listed []client.Session
	_, err = retrier{o: o, d: d}.do(ctx, lookupVerdict, func(ctx context.Context) error {
		pages.reset()
		var err error
		listed, err = c.ListSessions(ctx, client.Filter{})
		return err
	})
	if err != nil {
		return err
	}
	raw, err := pages.sessions(listed)
	if err != nil {
		return err
	}
	s := newScrubber(key, so.keepPools, so.shift)
	scrubbed := make([]map[string]any, len(raw))
	for i, session := range raw {
		scrubbed[i] = s.session(session)
	}
	if err := writeDataFile(so.out, scrubbed); err != nil {
		return err
	}
	reportSnapshot(d.stdout, so, len(scrubbed), s)
	return nil
}

// pageRecorder keeps the JSON of each page of sessions as the server sent
// it: the client's Session cannot say which fields were absent, nor keep
// those it does not know.
type pageRecorder struct {
	next  http.RoundTripper
	mu    sync.Mutex
	pages map[int][]byte
}

func (p *pageRecorder) wrap(next http.RoundTripper) http.RoundTripper {
	p.next = next
	return p
}

func (p *pageRecorder) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pages = map[int][]byte{}
}

// RoundTrip keeps the body of each listing page answered 200, by its page
// number, and passes the answer on.
func (p *pageRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := p.next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK || req.Method != http.MethodGet ||
		!strings.HasSuffix(req.URL.Path, "/inventory/v1/sessions") {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, client.DefaultMaxResponseBytes+1))
	_ = resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", req.URL.Redacted(), err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	page, _ := strconv.Atoi(req.URL.Query().Get("page"))
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pages[page] = body
	return resp, nil
}

// sessions decodes the recorded pages, in order, and checks them against
// the sessions the client listed from them.
func (p *pageRecorder) sessions(listed []client.Session) ([]map[string]any, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []map[string]any
	for _, page := range slices.Sorted(maps.Keys(p.pages)) {
		decoder := json.NewDecoder(bytes.NewReader(p.pages[page]))
		decoder.UseNumber()
		var items []map[string]any
		if err := decoder.Decode(&items); err != nil {
			return nil, fmt.Errorf("list sessions, page %d: read its JSON: %w", page, err)
		}
		out = append(out, items...)
	}
	if len(out) != len(listed) {
		return nil, fmt.Errorf("list sessions: the pages hold %d sessions, the listing %d", len(out), len(listed))
	}
	for i, s := range out {
		if s["id"] != listed[i].ID {
			return nil, fmt.Errorf("list sessions: session %d of the pages is %v, of the listing %s", i, s["id"], listed[i].ID)
		}
	}
	return out, nil
}

// writeDataFile writes the sessions as a data file, whole or not at all.
func writeDataFile(path string, sessions []map[string]any) error {
	data, err := json.MarshalIndent(map[string]any{"sessions": sessions}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode the data file: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write the data file: %w", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	_, err = tmp.Write(append(data, '\n'))
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write the data file: %w", err)
	}
	return nil
}

// countedPaths writes "a (6 sessions), b (1 session)".
func countedPaths(counts map[string]int) string {
	var parts []string
	for _, path := range slices.Sorted(maps.Keys(counts)) {
		unit := "sessions"
		if counts[path] == 1 {
			unit = "session"
		}
		parts = append(parts, fmt.Sprintf("%s (%d %s)", path, counts[path], unit))
	}
	return strings.Join(parts, ", ")
}

// reportSnapshot says what was written, and what was left out.
func reportSnapshot(w io.Writer, so *snapshotOptions, n int, s *scrubber) {
	replaced := "session ids, user SIDs, machine and client names, addresses, DNS names, location ids, pool, farm and access group names"
	if so.keepPools {
		replaced = "session ids, user SIDs, machine and client names, addresses, DNS names and location ids (pool, farm and access group names kept)"
	}
	fmt.Fprintf(w, "Wrote %d sessions to %s: %s replaced by pseudonyms", n, so.out, replaced)
	if so.shift != 0 {
		fmt.Fprintf(w, "; times shifted by %s", so.shift)
	}
	fmt.Fprintln(w, ".")
	if len(s.unknown) > 0 {
		fmt.Fprintf(w, "Left out fields this contract does not have: %s.\n", countedPaths(s.unknown))
	}
	if len(s.refused) > 0 {
		fmt.Fprintf(w, "Left out values this contract does not allow (a type or an enum value it does not have): %s.\n", countedPaths(s.refused))
	}
	fmt.Fprintf(w, "Start the reference server with it: refserver -data %s\n", so.out)
}
