package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// addVersion gives root `hookrig version` and `hookrig --version`, both
// printing versionLine. The flag is declared here, without the -v that
// cobra would give it, because -v means --verbose across hookrig.
func addVersion(root *cobra.Command) {
	root.Version = versionLine()
	root.SetVersionTemplate("{{.Version}}\n")
	root.Flags().Bool("version", false, "print hookrig's version, commit and Go version")
	root.AddCommand(newVersionCmd())
}

// newVersionCmd prints what was built: the module version, the commit it
// was built from and the Go toolchain. A bug report or a CI log then says
// which hookrig produced a result.
func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print hookrig's version, the commit it was built from and its Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), versionLine())
			return err
		},
	}
}

// versionLine describes the running binary from its build information.
func versionLine() string {
	info, _ := debug.ReadBuildInfo() // nil when built without module support
	return describeBuild(info, runtime.GOOS+"/"+runtime.GOARCH)
}

// describeBuild renders build information as one line, e.g.
//
//	hookrig v0.4.0, commit 1a2b3c4d5e6f (modified, 2026-12-03T16:00:00Z), go1.26.0 linux/amd64
//
// `go install …@v0.4.0` stamps the module version; a build from a checkout
// says (devel) and carries the commit instead, with "modified" when the
// work tree had uncommitted changes, so such a binary is never mistaken for
// the commit it names.
func describeBuild(info *debug.BuildInfo, platform string) string {
	if info == nil {
		return fmt.Sprintf("hookrig (unknown version: built without module information), %s %s", runtime.Version(), platform)
	}
	version := info.Main.Version
	if version == "" {
		version = "(devel)" // go run and go test leave it empty
	}
	var rev, at string
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	commit := "commit unknown"
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		var notes []string
		if modified {
			notes = append(notes, "modified")
		}
		if at != "" {
			notes = append(notes, at)
		}
		commit = "commit " + rev
		if len(notes) > 0 {
			commit += " (" + strings.Join(notes, ", ") + ")"
		}
	}
	goVersion := info.GoVersion
	if goVersion == "" {
		goVersion = runtime.Version()
	}
	return fmt.Sprintf("hookrig %s, %s, %s %s", version, commit, goVersion, platform)
}
