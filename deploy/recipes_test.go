package deploy

import (
	"bytes"
	"errors"
	"io"
	"net/url"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/hzkit/sendmessage/server"
)

// The Containerfile builds what its comments and the docs promise: scratch,
// a numeric non-root user, only facts variables, the health check as an exec
// of the entry point's binary, the labels.
func TestContainerfile(t *testing.T) {
	t.Parallel()
	r := factsOf(t)
	c := r.container
	if !slices.Equal(c.from, []string{"scratch"}) {
		t.Errorf("FROM %v, want scratch alone", c.from)
	}
	if c.uid == 0 {
		t.Errorf("USER %s is root", c.user)
	}
	checkEnv(t, "Containerfile", r, c.env)
	if host, _, _ := strings.Cut(c.env["REFSERVER_ADDR"], ":"); host != "0.0.0.0" {
		t.Errorf("REFSERVER_ADDR=%s: want every address inside the container", c.env["REFSERVER_ADDR"])
	}
	if !slices.Equal(c.expose, []string{strconv.Itoa(c.port)}) {
		t.Errorf("EXPOSE %v, want the port of REFSERVER_ADDR, %d", c.expose, c.port)
	}
	if len(c.entrypoint) != 1 || !slices.Equal(c.healthcheck, []string{c.entrypoint[0], "-healthcheck"}) {
		t.Errorf("HEALTHCHECK CMD %q, want the entry point %q with -healthcheck", c.healthcheck, c.entrypoint)
	}
	for key, want := range map[string]string{
		"org.opencontainers.image.version":  "${VERSION}", // make image passes the contract's version
		"org.opencontainers.image.source":   "https://github.com/hzkit/sendmessage",
		"org.opencontainers.image.licenses": "NOASSERTION", // the repository states no licence
	} {
		if got := c.labels[key]; got != want {
			t.Errorf("LABEL %s=%q, want %q", key, got, want)
		}
	}
}

// checkEnv says which variables of a recipe refserver does not read.
func checkEnv(t *testing.T, recipe string, r facts, env map[string]string) {
	t.Helper()
	for name := range env {
		if strings.HasPrefix(name, "REFSERVER_") && !r.envNames[name] {
			t.Errorf("%s sets %s, which refserver does not read (refserver -h lists its variables)", recipe, name)
		}
	}
	if addr, ok := env["REFSERVER_ADDR"]; ok && recipe != "Containerfile" {
		t.Errorf("%s sets REFSERVER_ADDR=%s: the image listens on :%d, keep it", recipe, addr, r.container.port)
	}
}

// urlsIn returns the http(s) URLs in a recipe's scripts and variables.
func urlsIn(t *testing.T, recipe string, texts ...string) []*url.URL {
	t.Helper()
	var urls []*url.URL
	for _, text := range texts {
		for _, raw := range regexp.MustCompile(`https?://[^\s'";]+`).FindAllString(text, -1) {
			u, err := url.Parse(raw)
			if err != nil {
				t.Errorf("%s: URL %q: %v", recipe, raw, err)
				continue
			}
			urls = append(urls, u)
		}
	}
	return urls
}

// checkURLs holds the URLs of a recipe to the server's host and port as the
// recipe reaches it, and to the facts paths; at least one asks for health.
func checkURLs(t *testing.T, recipe string, r facts, host string, urls []*url.URL) {
	t.Helper()
	asksHealth := false
	for _, u := range urls {
		if u.Hostname() != host {
			continue
		}
		if u.Port() != strconv.Itoa(r.container.port) {
			t.Errorf("%s: %s: want port %d", recipe, u, r.container.port)
		}
		if u.Path != "" && !strings.HasPrefix(u.Path, server.BasePath+"/") {
			t.Errorf("%s: %s: the API is under %s", recipe, u, server.BasePath)
		}
		if strings.HasSuffix(u.Path, "/health") {
			asksHealth = true
			if u.Path != r.healthPath {
				t.Errorf("%s: %s: the health path is %s", recipe, u, r.healthPath)
			}
		}
	}
	if !asksHealth {
		t.Errorf("%s asks %s for its health nowhere", recipe, host)
	}
}

