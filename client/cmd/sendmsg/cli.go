package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

const rootLong = `sendmsg sends a message to the users of VMware Horizon sessions: it logs in,
selects the sessions, sends, reports what each session got, and logs out. It
works against a Horizon Connection Server and against this module's reference
server.`

// rootNotes follow the flags in the root command's help.
const rootNotes = `Targets: session ids as arguments, --pool, --user, --machine, --state or --all
(at least one). The server applies the filters, combined with AND; the ids are
added to what they select. Every session the server lists is checked against
the filters: when one does not match (a server or proxy that ignored them),
nothing is sent.

Message: --message TEXT, or standard input. With --countdown, "{left}" in the
text becomes the time left ("15 minutes", "1 minute", "30 seconds") and
"{minutes}" the minutes left, rounded up.

Retries: logging in and listing sessions are retried after a connection
failure and after 429, 502, 503 or 504. Sending is retried only when the server
cannot have acted: a connection refused, 429 or 503. After 500, 502, 504 or an
answer lost on the way, the outcome for those sessions is reported as unknown
and the message is not sent again. Waits about double, are jittered, honour
Retry-After and never exceed --retry-max-wait.

Exit status: 0 every session got the message; 1 some did not, or their outcome
is unknown (the report says which), or, with --dry-run, a session id given was
not found; 2 usage, authentication or connection error, or a listing that the
filters do not select; 130 interrupted by Ctrl-C (143 by SIGTERM), after the
report of what was sent.`

// notesAnnotation holds the text a command's help shows after its flags.
const notesAnnotation = "sendmsg/notes"

const rootExample = `  sendmsg --pool pool-finance --state connected --type warning --message "Save your work."
  sendmsg 7cdd624f-37d1-46c1-ab96-695a5d13956f --message "Your desktop is ready." --type info
  sendmsg --pool pool-eng --countdown 15m --every 5m --message "Restart in {left}."
  sendmsg sessions --pool pool-finance
  sendmsg help sessions`

const sessionsLong = `sendmsg sessions lists the sessions that the target flags select: id, user,
machine, pool and state. Session ids as arguments are looked up. It sends
nothing.`

// sessionsNotes follow the flags in the help of "sessions".
const sessionsNotes = `Exit status: 0 every session id given was found; 1 some were not (standard
error names them); 2 usage, authentication or connection error, or a listing
that the filters do not select.`

// newCommand is the command line: the root command sends, "sessions" lists;
// cobra adds "help" and "completion". run is called with the options of the
// command that was given.
func newCommand(d *deps, o *options, run func(*options) error) *cobra.Command {
	root := &cobra.Command{
		Use:         "sendmsg [flags] [SESSION_ID...]",
		Short:       "Send a message to the users of Horizon sessions",
		Long:        rootLong,
		Example:     rootExample,
		Args:        sessionIDs,
		Annotations: map[string]string{notesAnnotation: rootNotes},
		RunE: func(cmd *cobra.Command, args []string) error {
			return finish(cmd, o, d, args, run)
		},
		ValidArgsFunction:          cobra.NoFileCompletions,
		SilenceErrors:              true, // main prints each error once
		SilenceUsage:               true, // a mistake gets one line, not the flag list
		SuggestionsMinimumDistance: 2,
	}
	addConnectionFlags(root.Flags(), o)
	addTargetFlags(root.Flags(), o)
	addMessageFlags(root.Flags(), o)
	addOutputFlags(root.Flags(), o, true)

	sessions := &cobra.Command{
		Use:   "sessions [flags] [SESSION_ID...]",
		Short: "List the sessions that the target flags select",
		Long:  sessionsLong,
		Example: `  sendmsg sessions --pool pool-finance --state connected
  sendmsg sessions --all --output json`,
		Args:        sessionIDs,
		Annotations: map[string]string{notesAnnotation: sessionsNotes},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.listOnly = true
			return finish(cmd, o, d, args, run)
		},
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	addConnectionFlags(sessions.Flags(), o)
	addTargetFlags(sessions.Flags(), o)
	addOutputFlags(sessions.Flags(), o, false)
	root.AddCommand(sessions)
	root.AddCommand(newSnapshotCommand(d, o))

	for _, cmd := range []*cobra.Command{root, sessions} {
		cmd.Flags().SortFlags = false // --help shows them in the order above
		cmd.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
			return &usageErr{cmd: cmd.CommandPath(), err: suggestFlag(cmd.Flags(), err)}
		})
		completeValues(cmd, "type", "INFO", "WARNING", "ERROR")
		completeValues(cmd, "state", "CONNECTED", "DISCONNECTED", "PENDING")
		completeValues(cmd, "output", "table", "json")
		_ = cmd.MarkFlagFilename("ca-file", "pem", "crt", "cer")
	}
	root.SetUsageFunc(usage)
	root.SetIn(d.stdin)
	root.SetOut(d.stdout)
	root.SetErr(d.stderr)
	return root
}

