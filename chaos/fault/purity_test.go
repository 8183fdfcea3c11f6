package fault

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/hookrig/hookrig/internal/purity"
)

// The fault catalogue is the proxy's decision as a pure function of the
// request, the time on the rules' timeline and a seeded draw: the virtual
// simulator calls it as the live proxy does. These tests hold it to that
// by import rule rather than by a list of files.

// goList runs `go list` in this package's directory.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go tool on PATH to list imports: %v", err)
	}
	out, err := exec.Command(goTool, append([]string{"list"}, args...)...).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", strings.Join(args, " "), err)
	}
	return strings.Fields(string(out))
}

// forbiddenDep says why a package must not be linked into the catalogue.
func forbiddenDep(path string) string {
	switch {
	case path == "net" || strings.HasPrefix(path, "net/"), path == "crypto/tls":
		return "networking"
	case strings.Contains(path, "valyala/fasthttp"):
		return "the proxy's HTTP server"
	case strings.Contains(path, "bbolt"):
		return "the sender's outbox"
	case path == "os/exec", path == "os/signal":
		return "processes"
	}
	return ""
}

func TestImportRule(t *testing.T) {
	deps := goList(t, "-deps", ".")
	if len(deps) < 10 {
		t.Fatalf("go list -deps gave %d packages: %q", len(deps), deps)
	}
	for _, d := range deps {
		if why := forbiddenDep(d); why != "" {
			t.Errorf("chaos/fault links %s (%s): the pure catalogue must not", d, why)
		}
	}
	// os itself is reached through fmt, so the rule for it is on this
	// module's packages: none of those in the catalogue's dependencies
	// (itself included) imports os, net or syscall directly.
	for _, line := range goList(t, "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}={{join .Imports \",\"}}{{end}}", ".") {
		pkg, imports, _ := strings.Cut(line, "=")
		if !strings.HasPrefix(pkg, "github.com/hookrig/hookrig/") {
			continue
		}
		for _, im := range strings.Split(imports, ",") {
			if im == "os" || im == "syscall" || forbiddenDep(im) != "" {
				t.Errorf("%s imports %s: the catalogue's own packages do no I/O", pkg, im)
			}
		}
	}
}

func TestNoClockNoGlobalRandomnessNoGoroutines(t *testing.T) {
	found, checked, err := purity.Dir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range found {
		t.Errorf("%s: the fault catalogue must not read the clock, draw from a global source or start goroutines", bad)
	}
	if checked < 15 {
		t.Fatalf("checked %d files: want every non-test file of the package", checked)
	}
}
