package main

import (
	"bytes"
	"errors"
	"flag"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hzkit/sendmessage/server"
)

// defaultOptions are the documented defaults of the flags.
func defaultOptions() options {
	return options{
		addr: "127.0.0.1:8080",
		limits: server.Limits{
			MaxBodyBytes: server.DefaultMaxBodyBytes, MaxAuthBodyBytes: server.DefaultMaxAuthBodyBytes,
			MaxBodyBytesInFlight: server.DefaultMaxBodyBytesInFlight, MaxDecodeBytesInFlight: server.DefaultMaxDecodeBytesInFlight,
			MaxRequestsInFlight: server.DefaultMaxRequestsInFlight, MaxFaultRules: server.DefaultMaxFaultRules,
		},
		maxDataBytes:     defaultMaxDataBytes,
		maxRecorded:      server.DefaultMaxRecordedMessages,
		maxRecordedBytes: server.DefaultMaxRecordedBytes,
		loginThrottle: server.LoginThrottle{
			PerUser: server.DefaultLoginFailuresPerUser, PerAddress: server.DefaultLoginFailuresPerAddress,
			PerAccount: server.DefaultLoginFailuresPerAccount, Window: server.DefaultLoginFailureWindow,
			Delay: server.DefaultLoginFailureDelay,
		},
		maxPerAddress:     defaultMaxConnectionsPerAddress,
		metricsMaxConns:   defaultMetricsMaxConnections,
		memoryLimit:       defaultMemoryLimit,
		maxStreams:        defaultMaxStreams,
		maxHeaderBytes:    defaultMaxHeaderBytes,
		accessTokenTTL:    server.DefaultAccessTokenTTL,
		refreshTokenTTL:   server.DefaultRefreshTokenTTL,
		readHeaderTimeout: 5 * time.Second,
		readTimeout:       30 * time.Second,
		writeTimeout:      30 * time.Second,
		idleTimeout:       120 * time.Second,
		shutdownTimeout:   15 * time.Second,
		logLevel:          slog.LevelInfo,
		logFormat:         "text",
	}
}

func envFunc(env map[string]string) func(string) string {
	return func(name string) string { return env[name] }
}

func TestParseOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want func(*options)
	}{
		{"defaults", nil, nil, func(*options) {}},
		{
			"flags",
			[]string{
				"-addr", ":9443", "-token", "t0k", "-data", "inv.json",
				"-max-body-bytes", "1024", "-max-message-length", "50", "-max-session-ids", "7", "-max-recorded-messages", "9",
				"-max-header-bytes", "8192",
				"-read-header-timeout", "1s", "-read-timeout", "2s", "-write-timeout", "3s",
				"-idle-timeout", "4s", "-shutdown-timeout", "5s", "-log-level", "DEBUG", "-log-format", "json",
				"-access-token-ttl", "10m", "-refresh-token-ttl", "1h", "-tls-cert", "c.pem", "-tls-key", "k.pem",
				"-max-auth-body-bytes", "512", "-max-body-bytes-in-flight", "4096", "-max-recorded-bytes", "1000",
				"-login-throttle=false", "-login-failures-per-user", "2", "-login-failures-per-address", "3", "-login-failure-window", "10s",
				"-max-connections", "50", "-max-concurrent-streams", "8", "-metrics-addr", "127.0.0.1:9100",
				"-max-decode-bytes-in-flight", "8192", "-max-requests-in-flight", "40", "-max-fault-rules", "6",
				"-login-failures-per-account", "11", "-login-failure-delay", "2s", "-max-connections-per-address", "5",
				"-metrics-max-connections", "3", "-max-data-bytes", "999",
			},
			nil,
			func(o *options) {
				o.addr, o.token, o.dataFile = ":9443", "t0k", "inv.json"
				o.accessTokenTTL, o.refreshTokenTTL = 10*time.Minute, time.Hour
				o.tlsCert, o.tlsKey = "c.pem", "k.pem"
				o.limits = server.Limits{
					MaxBodyBytes: 1024, MaxAuthBodyBytes: 512, MaxBodyBytesInFlight: 4096, MaxMessageLength: 50, MaxSessionIDs: 7,
					MaxDecodeBytesInFlight: 8192, MaxRequestsInFlight: 40, MaxFaultRules: 6,
				}
				o.maxRecordedBytes = 1000
				o.loginThrottle = server.LoginThrottle{Off: true, PerUser: 2, PerAddress: 3, PerAccount: 11, Window: 10 * time.Second, Delay: 2 * time.Second}
				o.maxPerAddress, o.metricsMaxConns, o.maxDataBytes = 5, 3, 999
				o.maxConnections, o.maxStreams, o.metricsAddr = 50, 8, "127.0.0.1:9100"
				o.maxRecorded, o.maxHeaderBytes = 9, 8192
				o.readHeaderTimeout, o.readTimeout, o.writeTimeout = time.Second, 2*time.Second, 3*time.Second
				o.idleTimeout, o.shutdownTimeout = 4*time.Second, 5*time.Second
				o.logLevel, o.logFormat = slog.LevelDebug, "json"
			},
		},
		{
			"environment when no flag",
			nil,
			map[string]string{
				"REFSERVER_ADDR": "0.0.0.0:8443", "REFSERVER_TOKEN": "env-token", "REFSERVER_DATA": "env.json",
				"REFSERVER_MAX_BODY_BYTES": "2048", "REFSERVER_MAX_MESSAGE_LENGTH": "60", "REFSERVER_MAX_SESSION_IDS": "8",
				"REFSERVER_MAX_RECORDED_MESSAGES": "10", "REFSERVER_MAX_HEADER_BYTES": "16384",
				"REFSERVER_SHUTDOWN_TIMEOUT": "9s", "REFSERVER_LOG_LEVEL": "WARN", "REFSERVER_LOG_FORMAT": "json",
				"REFSERVER_ACCESS_TOKEN_TTL": "5m", "REFSERVER_REFRESH_TOKEN_TTL": "3h",
				"REFSERVER_TLS": "true", "REFSERVER_TLS_CERT_OUT": "out.pem",
				"REFSERVER_LOGIN_THROTTLE": "false", "REFSERVER_METRICS_ADDR": "127.0.0.1:9101",
			},
			func(o *options) {
				o.addr, o.token, o.dataFile = "0.0.0.0:8443", "env-token", "env.json"
				o.accessTokenTTL, o.refreshTokenTTL = 5*time.Minute, 3*time.Hour
				o.tls, o.tlsCertOut = true, "out.pem"
				o.limits.MaxBodyBytes, o.limits.MaxMessageLength, o.limits.MaxSessionIDs = 2048, 60, 8
				o.loginThrottle.Off, o.metricsAddr = true, "127.0.0.1:9101"
				o.maxRecorded, o.maxHeaderBytes = 10, 16384
				o.shutdownTimeout, o.logLevel, o.logFormat = 9*time.Second, slog.LevelWarn, "json"
			},
		},
		{
			"flag wins over environment",
			[]string{"-addr", "127.0.0.1:1", "-max-session-ids", "3", "-log-format", "text"},
			map[string]string{"REFSERVER_ADDR": "127.0.0.1:2", "REFSERVER_MAX_SESSION_IDS": "4", "REFSERVER_LOG_FORMAT": "json"},
			func(o *options) {
				o.addr, o.limits.MaxSessionIDs = "127.0.0.1:1", 3
			},
		},
		{
			// A flag given its default value on the command line still wins.
			"flag at its default wins over environment",
			[]string{"-max-message-length", "0"},
			map[string]string{"REFSERVER_MAX_MESSAGE_LENGTH": "10"},
			func(*options) {},
		},
		{"empty variable ignored", nil, map[string]string{"REFSERVER_ADDR": ""}, func(*options) {}},
		{
			"demo administrator's password",
			[]string{"-admin-password", "s3cret"},
			nil,
			func(o *options) { o.adminPassword = "s3cret" },
		},
		{
			"self-signed TLS from the environment, admin password too",
			nil,
			map[string]string{"REFSERVER_TLS": "1", "REFSERVER_ADMIN_PASSWORD": "env-s3cret"},
			func(o *options) { o.tls, o.adminPassword = true, "env-s3cret" },
		},
		{"unrelated variables ignored", nil, map[string]string{"ADDR": "x", "REFSERVER_PORT": "1"}, func(*options) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stderr bytes.Buffer
			got, err := parseOptions(tt.args, envFunc(tt.env), &stderr)
			if err != nil {
				t.Fatalf("parseOptions: %v", err)
			}
			want := defaultOptions()
			tt.want(&want)
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(options{})); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
			if stderr.Len() != 0 {
				t.Errorf("stderr = %q, want nothing", stderr.String())
			}
		})
	}
}

func TestParseOptionsErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want []string
	}{
		{"bad environment number", nil, map[string]string{"REFSERVER_MAX_SESSION_IDS": "many"}, []string{"REFSERVER_MAX_SESSION_IDS"}},
		{"negative record cap", []string{"-max-recorded-messages", "-1"}, nil, []string{"-max-recorded-messages", "0 or more"}},
		{"bad environment duration", nil, map[string]string{"REFSERVER_READ_TIMEOUT": "soon"}, []string{"REFSERVER_READ_TIMEOUT"}},
		{"bad environment level", nil, map[string]string{"REFSERVER_LOG_LEVEL": "LOUD"}, []string{"REFSERVER_LOG_LEVEL"}},
		{
			"every bad variable named",
			nil,
			map[string]string{"REFSERVER_MAX_BODY_BYTES": "x", "REFSERVER_IDLE_TIMEOUT": "y"},
			[]string{"REFSERVER_MAX_BODY_BYTES", "REFSERVER_IDLE_TIMEOUT"},
		},
		{"bad flag number", []string{"-max-session-ids", "many"}, nil, []string{"-max-session-ids", "many"}},
		{"unknown flag", []string{"-port", "80"}, nil, []string{"-port"}},
		{"bad log format", []string{"-log-format", "xml"}, nil, []string{"-log-format", `"xml"`}},
		{"bad log format from environment", nil, map[string]string{"REFSERVER_LOG_FORMAT": "yaml"}, []string{"REFSERVER_LOG_FORMAT", `"yaml"`, "text, json"}},
		{"zero timeout", []string{"-read-timeout", "0s"}, nil, []string{"-read-timeout", "positive"}},
		{"negative timeout", []string{"-shutdown-timeout", "-1s"}, nil, []string{"-shutdown-timeout", "positive"}},
		{"zero timeout from environment", nil, map[string]string{"REFSERVER_IDLE_TIMEOUT": "0s"}, []string{"REFSERVER_IDLE_TIMEOUT", "positive"}},
		{"positional argument", []string{"serve"}, nil, []string{"unexpected arguments", "serve"}},
		{"argument after flags", []string{"-addr", ":1", "extra", "-token", "t"}, nil, []string{"unexpected arguments", "extra"}},
		{"zero token lifetime", []string{"-access-token-ttl", "0s"}, nil, []string{"-access-token-ttl", "positive"}},
		{"bad refresh lifetime from environment", nil, map[string]string{"REFSERVER_REFRESH_TOKEN_TTL": "a day"}, []string{"REFSERVER_REFRESH_TOKEN_TTL"}},
		{"bad TLS switch from environment", nil, map[string]string{"REFSERVER_TLS": "maybe"}, []string{"REFSERVER_TLS"}},
		{"certificate without key", []string{"-tls-cert", "c.pem"}, nil, []string{"-tls-cert and -tls-key go together"}},
		{"key without certificate", nil, map[string]string{"REFSERVER_TLS_KEY": "k.pem"}, []string{"-tls-cert and -tls-key go together"}},
		{"generated and given certificate", []string{"-tls", "-tls-cert", "c.pem", "-tls-key", "k.pem"}, nil, []string{"-tls", "-tls-cert", "exclude"}},
		{"certificate out without -tls", []string{"-tls-cert-out", "out.pem"}, nil, []string{"-tls-cert-out", "give -tls"}},
		{"admin password with a data file", []string{"-admin-password", "p", "-data", "inv.json"}, nil, []string{"-admin-password", "-data"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stderr bytes.Buffer
			_, err := parseOptions(tt.args, envFunc(tt.env), &stderr)
			if err == nil {
				t.Fatalf("parseOptions(%q, %v) accepted", tt.args, tt.env)
			}
			if errors.Is(err, flag.ErrHelp) {
				t.Fatalf("parseOptions = ErrHelp, want a usage error")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestParseOptionsHelp(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"-h", "-help", "--help"} {
		t.Run(arg, func(t *testing.T) {
			t.Parallel()
			var stderr bytes.Buffer
			_, err := parseOptions([]string{arg}, envFunc(nil), &stderr)
			if !errors.Is(err, flag.ErrHelp) {
				t.Fatalf("parseOptions(%s) = %v, want flag.ErrHelp", arg, err)
			}
			// The usage names each flag's variable.
			for _, want := range []string{"-addr", "REFSERVER_ADDR", "-max-session-ids", "REFSERVER_MAX_SESSION_IDS",
				"-access-token-ttl", "REFSERVER_ACCESS_TOKEN_TTL", "-tls-cert-out", "REFSERVER_ADMIN_PASSWORD"} {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("usage does not mention %s:\n%s", want, stderr.String())
				}
			}
		})
	}
}
