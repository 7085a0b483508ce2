// Command faultline brings production errors into the editor.
//
//	faultline check      analyse logs against a repository and print incidents
//	faultline serve      the language server (LSP over stdio)
//	faultline correlator the team service: polls once for everyone, serves a JSON API
//	faultline demo       build the embedded demo workspace into a folder
//	faultline doctor     check the workspace and each source, with a fix per problem
//	faultline explain    show how stack frames map to workspace files, and why
//	faultline mappings   print the path rules derived from the workspace
//	faultline version    print the version
//
// Run `faultline <command> -h` for a command's flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands lists every subcommand; the usage text is built from it.
var commands []command

func init() {
	commands = []command{
		{"check", "analyse logs against a repository and print incidents", runCheck},
		{"serve", "run the language server on stdio", runServe},
		{"correlator", "serve incidents to a team: poll the backends once, keep incidents, serve a JSON API", runCorrelator},
		{"demo", "build the embedded demo workspace into a folder", runDemo},
		{"explain", "show how stack frames map to workspace files, and why", runExplain},
		{"mappings", "print path rules derived from the workspace (and logs) as a .faultline.yaml snippet", runMappings},
		{"doctor", "check the workspace, each source, credentials and path mapping, with a fix for each problem", runDoctor},
		{"version", "print the version", func(_ context.Context, _ []string, stdout, _ io.Writer) error {
			fmt.Fprintln(stdout, "faultline", version)
			return nil
		}},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// errUsage marks an error already explained by a usage message.
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		default:
			fmt.Fprintf(stderr, "faultline %s: %s\n", c.name, oneLine(err.Error()))
			return 1
		}
	}
	fmt.Fprintf(stderr, "faultline: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: faultline <command> [flags]")
	fmt.Fprintln(w)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
}

func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ") }

// multiFlag collects a repeated flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// parseFlags parses a subcommand's flags. The flag package has already
// printed what was wrong (or the help), so a bad flag is errUsage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}
