package main

import (
	"context"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// Both spellings print the same line, from the test binary's own build
// information: it names hookrig, a commit (or says it is unknown) and the
// Go toolchain that built it.
func TestVersionCommandAndFlag(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, stderr := runOnce(context.Background(), "", args...)
		if code != exitOK || stderr != "" {
			t.Fatalf("%v: exit %d, stderr %q", args, code, stderr)
		}
		line := strings.TrimSuffix(out, "\n")
		if strings.Contains(line, "\n") || !strings.HasPrefix(line, "hookrig ") || !strings.Contains(line, "commit ") ||
			!strings.Contains(line, runtime.Version()) {
			t.Errorf("%v printed %q; want one line: hookrig VERSION, commit REV, %s OS/ARCH", args, out, runtime.Version())
		}
		if line != versionLine() {
			t.Errorf("%v printed %q, versionLine is %q", args, line, versionLine())
		}
	}
	// -v stays --verbose's shorthand on the subcommands; at the top it is
	// not a version flag.
	if code, out, _ := runOnce(context.Background(), "", "-v"); code == exitOK && strings.Contains(out, "commit ") {
		t.Errorf("-v printed the version: %q", out)
	}
	if code, _, stderr := runOnce(context.Background(), "", "version", "extra"); code != exitError || !strings.Contains(stderr, "unknown command") && !strings.Contains(stderr, "accepts 0 arg") {
		t.Errorf("version extra: exit %d, %q", code, stderr)
	}
}

func TestDescribeBuild(t *testing.T) {
	settings := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i+1 < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	cases := []struct {
		name string
		info *debug.BuildInfo
		want string
	}{
		{"release", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.4.0"},
			Settings: settings("vcs.revision", "1a2b3c4d5e6f7a8b9c0d", "vcs.time", "2026-12-03T16:00:00Z", "vcs.modified", "false")},
			"hookrig v0.4.0, commit 1a2b3c4d5e6f (2026-12-03T16:00:00Z), go1.26.0 linux/amd64"},
		{"dirty checkout", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"},
			Settings: settings("vcs.revision", "1a2b3c4d5e6f7a8b9c0d", "vcs.modified", "true")},
			"hookrig (devel), commit 1a2b3c4d5e6f (modified), go1.26.0 linux/amd64"},
		{"no vcs", &debug.BuildInfo{GoVersion: "go1.26.0"},
			"hookrig (devel), commit unknown, go1.26.0 linux/amd64"},
	}
	for _, c := range cases {
		if got := describeBuild(c.info, "linux/amd64"); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
	if got := describeBuild(nil, "linux/amd64"); !strings.Contains(got, "unknown version") || !strings.Contains(got, runtime.Version()) {
		t.Errorf("no build info: %q", got)
	}
}