// decodeYAML decodes every document of a recipe, refusing fields the
// types do not know only where they say so.
func decodeYAML(t *testing.T, file string, into ...any) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	for i, v := range into {
		if err := dec.Decode(v); err != nil {
			t.Fatalf("%s: document %d: %v", file, i+1, err)
		}
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		t.Fatalf("%s: more than %d documents (%v)", file, len(into), err)
	}
}

func TestGitHubActionsRecipe(t *testing.T) {
	t.Parallel()
	r := factsOf(t)
	var workflow struct {
		Jobs map[string]struct {
			Services map[string]struct {
				Image string            `yaml:"image"`
				Ports []string          `yaml:"ports"`
				Env   map[string]string `yaml:"env"`
			} `yaml:"services"`
			Env   map[string]string `yaml:"env"`
			Steps []struct {
				Run string `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	decodeYAML(t, "github-actions.yml", &workflow)
	const recipe = "github-actions.yml"
	if len(workflow.Jobs) == 0 {
		t.Fatalf("%s has no job", recipe)
	}
	for name, job := range workflow.Jobs {
		service, ok := job.Services["horizon"]
		if !ok {
			t.Fatalf("job %s has no service horizon", name)
		}
		if service.Image != r.image {
			t.Errorf("%s: image %s, want %s (make image)", recipe, service.Image, r.image)
		}
		want := strconv.Itoa(r.container.port)
		if !slices.Contains(service.Ports, want+":"+want) {
			t.Errorf("%s: ports %v, want %s:%s", recipe, service.Ports, want, want)
		}
		checkEnv(t, recipe, r, service.Env)
		texts := []string{}
		for _, v := range job.Env {
			texts = append(texts, v)
		}
		for _, step := range job.Steps {
			texts = append(texts, step.Run)
		}
		checkURLs(t, recipe, r, "127.0.0.1", urlsIn(t, recipe, texts...))
		checkTokenUse(t, recipe, service.Env["REFSERVER_TOKEN"], texts)
	}
}

// checkTokenUse holds a recipe's calls of the inspection operations to the
// token it gives the server.
func checkTokenUse(t *testing.T, recipe, token string, texts []string) {
	t.Helper()
	for _, text := range texts {
		for _, m := range regexp.MustCompile(`Authorization: Bearer ([^"'\s]+)`).FindAllStringSubmatch(text, -1) {
			if m[1] != token {
				t.Errorf("%s sends the token %q; the server's is %q", recipe, m[1], token)
			}
		}
	}
}

func TestGitLabCIRecipe(t *testing.T) {
	t.Parallel()
	r := factsOf(t)
	var jobs map[string]struct {
		Services []struct {
			Name  string `yaml:"name"`
			Alias string `yaml:"alias"`
		} `yaml:"services"`
		Variables   map[string]string `yaml:"variables"`
		Script      []string          `yaml:"script"`
		AfterScript []string          `yaml:"after_script"`
	}
	decodeYAML(t, "gitlab-ci.yml", &jobs)
	const recipe = "gitlab-ci.yml"
	if len(jobs) == 0 {
		t.Fatalf("%s has no job", recipe)
	}
	for name, job := range jobs {
		if len(job.Services) != 1 {
			t.Fatalf("job %s: services %+v, want the reference server", name, job.Services)
		}
		service := job.Services[0]
		if service.Name != r.image || service.Alias == "" {
			t.Errorf("%s: service %s as %q, want %s with an alias", recipe, service.Name, service.Alias, r.image)
		}
		checkEnv(t, recipe, r, job.Variables)
		texts := slices.Concat(job.Script, job.AfterScript)
		for _, v := range job.Variables {
			texts = append(texts, v)
		}
		checkURLs(t, recipe, r, service.Alias, urlsIn(t, recipe, texts...))
		checkTokenUse(t, recipe, job.Variables["REFSERVER_TOKEN"], texts)
	}
}

func TestComposeRecipe(t *testing.T) {
	t.Parallel()
	r := factsOf(t)
	var compose struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Ports       []string          `yaml:"ports"`
			Environment map[string]string `yaml:"environment"`
			Volumes     []string          `yaml:"volumes"`
			ReadOnly    bool              `yaml:"read_only"`
		} `yaml:"services"`
	}
	decodeYAML(t, "compose.yaml", &compose)
	const recipe = "compose.yaml"
	service, ok := compose.Services["refserver"]
	if !ok {
		t.Fatalf("%s has no service refserver", recipe)
	}
	if service.Image != r.image {
		t.Errorf("%s: image %s, want %s (make image)", recipe, service.Image, r.image)
	}
	if want := ":" + strconv.Itoa(r.container.port); len(service.Ports) != 1 || !strings.HasSuffix(service.Ports[0], want) ||
		!strings.HasPrefix(service.Ports[0], "127.0.0.1:") {
		t.Errorf("%s: ports %v, want the container's %s published on 127.0.0.1", recipe, service.Ports, want)
	}
	if !service.ReadOnly {
		t.Errorf("%s: read_only is not set; the image needs no writable file system", recipe)
	}
	checkEnv(t, recipe, r, service.Environment)
	mounts := map[string]string{} // container path: host path
	for _, v := range service.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 {
			t.Fatalf("%s: volume %q, want host:container[:ro]", recipe, v)
		}
		mounts[parts[1]] = parts[0]
	}
	// Every file a variable names is mounted; a data file here is valid.
	for name, value := range service.Environment {
		if !strings.HasPrefix(value, "/") {
			continue
		}
		host, ok := mountedFrom(mounts, value)
		if !ok {
			t.Errorf("%s: %s=%s, which no volume mounts", recipe, name, value)
			continue
		}
		if name == "REFSERVER_DATA" {
			checkDataFile(t, host)
		}
	}
}

