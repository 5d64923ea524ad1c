// compose-check loads a Compose file the way `docker compose` does, with the
// Compose Specification's own loader (github.com/compose-spec/compose-go):
// JSON-schema validation of today's format, interpolation from an env file
// (`${X:?message}` fails when X is missing), profiles, extends and merge keys.
// It prints the resolved project as JSON for tests/deploy/check_compose.py.
// This machine has no docker compose plugin, and Debian's docker-compose 1.29
// rejects the current format (top-level `name:`), hence this tool.
//
//	compose-check -f compose/docker-compose.yml --env-file compose/.env.example \
//	    --profile trial --profile observability > resolved.json
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var files, envFiles, profiles list
	flag.Var(&files, "f", "Compose file (repeatable)")
	flag.Var(&envFiles, "env-file", "file of VAR=value lines used for interpolation (repeatable)")
	flag.Var(&profiles, "profile", "profile to enable (repeatable)")
	flag.Parse()
	if len(files) == 0 {
		fmt.Fprintln(os.Stderr, "compose-check: give at least one -f FILE")
		os.Exit(2)
	}
	// Only the env files count: the caller's own environment must not make
	// a missing variable look set.
	opts, err := cli.NewProjectOptions(files,
		cli.WithEnvFiles(envFiles...),
		cli.WithDotEnv,
		cli.WithProfiles(profiles),
		cli.WithName("ruth"),
		cli.WithResolvedPaths(false),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, "compose-check:", err)
		os.Exit(1)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "compose-check: invalid:", err)
		os.Exit(1)
	}
	out, err := project.MarshalJSON()
	if err != nil {
		fmt.Fprintln(os.Stderr, "compose-check:", err)
		os.Exit(1)
	}
	os.Stdout.Write(out)
	os.Stdout.Write([]byte("\n"))
}