// finish completes the options of cmd and runs it.
func finish(cmd *cobra.Command, o *options, d *deps, args []string, run func(*options) error) error {
	o.ids = args
	o.FromEnv(cmd.Flags(), d.getenv)
	if err := o.check(); err != nil {
		var u *usageErr
		if errors.As(err, &u) {
			u.cmd = cmd.CommandPath()
		}
		return err
	}
	return run(o)
}

// sessionIDs accepts the arguments that can be session ids. After "--" an
// argument is never a flag, but one that looks like a flag is surely a flag
// put in the wrong place, and a command name is surely a command put after
// an id: neither is sent as a session id.
func sessionIDs(cmd *cobra.Command, args []string) error {
	for _, arg := range args {
		if strings.HasPrefix(arg, "-") {
			return &usageErr{cmd: cmd.CommandPath(), err: fmt.Errorf("%q looks like a flag, not a session id: put flags before --", arg)}
		}
		for _, sub := range cmd.Root().Commands() {
			if sub.Name() == arg {
				return &usageErr{cmd: cmd.CommandPath(), err: fmt.Errorf("%q is a command, not a session id: give it first, as in: sendmsg %s [flags]", arg, arg)}
			}
		}
		if suggestions := cmd.Root().SuggestionsFor(arg); len(suggestions) > 0 {
			return &usageErr{cmd: cmd.CommandPath(), err: fmt.Errorf("%q is not a session id; did you mean the command %q? Give it first, as in: sendmsg %s [flags]",
				arg, suggestions[0], suggestions[0])}
		}
	}
	return nil
}

func completeValues(cmd *cobra.Command, flag string, values ...string) {
	if cmd.Flags().Lookup(flag) == nil {
		return
	}
	_ = cmd.RegisterFlagCompletionFunc(flag, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
}

// usage writes the usage of cmd with its flags in groups; cobra's help is
// the long description followed by this.
func usage(cmd *cobra.Command) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage:\n  %s\n", cmd.UseLine())
	if cmd.HasAvailableSubCommands() {
		fmt.Fprintf(&b, "  %s [command]\n\nCommands:\n", cmd.CommandPath())
		for _, sub := range cmd.Commands() {
			if sub.IsAvailableCommand() || sub.Name() == "help" {
				fmt.Fprintf(&b, "  %-11s %s\n", sub.Name(), sub.Short)
			}
		}
	}
	flags := cmd.LocalFlags()
	grouped := map[string]*pflag.FlagSet{}
	other := pflag.NewFlagSet("other", pflag.ContinueOnError)
	flags.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		group := ""
		if g := f.Annotations[groupAnnotation]; len(g) > 0 {
			group = g[0]
		}
		set := other
		if group != "" {
			if grouped[group] == nil {
				grouped[group] = pflag.NewFlagSet(group, pflag.ContinueOnError)
				grouped[group].SortFlags = false
			}
			set = grouped[group]
		}
		set.AddFlag(f)
	})
	for _, group := range flagGroups {
		if set := grouped[group]; set != nil {
			fmt.Fprintf(&b, "\n%s flags:\n%s", group, set.FlagUsagesWrapped(80))
		}
	}
	if other.HasFlags() {
		title := "Flags"
		if len(grouped) > 0 {
			title = "Other flags"
		}
		fmt.Fprintf(&b, "\n%s:\n%s", title, other.FlagUsagesWrapped(80))
	}
	if notes := cmd.Annotations[notesAnnotation]; notes != "" {
		fmt.Fprintf(&b, "\n%s\n", notes)
	}
	if cmd.HasExample() {
		fmt.Fprintf(&b, "\nExamples:\n%s\n", cmd.Example)
	}
	if cmd.HasAvailableSubCommands() {
		fmt.Fprintf(&b, "\nUse \"%s help [command]\" for more about a command.\n", cmd.CommandPath())
	}
	_, err := io.WriteString(cmd.OutOrStderr(), b.String())
	return err
}
