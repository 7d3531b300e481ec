package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuPin places the server under test on one core and the load generator on
// another.
type cpuPin struct {
	taskset   string
	serverCPU string
	loadCPU   string
}

// findPin returns nil, and why, when pinning is not possible here.
func findPin() (*cpuPin, string) {
	if runtime.GOOS != "linux" {
		return nil, "not pinned: not Linux"
	}
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		return nil, "not pinned: taskset not found"
	}
	if runtime.NumCPU() < 2 {
		return nil, "not pinned: fewer than 2 CPUs"
	}
	return &cpuPin{taskset: taskset, serverCPU: "0", loadCPU: "1"}, "server pinned to CPU 0 and load generator to CPU 1 (taskset)"
}

// process is a server under test that this program started.
type process struct {
	name string
	url  string // http://127.0.0.1:PORT
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{} // closed when the process has ended
	err  error         // how it ended, once done is closed
}

// freePort asks the kernel for an unused loopback port.
func freePort(ctx context.Context) (int, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, fmt.Errorf("find a free port: unexpected address %v", l.Addr())
	}
	port := addr.Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	return port, nil
}

// start runs argv (pinned when pin is set) in its own process group, with its
// output in dir/name.log.
func start(ctx context.Context, dir, name string, pin *cpuPin, port int, env []string, argv ...string) (*process, error) {
	if pin != nil {
		argv = append([]string{pin.taskset, "-c", pin.serverCPU}, argv...)
	}
	log, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...) //nolint:gosec // G204: runs the binaries named on its own command line
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, url: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd, log: log, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// waitReady polls until a POST of body to path answers 200, the process ends,
// or timeout passes.
func (p *process) waitReady(ctx context.Context, path, token string, body []byte, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		status, _, err := post(ctx, p.url+path, token, body)
		if err == nil && status == http.StatusOK {
			return nil
		}
		last = err
		if err == nil {
			last = fmt.Errorf("status %d", status)
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before it was ready (%w); its output:\n%s", p.name, p.err, p.output())
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s: %w; its output:\n%s", p.name, timeout, last, p.output())
		case <-tick.C:
		}
	}
}

// peakRSS is the process's high-water resident set size (VmHWM), in bytes.
func (p *process) peakRSS() (int64, error) { return procStatusBytes(p.cmd.Process.Pid, "VmHWM:") }

// cpuTime is the user and system CPU time the process has used, from
// /proc/PID/stat, in clock ticks of 10 ms (USER_HZ is 100 on Linux).
func (p *process) cpuTime() (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("read CPU time: %w", err)
	}
	// The command name, in parentheses, may hold spaces: count after it.
	_, rest, ok := strings.Cut(string(data), ") ")
	fields := strings.Fields(rest)
	if !ok || len(fields) < 13 {
		return 0, fmt.Errorf("read CPU time: unexpected /proc/%d/stat", p.cmd.Process.Pid)
	}
	var ticks int64
	for _, f := range fields[11:13] { // utime and stime, fields 14 and 15
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("read CPU time: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// resetPeakRSS sets VmHWM back to the current RSS (Linux 4.0 and later).
func (p *process) resetPeakRSS() error {
	path := fmt.Sprintf("/proc/%d/clear_refs", p.cmd.Process.Pid)
	if err := os.WriteFile(path, []byte("5"), 0); err != nil {
		return fmt.Errorf("reset peak RSS: %w", err)
	}
	return nil
}

// rss is the process's current resident set size (VmRSS), in bytes.
func (p *process) rss() (int64, error) { return procStatusBytes(p.cmd.Process.Pid, "VmRSS:") }

func procStatusBytes(pid int, key string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", key, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 3 && fields[0] == key && fields[2] == "kB" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("read %s: %w", key, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no %s", pid, key)
}

// stop ends the process group with SIGTERM, then SIGKILL after grace.
func (p *process) stop(grace time.Duration) {
	defer p.log.Close()
	pgid := p.cmd.Process.Pid
	if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
}

func (p *process) output() string {
	data, err := os.ReadFile(p.log.Name())
	if err != nil {
		return err.Error()
	}
	const keep = 4000
	if len(data) > keep {
		data = data[len(data)-keep:]
	}
	return string(data)
}

// post sends one request as wrk does and returns the status and body.
func post(ctx context.Context, url, token string, body []byte) (int, []byte, error) {
	ans, err := exchange(ctx, url, token, body)
	return ans.status, ans.body, err
}

// exchange POSTs body as JSON with the bearer token and returns the answer.
func exchange(ctx context.Context, url, token string, body []byte) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return answer{}, fmt.Errorf("new request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("POST %s: %w", url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{status: resp.StatusCode}, fmt.Errorf("POST %s: read body: %w", url, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// clearMessages empties the reference server's record of deliveries, so that
// every round starts from the same state.
func clearMessages(ctx context.Context, baseURL, token string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, baseURL+"/rest/refserver/v1/messages", nil)
	if err != nil {
		return fmt.Errorf("new request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("clear messages: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("clear messages: status %d", resp.StatusCode)
	}
	return nil
}

// clearPeriodically empties the record every interval until the returned
// function is called; that returns the first error.
func clearPeriodically(ctx context.Context, baseURL string, every time.Duration) func() error {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				done <- nil
				return
			case <-tick.C:
				if err := clearMessages(ctx, baseURL, token); err != nil && ctx.Err() == nil {
					done <- err
					return
				}
			}
		}
	}()
	return func() error {
		cancel()
		return <-done
	}
}
