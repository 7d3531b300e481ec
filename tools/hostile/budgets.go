package main

import "time"

// The budgets every figure is held to, in one place, each with where it
// comes from. "The design" is the server's whole-server budgets (docs/limits.md:
// Limits): the defaults of its flags and what each guarantees. "First
// measured" is the attack as measured before those budgets existed
// (BENCHMARKS.md: whole-server budgets, before and after).
const (
	mib = 1 << 20

	// rssCeiling: at default flags on a data file of 20,000 sessions the
	// process stays under 256 MiB resident under any one attack (the
	// design's ceiling, stated in docs/limits.md with its arithmetic).
	rssCeiling = 256 * mib

	// probeRequests, probeMinOK: under each attack a client with a valid
	// token sends 20 send-message requests, and at least 18 get 200 (the
	// design's promise that no anonymous client takes the server down).
	probeRequests = 20
	probeMinOK    = 18

	// adminLogins: the administrator logs in with the right password from
	// another address while one address guesses, and every try succeeds
	// (the design: the pair and the address are throttled, not the
	// account). As first measured: 12 tries.
	adminLogins = 12

	// maxAdminLoginLatency: "a right password is never delayed" (the
	// design), even while the account fails from many addresses; failed
	// logins then take 1 s, so half of that tells the two apart.
	maxAdminLoginLatency = 500 * time.Millisecond
	minSpreadDelay       = 500 * time.Millisecond

	// maxFloodFailures: failed logins answered 401 to one address in the
	// 2 s of login-flood: -login-failures-per-address (20), plus what the
	// window gives back in 2 s, with room.
	maxFloodFailures = 25

	// maxLegitFailures: a keep-alive connection between two quick
	// requests is never closed to make room (the design).
	maxLegitFailures = 0

	// logBytesPerRequest: log lines cut request paths and queries to 256
	// bytes (the design); the rest of an access-log line is well under
	// 768 bytes.
	logBytesPerRequest = 1 << 10

	// maxFaultRules, maxRuleIDs, maxRuleIDLength, maxErrorMessage: the
	// design's caps of fault rules (-max-fault-rules; the spec's maxItems
	// and maxLength).
	maxFaultRules   = 100
	maxRuleIDs      = 1000
	maxRuleIDLength = 256
	maxErrorMessage = 1000

	// maxRuleSlowdown: send-message with the most rules the server takes
	// may be at most twice as slow as with none. First measured: 6x at
	// 30,000 rules; the cap on rules is there so that it cannot happen.
	maxRuleSlowdown = 2.0

	// maxFailAnswerBytes: the answer to a send-message naming 10 sessions
	// that a fail_sessions rule fails, with an error_message at its cap:
	// 10 items x 3 forms x 1000 characters, with room.
	maxFailAnswerBytes = 64 << 10

	// dataFileExitWithin: a -data file past -max-data-bytes stops start-up
	// with a clear error (the design), at once rather than after reading.
	dataFileExitWithin = 10 * time.Second
)

// designFlag is a flag of the design and its default ("" when the design
// names the flag but no default to check, such as a file name).
type designFlag struct {
	name, value string
}

// designFlags are the flags and defaults of the design, in docs/limits.md's
// order. A server without one of them does not implement the design.
var designFlags = []designFlag{
	{"max-header-bytes", "16384"},
	{"max-body-bytes", "1048576"},
	{"max-auth-body-bytes", "4096"},
	{"max-body-bytes-in-flight", "8388608"},
	{"max-requests-in-flight", "512"},
	{"max-connections", ""},
	{"max-connections-per-address", "64"},
	{"max-concurrent-streams", "100"},
	{"read-header-timeout", "5s"},
	{"max-fault-rules", "100"},
	{"metrics-max-connections", "16"},
	{"max-data-bytes", "25165824"}, // 20,000 sessions with every field take 15.6 MB
	{"token-file", ""},
	{"admin-password-file", ""},
}

// rssKillAt: a server past this is stopped by the runner, so that a server
// without budgets cannot take the machine; its figure then reads "at least".
const rssKillAt = 2048 * mib
