package scenarios

import (
	"os/exec"
	"strings"
	"testing"
)

// Parsing a scenario links only pure schema types: the sender's delivery
// decisions, not its outbox; loadgen's pacers, not a terminal UI.
func TestScenariosLinkNoOutboxNorTerminal(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list -deps listed nothing")
	}
	for _, dep := range deps {
		for _, banned := range []string{"go.etcd.io/bbolt", "github.com/vbauerster/mpb", "github.com/hookrig/hookrig/reference/sender"} {
			if dep == banned || strings.HasPrefix(dep, banned+"/") && !strings.HasPrefix(dep, "github.com/hookrig/hookrig/reference/sender/delivery") {
				t.Errorf("scenarios depends on %s", dep)
			}
		}
	}
}