// mountedFrom returns the host path that the mounts put at file.
func mountedFrom(mounts map[string]string, file string) (string, bool) {
	for target, source := range mounts {
		if file == target {
			return source, true
		}
		if rest, ok := strings.CutPrefix(file, target+"/"); ok {
			return path.Join(source, rest), true
		}
	}
	return "", false
}

// checkDataFile loads a recipe's data file as refserver does.
func checkDataFile(t *testing.T, file string) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("data file: %v", err)
	}
	data, err := server.LoadData(file, raw)
	if err != nil {
		t.Fatalf("data file: %v", err)
	}
	if data.Users == nil || len(*data.Users) == 0 || len(data.Sessions) == 0 {
		t.Errorf("%s: no users or no sessions", file)
	}
	if data.Faults != nil {
		if _, err := server.New(server.Config{Token: "t", Sessions: data.Sessions, Faults: *data.Faults}); err != nil {
			t.Errorf("%s: fault rules: %v", file, err)
		}
	}
}

// intOrString is a Kubernetes port: a number or a port's name.
type intOrString struct {
	Int  int
	Name string
}

func (p *intOrString) UnmarshalYAML(n *yaml.Node) error {
	if err := n.Decode(&p.Int); err == nil {
		return nil
	}
	return n.Decode(&p.Name)
}

type k8sProbe struct {
	HTTPGet *struct {
		Path string      `yaml:"path"`
		Port intOrString `yaml:"port"`
	} `yaml:"httpGet"`
}

