// Package connflags is how the module's commands reach and log in to a
// Connection Server: the same flags, environment variables, password prompt
// and certificate checks for each of them.
package connflags

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// Environment variables read when the matching flag is not given.
const (
	EnvServer   = "HORIZON_SERVER"
	EnvUsername = "HORIZON_USERNAME"
	EnvDomain   = "HORIZON_DOMAIN"
	EnvPassword = "HORIZON_PASSWORD"
	EnvToken    = "HORIZON_TOKEN"
	EnvCACert   = "HORIZON_CACERT" // as examples/horizon-workflow.sh reads it
)

// InsecureWarning is what a command prints to standard error under --insecure.
const InsecureWarning = "WARNING: --insecure: the server's certificate is not verified; anyone on the path can read the password and tokens"

// Names returns the flags AddFlags defines, in the order it defines them.
func Names() []string {
	return []string{"server", "username", "domain", "password-file", "token", "ca-file", "insecure", "timeout"}
}

// ErrUsage marks a mistake on the command line or in the environment.
var ErrUsage = errors.New("usage error")

type usageErr struct{ error }

func (usageErr) Is(target error) bool { return target == ErrUsage }
func (e usageErr) Unwrap() error      { return e.error }

func usage(format string, args ...any) error { return usageErr{fmt.Errorf(format, args...)} }

// Settings say which server to reach and how to log in to it.
type Settings struct {
	Server, Username, Domain string
	PasswordFile, Token      string
	CAFile                   string
	// CAFileFromEnv says CAFile came from HORIZON_CACERT, not --ca-file.
	CAFileFromEnv bool
	Insecure      bool
	// Timeout bounds each request.
	Timeout time.Duration
}

// AddFlags defines the flags of Names on fs, bound to s.
func (s *Settings) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&s.Server, "server", "", "Connection Server `URL`, e.g. https://horizon.example.com (env "+EnvServer+")")
	fs.StringVar(&s.Username, "username", "", "user `NAME` to log in as (env "+EnvUsername+")")
	fs.StringVar(&s.Domain, "domain", "", "`DOMAIN` of the user (env "+EnvDomain+")")
	fs.StringVar(&s.PasswordFile, "password-file", "", "read the password from `FILE` (else env "+EnvPassword+", else a prompt)")
	fs.StringVar(&s.Token, "token", "", "use this access `TOKEN` instead of logging in (env "+EnvToken+")")
	fs.StringVar(&s.CAFile, "ca-file", "", "trust the CA certificates in this PEM `FILE` (env "+EnvCACert+")")
	fs.BoolVar(&s.Insecure, "insecure", false, "UNSAFE: do not verify the server's certificate")
	fs.DurationVar(&s.Timeout, "timeout", time.Minute, "time limit of each request to the server, a `DURATION` such as 30s")
}

// FromEnv fills what the command line left out from the environment. A flag
// given wins over its variable; --insecure wins over HORIZON_CACERT.
func (s *Settings) FromEnv(fs *pflag.FlagSet, getenv func(string) string) {
	for _, v := range []struct {
		flag, env string
		value     *string
	}{
		{"server", EnvServer, &s.Server},
		{"username", EnvUsername, &s.Username},
		{"domain", EnvDomain, &s.Domain},
		{"token", EnvToken, &s.Token},
		{"ca-file", EnvCACert, &s.CAFile},
	} {
		if !fs.Changed(v.flag) {
			*v.value = getenv(v.env)
		}
	}
	s.CAFileFromEnv = !fs.Changed("ca-file") && s.CAFile != ""
	if s.Insecure && s.CAFileFromEnv {
		s.CAFile, s.CAFileFromEnv = "", false
	}
}

// Check refuses settings that cannot work; its errors are ErrUsage.
func (s *Settings) Check() error {
	switch {
	case s.Server == "":
		return usage("--server (or %s) is required", EnvServer)
	case !strings.Contains(s.Server, "://"):
		return usage("--server %s has no scheme: write https://%s, or http://%s for a test server without TLS", s.Server, s.Server, s.Server)
	case s.Token == "" && (s.Username == "" || s.Domain == ""):
		return usage("give --username and --domain to log in, or --token")
	case s.CAFile != "" && s.Insecure:
		return usage("--ca-file and --insecure contradict each other")
	case s.Timeout <= 0:
		return usage("--timeout must be positive")
	}
	return nil
}

// CASource names where CAFile came from: --ca-file or HORIZON_CACERT.
func (s *Settings) CASource() string {
	if s.CAFileFromEnv {
		return EnvCACert
	}
	return "--ca-file"
}

// CAPool reads the certificates of CAFile; nil when there is none.
func (s *Settings) CAPool() (*x509.CertPool, error) {
	if s.CAFile == "" {
		return nil, nil
	}
	pemData, err := os.ReadFile(s.CAFile)
	if err != nil {
		return nil, usageErr{fmt.Errorf("%s: %w", s.CASource(), err)}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemData) {
		return nil, usage("%s: %s holds no PEM certificate", s.CASource(), s.CAFile)
	}
	return pool, nil
}

// HTTPClient is an HTTP client that trusts what the settings say: the
// system's authorities, those of CAFile instead, or (Insecure) anything.
// TLS 1.2 is the oldest version it speaks.
func (s *Settings) HTTPClient() (*http.Client, error) {
	pool, err := s.CAPool()
	if err != nil {
		return nil, err
	}
	base, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return nil, fmt.Errorf("http.DefaultTransport is a %T, not an *http.Transport", http.DefaultTransport)
	}
	transport := base.Clone()
	transport.TLSClientConfig = &tls.Config{
		MinVersion:         tls.VersionTLS12,
		RootCAs:            pool,
		InsecureSkipVerify: s.Insecure, //nolint:gosec // G402: asked for by name, --insecure
	}
	return &http.Client{Transport: transport}, nil
}

// Password takes the password from PasswordFile, HORIZON_PASSWORD, or a
// prompt on stdin that does not echo, in that order.
func (s *Settings) Password(getenv func(string) string, stdin io.Reader, stderr io.Writer) (string, error) {
	if s.PasswordFile != "" {
		b, err := os.ReadFile(s.PasswordFile)
		if err != nil {
			return "", fmt.Errorf("password file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	if p := getenv(EnvPassword); p != "" {
		return p, nil
	}
	f, ok := stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", usage("no password: set %s, give --password-file, or run in a terminal to be asked", EnvPassword)
	}
	fmt.Fprintf(stderr, "Password for %s\\%s: ", s.Domain, s.Username)
	b, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(stderr)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	return string(b), nil
}
