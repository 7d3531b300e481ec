package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// serverFlags are the flags of the server binary and their defaults, as its
// -h prints them ("" when it prints none).
type serverFlags map[string]string

var (
	flagLine    = regexp.MustCompile(`^  -([a-z0-9-]+)`)
	defaultLine = regexp.MustCompile(`\(default ([^)]*)\)\s*$`)
)

// readFlags asks the binary for its flags. A flag that the design has and
// the server lacks is then reported, not passed: the same run works on a
// server from before the design and after it.
func readFlags(ctx context.Context, bin string) (serverFlags, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "-h")
	cmd.Stdout, cmd.Stderr = &out, &out
	_ = cmd.Run() // -h exits 2 by the flag package's convention
	flags := parseFlags(out.String())
	if len(flags) == 0 {
		return nil, fmt.Errorf("%s -h printed no flags: not a refserver? %.200q", bin, out.String())
	}
	return flags, nil
}

// parseFlags reads the flags and their defaults from the usage text of
// Go's flag package.
func parseFlags(usage string) serverFlags {
	flags := serverFlags{}
	last := ""
	for line := range strings.Lines(usage) {
		if m := flagLine.FindStringSubmatch(line); m != nil {
			last = m[1]
			flags[last] = ""
			continue
		}
		if m := defaultLine.FindStringSubmatch(strings.TrimRight(line, "\n")); m != nil && last != "" {
			flags[last] = strings.Trim(m[1], `"`)
		}
	}
	return flags
}

// limit is the default of a byte-count flag, or fallback when the server
// has no such flag.
func (f serverFlags) limit(name string, fallback int) int {
	if n, err := strconv.Atoi(f[name]); err == nil && n > 0 {
		return n
	}
	return fallback
}

func (h *harness) maxBody() int   { return h.flags.limit("max-body-bytes", mib) }
func (h *harness) maxHeader() int { return h.flags.limit("max-header-bytes", 1<<20) }

// server is a refserver process under attack.
type server struct {
	cmd     *exec.Cmd
	addr    string
	base    string // http(s)://addr
	tls     bool
	logName string
	outName string
	done    chan struct{}
	maxRSS  atomic.Int64 // the highest resident memory the watchdog saw
	killed  atomic.Bool  // stopped by the watchdog past rssKillAt
}

// startOptions are how an attack wants its server.
type startOptions struct {
	tls      bool
	wrap     []string // a command the server runs under, such as prlimit
	args     []string
	dataFile string // instead of the harness's
	label    string // after the attack's name, in the names of the server's files
}

// serverEnv is the environment of a server: without the caller's
// REFSERVER_* variables (the flags stay at their defaults), with the
// operator's token (not on the command line, where ps shows it).
func serverEnv() []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "REFSERVER_") })
	return append(env, "REFSERVER_TOKEN="+operatorToken)
}

// command is the server's command line and its output files.
func (h *harness) command(ctx context.Context, name, addr string, o startOptions) (*exec.Cmd, string, string, error) {
	data := o.dataFile
	if data == "" {
		data = h.dataFile
	}
	argv := append(slices.Clone(o.wrap), h.bin, "-addr", addr, "-data", data)
	if o.tls {
		argv = append(argv, "-tls")
	}
	argv = append(argv, o.args...)
	logName, outName := filepath.Join(h.dir, name+".log"), filepath.Join(h.dir, name+".out")
	logFile, err := os.Create(logName)
	if err != nil {
		return nil, "", "", fmt.Errorf("log file: %w", err)
	}
	outFile, err := os.Create(outName)
	if err != nil {
		logFile.Close()
		return nil, "", "", fmt.Errorf("stdout file: %w", err)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...) //nolint:gosec // G204: the binary named on the command line
	cmd.Env = serverEnv()
	cmd.Stdout, cmd.Stderr = outFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd, logName, outName, nil
}

// launch starts the server process and its watchdog, without waiting for
// it to serve.
func (h *harness) launch(ctx context.Context, name string, o startOptions) (*server, error) {
	port, err := freePort(ctx)
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd, logName, outName, err := h.command(ctx, name, addr, o)
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start refserver: %w", err)
	}
	s := &server{cmd: cmd, addr: addr, base: "http://" + addr, tls: o.tls, logName: logName, outName: outName, done: make(chan struct{})}
	if o.tls {
		s.base = "https://" + addr
	}
	go func() {
		_ = cmd.Wait()
		closeFiles(cmd)
		close(s.done)
	}()
	go s.watch()
	return s, nil
}

func closeFiles(cmd *exec.Cmd) {
	for _, w := range []any{cmd.Stdout, cmd.Stderr} {
		if f, ok := w.(*os.File); ok {
			f.Close()
		}
	}
}

// start runs a server for the attack and waits until it answers. The free
// port it was given may be taken by another program's connection before the
// server listens on it: then it tries another, twice at most.
func (h *harness) start(ctx context.Context, o startOptions) (*server, error) {
	for try := 1; ; try++ {
		s, err := h.startOnce(ctx, o)
		if err == nil || try == 3 || !strings.Contains(err.Error(), "address already in use") {
			return s, err
		}
	}
}

// startOnce runs a server on one free port and waits until it answers.
func (h *harness) startOnce(ctx context.Context, o startOptions) (*server, error) {
	s, err := h.launch(ctx, h.current+o.label, o)
	if err != nil {
		return nil, err
	}
	client := newClient(operatorIP, clientOptions{})
	deadline := time.Now().Add(15 * time.Second)
	for {
		status, _, err := get(ctx, client, s.base+healthPath, "")
		if status == http.StatusOK {
			return s, nil
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("refserver exited at start-up: %s", strings.TrimSpace(readFile(s.logName)))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("refserver not ready in 15 s: %w", err)
		}
	}
}

// watch polls resident memory until the process ends, keeps the highest,
// and stops the process past rssKillAt.
func (s *server) watch() {
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-tick.C:
		}
		rss := s.status("VmRSS:")
		if rss > s.maxRSS.Load() {
			s.maxRSS.Store(rss)
		}
		if rss > rssKillAt && !s.killed.Swap(true) {
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		}
	}
}

func (s *server) stop() {
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
}

func (s *server) alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// status reads one figure of /proc/PID/status, in bytes; -1 when gone.
func (s *server) status(key string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 3 && fields[0] == key {
			kb, _ := strconv.ParseInt(fields[1], 10, 64)
			return kb << 10
		}
	}
	return -1
}

// rss is the process's resident memory now.
func (s *server) rss() int64 { return s.status("VmRSS:") }

// peak is the process's highest resident memory: the kernel's count while
// it runs, its rusage once it has ended, and never less than the watchdog
// saw.
func (s *server) peak() int64 {
	peak := s.maxRSS.Load()
	if s.alive() {
		peak = max(peak, s.status("VmHWM:"))
	} else if ps := s.cmd.ProcessState; ps != nil {
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			peak = max(peak, ru.Maxrss<<10)
		}
	}
	return peak
}

// cpu is the CPU time the process has used.
func (s *server) cpu() time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	_, rest, _ := strings.Cut(string(data), ") ")
	fields := strings.Fields(rest)
	if len(fields) < 13 {
		return -1
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

func (s *server) logBytes() int64 {
	info, err := os.Stat(s.logName)
	if err != nil {
		return -1
	}
	return info.Size()
}

func readFile(name string) string {
	b, _ := os.ReadFile(name)
	return string(b)
}

func freePort(ctx context.Context) (int, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, fmt.Errorf("free port: not a TCP address: %v", l.Addr())
	}
	return addr.Port, nil
}
