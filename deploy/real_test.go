// Package deploy holds the recipes that run the reference server's container
// image (GitHub Actions, GitLab CI, compose, Kubernetes); its tests hold them,
// and the Containerfile, to the names the code really uses, and run the image.
package deploy

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hzkit/sendmessage/gen/apiclient"
	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/server"
)

// facts is what the recipes must agree with, each read from where it is
// decided: the Makefile names the image and the contract its tag, refserver's
// own usage lists its variables, the spec the health path, the Containerfile
// the port and the user.
type facts struct {
	image      string          // name:tag that make image builds
	envNames   map[string]bool // REFSERVER_* variables refserver reads
	flags      map[string]bool // refserver's flags, without the dash
	healthPath string          // the health operation's path, /rest included
	container  containerfile
}

var (
	factsOnce  sync.Once
	factsValue facts
	factsErr   error
)

// factsOf reads them once for all tests.
func factsOf(t *testing.T) facts {
	t.Helper()
	factsOnce.Do(func() { factsValue, factsErr = readFacts() })
	if factsErr != nil {
		t.Fatal(factsErr)
	}
	return factsValue
}

func readFacts() (facts, error) {
	var r facts
	makefile, err := os.ReadFile("../Makefile")
	if err != nil {
		return r, fmt.Errorf("read the Makefile: %w", err)
	}
	name := regexp.MustCompile(`(?m)^IMAGE_NAME \?= (\S+)$`).FindSubmatch(makefile)
	if name == nil {
		return r, errors.New("the Makefile has no line IMAGE_NAME ?= NAME")
	}
	r.image = string(name[1]) + ":" + model.SpecVersion
	if r.envNames, r.flags, err = refserverUsage(); err != nil {
		return r, err
	}
	health, err := apiclient.NewGetHealthRequest("http://refserver" + server.BasePath + "/")
	if err != nil {
		return r, fmt.Errorf("the health operation's request: %w", err)
	}
	r.healthPath = health.URL.Path
	if r.container, err = readContainerfile("../Containerfile"); err != nil {
		return r, err
	}
	return r, nil
}

// refserverUsage builds refserver and reads its flags and their variables
// from what -h prints.
func refserverUsage() (envNames, flags map[string]bool, err error) {
	dir, err := os.MkdirTemp("", "deploy-test-")
	if err != nil {
		return nil, nil, fmt.Errorf("temporary directory: %w", err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "refserver")
	if out, err := exec.Command("go", "build", "-o", bin, "../server/cmd/refserver").CombinedOutput(); err != nil { //nolint:noctx // a build, not a request
		return nil, nil, fmt.Errorf("go build refserver: %w\n%s", err, out)
	}
	// -h prints the usage and exits 2.
	out, _ := exec.Command(bin, "-h").CombinedOutput() //nolint:noctx // prints and exits
	if !strings.Contains(string(out), "Usage of refserver") {
		return nil, nil, fmt.Errorf("refserver -h printed no usage:\n%s", out)
	}
	envNames, flags = map[string]bool{}, map[string]bool{}
	for _, m := range regexp.MustCompile(`\(env (REFSERVER_[A-Z0-9_]+)\)`).FindAllStringSubmatch(string(out), -1) {
		envNames[m[1]] = true
	}
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`).FindAllStringSubmatch(string(out), -1) {
		flags[m[1]] = true
	}
	if !envNames["REFSERVER_ADDR"] || !flags["healthcheck"] {
		return nil, nil, fmt.Errorf("refserver -h lists no REFSERVER_ADDR or no -healthcheck:\n%s", out)
	}
	return envNames, flags, nil
}

// containerfile is what the tests read of the Containerfile.
type containerfile struct {
	from        []string
	user        string
	uid         int
	env         map[string]string
	expose      []string
	entrypoint  []string
	healthcheck []string // the command of HEALTHCHECK ... CMD [...]
	labels      map[string]string
	port        int // of REFSERVER_ADDR
}

// readContainerfile reads the instructions that matter here; line
// continuations are joined, comments dropped.
func readContainerfile(path string) (containerfile, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return containerfile{}, fmt.Errorf("read the Containerfile: %w", err)
	}
	c := containerfile{env: map[string]string{}, labels: map[string]string{}}
	var lines []string
	joined := ""
	for line := range strings.Lines(string(raw)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			joined += cont + " "
			continue
		}
		lines = append(lines, joined+line)
		joined = ""
	}
	for _, line := range lines {
		instruction, args, _ := strings.Cut(line, " ")
		args = strings.TrimSpace(args)
		switch strings.ToUpper(instruction) {
		case "FROM":
			c.from = append(c.from, args)
		case "USER":
			c.user = args
		case "ENV":
			if err := keyValues(args, c.env); err != nil {
				return c, fmt.Errorf("the Containerfile: ENV %s: %w", args, err)
			}
		case "LABEL":
			if err := keyValues(args, c.labels); err != nil {
				return c, fmt.Errorf("the Containerfile: LABEL: %w", err)
			}
		case "EXPOSE":
			c.expose = append(c.expose, strings.Fields(args)...)
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(args), &c.entrypoint); err != nil {
				return c, fmt.Errorf("the Containerfile: ENTRYPOINT is not an exec form (a JSON array): %w", err)
			}
		case "HEALTHCHECK":
			_, command, ok := strings.Cut(args, "CMD ")
			if !ok {
				return c, fmt.Errorf("the Containerfile: HEALTHCHECK %s has no CMD", args)
			}
			if err := json.Unmarshal([]byte(command), &c.healthcheck); err != nil {
				return c, fmt.Errorf("the Containerfile: HEALTHCHECK CMD is not an exec form (no shell in scratch): %w", err)
			}
		}
	}
	uid, _, _ := strings.Cut(c.user, ":")
	if c.uid, err = strconv.Atoi(uid); err != nil {
		return c, fmt.Errorf("the Containerfile: USER %q is not numeric (scratch has no /etc/passwd)", c.user)
	}
	_, port, _ := strings.Cut(c.env["REFSERVER_ADDR"], ":")
	if c.port, err = strconv.Atoi(port); err != nil {
		return c, fmt.Errorf("the Containerfile: ENV REFSERVER_ADDR=%q has no port", c.env["REFSERVER_ADDR"])
	}
	return c, nil
}

// keyValues reads KEY=VALUE pairs, values plain or in double quotes.
func keyValues(args string, into map[string]string) error {
	pair := regexp.MustCompile(`^([A-Za-z0-9_.-]+)=("(?:[^"\\]|\\.)*"|\S*)\s*`)
	for args != "" {
		m := pair.FindStringSubmatch(args)
		if m == nil {
			return fmt.Errorf("want KEY=VALUE at %q", args)
		}
		value := m[2]
		if strings.HasPrefix(value, `"`) {
			var err error
			if value, err = strconv.Unquote(value); err != nil {
				return fmt.Errorf("%s: %w", m[1], err)
			}
		}
		into[m[1]] = value
		args = args[len(m[0]):]
	}
	return nil
}