func TestKubernetesRecipe(t *testing.T) {
	t.Parallel()
	r := factsOf(t)
	type metadata struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	}
	var secret struct {
		Kind       string            `yaml:"kind"`
		Metadata   metadata          `yaml:"metadata"`
		StringData map[string]string `yaml:"stringData"`
	}
	var deployment struct {
		Kind string `yaml:"kind"`
		Spec struct {
			Template struct {
				Metadata metadata `yaml:"metadata"`
				Spec     struct {
					SecurityContext struct {
						RunAsNonRoot bool `yaml:"runAsNonRoot"`
						RunAsUser    int  `yaml:"runAsUser"`
					} `yaml:"securityContext"`
					Containers []struct {
						Image string `yaml:"image"`
						Ports []struct {
							Name          string `yaml:"name"`
							ContainerPort int    `yaml:"containerPort"`
						} `yaml:"ports"`
						Env []struct {
							Name      string `yaml:"name"`
							Value     string `yaml:"value"`
							ValueFrom *struct {
								SecretKeyRef *struct {
									Name string `yaml:"name"`
									Key  string `yaml:"key"`
								} `yaml:"secretKeyRef"`
							} `yaml:"valueFrom"`
						} `yaml:"env"`
						ReadinessProbe  k8sProbe `yaml:"readinessProbe"`
						LivenessProbe   k8sProbe `yaml:"livenessProbe"`
						SecurityContext struct {
							ReadOnlyRootFilesystem bool `yaml:"readOnlyRootFilesystem"`
						} `yaml:"securityContext"`
					} `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	var service struct {
		Kind string `yaml:"kind"`
		Spec struct {
			Selector map[string]string `yaml:"selector"`
			Ports    []struct {
				Port       int         `yaml:"port"`
				TargetPort intOrString `yaml:"targetPort"`
			} `yaml:"ports"`
		} `yaml:"spec"`
	}
	decodeYAML(t, "kubernetes.yaml", &secret, &deployment, &service)
	const recipe = "kubernetes.yaml"
	if secret.Kind != "Secret" || deployment.Kind != "Deployment" || service.Kind != "Service" {
		t.Fatalf("%s: kinds %s, %s, %s; want Secret, Deployment, Service", recipe, secret.Kind, deployment.Kind, service.Kind)
	}
	pod := deployment.Spec.Template
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("%s: %d containers, want 1", recipe, len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	if c.Image != r.image {
		t.Errorf("%s: image %s, want %s (make image)", recipe, c.Image, r.image)
	}
	if sc := pod.Spec.SecurityContext; !sc.RunAsNonRoot || sc.RunAsUser != r.container.uid || !c.SecurityContext.ReadOnlyRootFilesystem {
		t.Errorf("%s: security context %+v, read-only root %t; want the image's user %d, not root, read-only",
			recipe, sc, c.SecurityContext.ReadOnlyRootFilesystem, r.container.uid)
	}
	ports := map[string]int{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	port := func(p intOrString) int {
		if p.Name != "" {
			return ports[p.Name]
		}
		return p.Int
	}
	if len(c.Ports) != 1 || c.Ports[0].ContainerPort != r.container.port {
		t.Errorf("%s: container ports %+v, want %d", recipe, c.Ports, r.container.port)
	}
	for name, probe := range map[string]k8sProbe{"readinessProbe": c.ReadinessProbe, "livenessProbe": c.LivenessProbe} {
		if probe.HTTPGet == nil || probe.HTTPGet.Path != r.healthPath || port(probe.HTTPGet.Port) != r.container.port {
			t.Errorf("%s: %s %+v, want GET %s on %d", recipe, name, probe.HTTPGet, r.healthPath, r.container.port)
		}
	}
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
		if e.ValueFrom == nil {
			continue
		}
		ref := e.ValueFrom.SecretKeyRef
		if ref == nil || ref.Name != secret.Metadata.Name || secret.StringData[ref.Key] == "" {
			t.Errorf("%s: %s comes from %+v, which the Secret %s does not hold", recipe, e.Name, ref, secret.Metadata.Name)
		}
	}
	checkEnv(t, recipe, r, env)
	if token, ok := env["REFSERVER_TOKEN"]; !ok || token != "" {
		t.Errorf("%s: REFSERVER_TOKEN is not taken from the Secret", recipe)
	}
	for k, v := range service.Spec.Selector {
		if pod.Metadata.Labels[k] != v {
			t.Errorf("%s: the Service selects %s=%s, which the pods do not carry", recipe, k, v)
		}
	}
	if len(service.Spec.Ports) != 1 || port(service.Spec.Ports[0].TargetPort) != r.container.port {
		t.Errorf("%s: Service ports %+v, want the container's %d", recipe, service.Spec.Ports, r.container.port)
	}
}
