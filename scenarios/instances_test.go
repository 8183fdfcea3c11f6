package scenarios

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const instancesGood = `name: pg
sender:
  instances: 3
  store: postgres
  crashes:
    - {at: 2s, instance: 2, down: 1s}
receiver:
  instances: 2
  dedupe: postgres
load:
  phases:
    - {pacer: constant:10, duration: 5s}
assertions: [lost == 0]
`

func TestParseInstances(t *testing.T) {
	s, err := Parse([]byte(instancesGood), "pg.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Sender.SenderInstances() != 3 || s.Sender.Store != StorePostgres || s.Receiver.ReceiverInstances() != 2 || s.Receiver.Dedupe != StorePostgres {
		t.Fatalf("sender %+v receiver %+v", s.Sender, s.Receiver)
	}
	if want := (Crash{At: 2 * time.Second, Down: time.Second, Instance: 2}); len(s.Sender.Crashes) != 1 || s.Sender.Crashes[0] != want {
		t.Fatalf("crashes %+v, want %+v", s.Sender.Crashes, want)
	}
	if !s.NeedsPostgres(false, false) {
		t.Error("NeedsPostgres false for a scenario on postgres")
	}
	one, err := Parse([]byte("name: one\nload:\n  phases:\n    - {pacer: constant:1, duration: 1s}\n"), "one.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if one.NeedsPostgres(false, false) || one.Sender.SenderInstances() != 1 || one.Receiver.ReceiverInstances() != 1 {
		t.Errorf("defaults: %+v %+v", one.Sender, one.Receiver)
	}
}

// Every mistake in the new fields is refused at its place, one line each,
// in file order.
func TestParseInstancesErrors(t *testing.T) {
	for _, c := range []struct {
		name, replace, with string
		want                []string
	}{
		{"sender instances without postgres", "  store: postgres\n", "", []string{
			"pg.yaml:3:14: sender.instances: 3 instances need store: postgres (a bbolt outbox is one process's file)"}},
		{"unknown store", "store: postgres", "store: redis", []string{
			`pg.yaml:3:14: sender.instances: 3 instances need store: postgres`,
			`pg.yaml:4:10: sender.store: "redis"; expected bbolt (a file, one process) or postgres (shared by instances)`}},
		{"zero instances", "instances: 3", "instances: 0", []string{
			"pg.yaml:3:14: sender.instances: 0; expected 1 or more",
			"pg.yaml:6:26: sender.crashes[0].instance: 2; expected 1 to 1 (sender.instances)"}},
		{"crash instance out of range", "instance: 2", "instance: 4", []string{
			"pg.yaml:6:26: sender.crashes[0].instance: 4; expected 1 to 3 (sender.instances)"}},
		{"crash without instance", "instance: 2, ", "", []string{
			"pg.yaml:6:12: sender.crashes[0]: missing instance: the sender has 3 instances; say which one to kill (instance: 1 to 3)"}},
		{"receiver instances without shared dedupe", "  dedupe: postgres\n", "", []string{
			"pg.yaml:8:14: receiver.instances: 2 instances need dedupe: postgres, or a retry landing on another instance is not caught as a duplicate"}},
		{"unknown dedupe", "dedupe: postgres", "dedupe: disk", []string{
			"pg.yaml:8:14: receiver.instances: 2 instances need dedupe: postgres",
			`pg.yaml:9:11: receiver.dedupe: "disk"; expected memory (each instance its own window) or postgres (shared by instances)`}},
		{"instances of the user's endpoint", "receiver:\n", "receiver:\n  url: http://127.0.0.1:9/x\n", []string{
			"pg.yaml:9:14: receiver.instances and receiver.dedupe configure hookrig's reference receivers; they cannot apply to your own endpoint at receiver.url"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := strings.Replace(instancesGood, c.replace, c.with, 1)
			if src == instancesGood {
				t.Fatalf("%q is not in the file", c.replace)
			}
			_, err := Parse([]byte(src), "pg.yaml")
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("got %v, want errors", err)
			}
			if len(errs) != len(c.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(c.want), err)
			}
			for i, w := range c.want {
				if got := errs[i].Error(); !strings.HasPrefix(got, w) || strings.Contains(got, "\n") {
					t.Errorf("error %d:\n got %s\nwant %s", i, got, w)
				}
			}
		})
	}
}

// A fleet runs on one sender and a receiver per group: instances are
// refused there, at the key that asks for them.
func TestParseInstancesNotWithAFleet(t *testing.T) {
	src := fleetHead + `sender: {instances: 2, store: postgres}
endpoints:
  - name: a
    count: 2
    receiver: {instances: 2, dedupe: postgres}
assertions: [lost == 0]
`
	_, err := Parse([]byte(src), "f.yaml")
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 2 {
		t.Fatalf("got %v, want 2 errors", err)
	}
	for i, want := range []string{
		"f.yaml:5:21: sender.instances and sender.store: not supported with a fleet (endpoints:) yet",
		"f.yaml:9:27: endpoints[0] (a).receiver: instances and dedupe apply to the top-level receiver only",
	} {
		if got := errs[i].Error(); !strings.HasPrefix(got, want) {
			t.Errorf("error %d:\n got %s\nwant %s", i, got, want)
		}
	}
}
