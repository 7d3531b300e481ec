// Command treecheck fails on what the repository must not hold, and on a
// built binary that git would take in:
//   - a tracked executable: an ELF, Mach-O or PE binary, or a file with the
//     executable bit that is not a script starting with #!;
//   - a tracked file over -max-bytes (2 MiB), text or not, outside -allow;
//   - a command (a main package of a module of -modules) whose binary, built
//     with go build at the module's top or in the command's folder, git
//     would not ignore.
//
// make lint runs it at the repository's top.
//
//	treecheck -modules '. tools' -allow server/internal/docs/redoc/redoc.standalone.js
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

func main() {
	problems, err := run(context.Background(), os.Args[1:], os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "treecheck:", err)
		os.Exit(2)
	}
	for _, p := range problems {
		fmt.Println(p)
	}
	if len(problems) > 0 {
		fmt.Fprintf(os.Stderr, "treecheck: %d problem(s): nothing built is committed, and every built binary is ignored\n", len(problems))
		os.Exit(1)
	}
	fmt.Println("treecheck: ok")
}

func run(ctx context.Context, args []string, stderr io.Writer) ([]string, error) {
	flags := flag.NewFlagSet("treecheck", flag.ContinueOnError)
	flags.SetOutput(stderr)
	maxBytes := flags.Int64("max-bytes", 2<<20, "the largest tracked file allowed outside -allow")
	allow := flags.String("allow", "", "comma-separated paths of tracked files that may be larger")
	modules := flags.String("modules", ".", "space-separated folders of the repository's Go modules")
	if err := flags.Parse(args); err != nil {
		return nil, err
	}
	tracked, err := trackedProblems(ctx, *maxBytes, strings.Split(*allow, ","))
	if err != nil {
		return nil, err
	}
	unignored, err := unignoredBinaries(ctx, strings.Fields(*modules))
	if err != nil {
		return nil, err
	}
	return append(tracked, unignored...), nil
}

// binaryMagic are the first bytes of executables: ELF, Mach-O (32 and 64
// bit, both byte orders, and universal) and PE.
var binaryMagic = [][]byte{
	[]byte("\x7fELF"),
	{0xfe, 0xed, 0xfa, 0xce}, {0xfe, 0xed, 0xfa, 0xcf}, {0xce, 0xfa, 0xed, 0xfe}, {0xcf, 0xfa, 0xed, 0xfe},
	{0xca, 0xfe, 0xba, 0xbe},
	[]byte("MZ"),
}

// trackedProblems checks every file in git's index.
func trackedProblems(ctx context.Context, maxBytes int64, allow []string) ([]string, error) {
	out, err := git(ctx, "ls-files", "-z", "--stage")
	if err != nil {
		return nil, err
	}
	var problems []string
	for entry := range strings.SplitSeq(strings.TrimSuffix(out, "\x00"), "\x00") {
		// <mode> <object> <stage>\t<path>
		meta, path, ok := strings.Cut(entry, "\t")
		if !ok {
			continue
		}
		mode, _, _ := strings.Cut(meta, " ")
		head, size, err := peek(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted in the work tree: nothing to look at
		}
		if err != nil {
			return nil, err
		}
		switch {
		case slices.ContainsFunc(binaryMagic, func(m []byte) bool { return bytes.HasPrefix(head, m) }):
			problems = append(problems, path+": a binary executable is tracked; build it instead, and ignore it in .gitignore")
		case mode == "100755" && !bytes.HasPrefix(head, []byte("#!")):
			problems = append(problems, path+": tracked with the executable bit but not a script with #!; git update-index --chmod=-x "+path)
		}
		if size > maxBytes && !slices.Contains(allow, path) {
			problems = append(problems, fmt.Sprintf("%s: %d bytes, over the %d a tracked file may have outside the allow-list of make lint", path, size, maxBytes))
		}
	}
	return problems, nil
}

// peek returns the first bytes of the file at path and its size; a symbolic
// link is looked at, not followed.
func peek(path string) ([]byte, int64, error) {
	info, err := os.Lstat(path)
	if err != nil || !info.Mode().IsRegular() {
		return nil, 0, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	head := make([]byte, 4)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, 0, fmt.Errorf("read %s: %w", path, err)
	}
	return head[:n], info.Size(), nil
}

// unignoredBinaries lists where go build would put a command's binary that
// git does not ignore: the module's top and the command's folder.
func unignoredBinaries(ctx context.Context, modules []string) ([]string, error) {
	here, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	var problems []string
	for _, module := range modules {
		cmd := exec.CommandContext(ctx, "go", "list", "-f", `{{if eq .Name "main"}}{{.Dir}}{{end}}`, "./...")
		cmd.Dir = module
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("go list in %s: %w", module, err)
		}
		top, err := filepath.Abs(module)
		if err != nil {
			return nil, err
		}
		for _, dir := range strings.Fields(string(out)) {
			name := filepath.Base(dir)
			for _, place := range []string{filepath.Join(top, name), filepath.Join(dir, name)} {
				if info, err := os.Stat(place); err == nil && info.IsDir() {
					continue // a folder there: go build cannot write the binary there
				}
				rel, err := filepath.Rel(here, place)
				if err != nil {
					return nil, err
				}
				// check-ignore: 0 ignored, 1 not ignored.
				_, err = git(ctx, "check-ignore", "-q", "--no-index", rel)
				var exit *exec.ExitError
				switch {
				case errors.As(err, &exit) && exit.ExitCode() == 1:
					problems = append(problems, rel+": where go build puts the command "+name+", and .gitignore does not ignore it")
				case err != nil:
					return nil, err
				}
			}
		}
	}
	return problems, nil
}

// git runs git in the current folder and returns its output.
func git(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
