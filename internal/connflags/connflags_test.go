package connflags

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func parse(t *testing.T, env map[string]string, args ...string) *Settings {
	t.Helper()
	var s Settings
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	s.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	s.FromEnv(fs, func(k string) string { return env[k] })
	return &s
}

func TestFlagsWinOverTheEnvironment(t *testing.T) {
	t.Parallel()
	env := map[string]string{EnvServer: "https://env", EnvUsername: "env-user", EnvDomain: "ENV", EnvToken: "env-token", EnvCACert: "/env/ca.pem"}
	s := parse(t, env, "--server", "https://flag", "--username", "flag-user")
	if s.Server != "https://flag" || s.Username != "flag-user" || s.Domain != "ENV" || s.Token != "env-token" {
		t.Errorf("settings %+v: want the flags where given, the environment elsewhere", s)
	}
	if s.CAFile != "/env/ca.pem" || !s.CAFileFromEnv || s.CASource() != EnvCACert {
		t.Errorf("ca-file %q from env %v (%s), want HORIZON_CACERT's", s.CAFile, s.CAFileFromEnv, s.CASource())
	}
	s = parse(t, env, "--insecure")
	if s.CAFile != "" || !s.Insecure {
		t.Errorf("--insecure left ca-file %q from the environment", s.CAFile)
	}
	if err := s.Check(); err != nil {
		t.Errorf("--insecure with HORIZON_CACERT: %v", err)
	}
	if got := strings.Join(Names(), ","); got != "server,username,domain,password-file,token,ca-file,insecure,timeout" {
		t.Errorf("Names() = %s", got)
	}
}

func TestCheckRefusesWhatCannotWork(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--token", "t"}, "--server"},
		{[]string{"--server", "https://h", "--username", "u"}, "--username and --domain"},
		{[]string{"--server", "https://h", "--token", "t", "--ca-file", "x", "--insecure"}, "contradict"},
		{[]string{"--server", "https://h", "--token", "t", "--timeout", "0s"}, "--timeout"},
	}
	for _, tt := range tests {
		err := parse(t, nil, tt.args...).Check()
		if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err = %v, want a usage error naming %s", tt.args, err, tt.want)
		}
	}
	if err := parse(t, nil, "--server", "https://h", "--username", "u", "--domain", "D").Check(); err != nil {
		t.Errorf("a login: %v", err)
	}
}

func TestCAFileErrorsNameTheirSource(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := parse(t, nil, "--ca-file", filepath.Join(dir, "missing.pem")).HTTPClient()
	if !errors.Is(err, ErrUsage) || !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "--ca-file: ") {
		t.Errorf("missing file: %v", err)
	}
	_, err = parse(t, map[string]string{EnvCACert: notPEM}).HTTPClient()
	if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), EnvCACert+": "+notPEM+" holds no PEM certificate") {
		t.Errorf("no certificate: %v", err)
	}
	c, err := parse(t, nil, "--insecure").HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	if c.Transport == nil {
		t.Error("no transport")
	}
}

func TestPasswordSources(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(file, []byte("from-file\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{EnvPassword: "from-env"}
	var stderr bytes.Buffer
	if p, err := parse(t, env, "--password-file", file).Password(func(k string) string { return env[k] }, nil, &stderr); err != nil || p != "from-file" {
		t.Errorf("file: %q, %v", p, err)
	}
	if p, err := parse(t, env).Password(func(k string) string { return env[k] }, nil, &stderr); err != nil || p != "from-env" {
		t.Errorf("env: %q, %v", p, err)
	}
	_, err := parse(t, nil).Password(func(string) string { return "" }, strings.NewReader(""), &stderr)
	if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), EnvPassword) {
		t.Errorf("no password and no terminal: %v", err)
	}
	if stderr.Len() != 0 {
		t.Errorf("prompted without a terminal: %q", stderr.String())
	}
}
