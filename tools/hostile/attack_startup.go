package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Start-up: the server's flags against the design's, and data files it
// must refuse.

// hugeDataBytes: a data file of 625 MB, as first measured, written sparse
// (it costs no disk).
const hugeDataBytes = 625_000_000

// dataFileTooLarge: a data file far past -max-data-bytes, and /dev/zero:
// start-up stops at once with a clear error, in bounded memory.
func dataFileTooLarge(ctx context.Context, h *harness) error {
	name := filepath.Join(h.dir, "huge.json")
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("huge data file: %w", err)
	}
	_, err = f.WriteString(`{"sessions":[`)
	if err == nil {
		err = f.Truncate(hugeDataBytes)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("huge data file: %w", err)
	}
	if err != nil {
		return fmt.Errorf("huge data file: %w", err)
	}
	defer os.Remove(name)
	for i, c := range []struct{ what, file string }{{"a 625 MB file", name}, {"/dev/zero", "/dev/zero"}} {
		if err := h.startupRows(ctx, c.what, c.file, fmt.Sprintf("-%d", i)); err != nil {
			return err
		}
	}
	return nil
}

// startupRows starts a server on file and reports how it stopped.
func (h *harness) startupRows(ctx context.Context, what, file, label string) error {
	s, err := h.launch(ctx, h.current+label, startOptions{dataFile: file})
	if err != nil {
		return err
	}
	start := time.Now()
	timer := time.NewTimer(dataFileExitWithin)
	defer timer.Stop()
	exited := false
	select {
	case <-s.done:
		exited = true
	case <-timer.C:
		s.stop()
	}
	took := time.Since(start).Round(10 * time.Millisecond)
	var outcome string
	switch {
	case s.killed.Load():
		outcome = "stopped by the runner past " + mb(rssKillAt)
	case !exited:
		outcome = fmt.Sprintf("still running after %s", dataFileExitWithin)
	default:
		outcome = fmt.Sprintf("exit status %d in %s", s.cmd.ProcessState.ExitCode(), took)
	}
	stopped := exited && !s.killed.Load() && s.cmd.ProcessState.ExitCode() > 0
	h.budget("-data "+what+": start-up stops", outcome, "within "+dataFileExitWithin.String(), stopped)
	message, _, _ := strings.Cut(strings.TrimSpace(readFile(s.logName)), "\n")
	named := stopped && contains(message, "max-data-bytes")
	if len(message) > 100 { // the table shows the start; the check read it whole
		message = message[:100] + "..."
	}
	h.budget("  its error names -max-data-bytes", message, "max-data-bytes", named)
	peak := s.peak()
	h.budget("  peak RSS", mb(peak), "< "+mb(rssCeiling), peak < rssCeiling && !s.killed.Load())
	return nil
}

// designFlagsAttack compares the server's flags and defaults with the
// design's.
func designFlagsAttack(_ context.Context, h *harness) error {
	for _, f := range designFlags {
		value, ok := h.flags[f.name]
		if !ok {
			h.unsupported("-"+f.name, "not a flag of this server")
			continue
		}
		if f.value == "" {
			h.budget("-"+f.name, "present", "present", true)
			continue
		}
		h.budget("-"+f.name+" default", value, f.value, value == f.value)
	}
	return nil
}
