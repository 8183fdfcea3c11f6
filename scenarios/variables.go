package scenarios

import (
	"fmt"
	"strings"
)

// Variable documents one name an assertion can use.
type Variable struct {
	Name string
	Type string
	Doc  string
}

// Variables lists every assertion variable, in the order the README's
// table shows them. A test checks that it matches Env exactly.
func Variables() []Variable {
	return []Variable{
		{"accepted", "int", "events the sender accepted (durably acknowledged at ingest)"},
		{"delivered", "int", "accepted events the receiver acknowledged (2xx, verified) at least once"},
		{"lost", "int", "accepted, never acknowledged, not dead-lettered, not pending"},
		{"duplicated", "int", "events acknowledged more than once"},
		{"duplicate_deliveries", "int", "extra acknowledged deliveries beyond the first, summed over events"},
		{"dead_lettered", "int", "events the sender gave up on and says so (replayable)"},
		{"pending", "int", "events still in flight when the drain timed out"},
		{"unexpected", "int", "receipts for ids that were never accepted"},
		{"reordered", "int", "inversions between accepted and received order, summed over ordering keys"},
		{"dead_lettered_received", "int", "dead-lettered events that did arrive (acknowledgement lost): a replay would deliver them again"},
		{"delivered_ratio", "float", "delivered / accepted"},
		{"lost_ratio", "float", "lost / accepted"},
		{"duplicated_ratio", "float", "duplicated / accepted"},
		{"dead_lettered_ratio", "float", "dead_lettered / accepted"},
		{"delivery.p50", "duration", "median time from acceptance to first acknowledged receipt"},
		{"delivery.p90", "duration", "90th percentile time to delivery"},
		{"delivery.p99", "duration", "99th percentile time to delivery"},
		{"delivery.max", "duration", "slowest delivery"},
		{"delivery.mean", "duration", "mean time to delivery"},
		{"attempts.total", "int", "delivery attempts made by the sender"},
		{"attempts.per_event.mean", "float", "mean attempts per accepted event"},
		{"attempts.per_event.p50", "int", "median attempts per accepted event"},
		{"attempts.per_event.p99", "int", "99th percentile attempts per accepted event"},
		{"attempts.per_event.max", "int", "most attempts any event took"},
		{"attempts.amplification", "float", "attempts.total / accepted (1.0 means no retries)"},
		{"herd.peak_rate", "float", "highest attempts/s in the seconds after a fault window closed"},
		{"herd.ratio", "float", "herd.peak_rate over the attempt rate before that window opened"},
		{"faults.injected", "int", "attempts that met an injected fault (connections refused in a down window included)"},
		{"ordering.keys", "int", "ordering keys the events were spread over"},
		{"ordering.keys_reordered", "int", "keys with at least one inversion"},
		{"ordering.events_out_of_order", "int", "events received before some event of their key that was accepted earlier"},
		{"load.sent", "int", "events the load generator sent to the sender"},
		{"load.rejected", "int", "events the sender refused at ingest (not accepted)"},
		{"endpoint.attempts", "int", "requests the receiving endpoint was sent (the faults injected in front of it aside)"},
		{"endpoint.answered", "int", "of those, answered with any HTTP status"},
		{"endpoint.failed", "int", "of those, failed: a non-2xx answer or a transport error (refused, reset, timeout, ...)"},
		{"endpoint.failed_ratio", "float", "endpoint.failed / endpoint.attempts"},
		{"endpoint.response.p50", "duration", "the endpoint's median time to answer"},
		{"endpoint.response.p90", "duration", "90th percentile time to answer"},
		{"endpoint.response.p99", "duration", "99th percentile time to answer"},
		{"endpoint.response.max", "duration", "slowest answer"},
		{"endpoint.response.mean", "duration", "mean time to answer"},
		{"groups.NAME.accepted", "int", "a fleet group's accepted events (NAME is the group's name in endpoints:)"},
		{"groups.NAME.delivered", "int", "the group's delivered events"},
		{"groups.NAME.lost", "int", "the group's lost events"},
		{"groups.NAME.dead_lettered", "int", "the group's dead-lettered events"},
		{"groups.NAME.pending", "int", "the group's events still pending after the drain"},
		{"groups.NAME.attempts", "int", "delivery attempts on the group's events"},
		{"groups.NAME.amplification", "float", "the group's attempts / accepted"},
		{"groups.NAME.latency.p50", "duration", "the group's median time to delivery"},
		{"groups.NAME.latency.p90", "duration", "the group's 90th percentile time to delivery"},
		{"groups.NAME.latency.p99", "duration", "the group's 99th percentile time to delivery"},
		{"groups.NAME.latency.max", "duration", "the group's slowest delivery"},
		{"groups.NAME.latency.mean", "duration", "the group's mean time to delivery"},
		{"groups.NAME.herd.peak_rate", "float", "the group's most attempts in a second after a fault window that touched it (its own or a scenario-wide one) closed"},
		{"groups.NAME.herd.ratio", "float", "that peak over the group's attempt rate before the window opened"},
		{"isolation.p99", "duration", "the healthy groups' delivery p99 (groups with no faults and no rate limit)"},
		{"isolation.baseline_p99", "duration", "their delivery p99 with the sick groups healed, faults and rate limits dropped (measured by hookrig run --isolation, always by hookrig sim, or when an assertion reads isolation)"},
		{"isolation.ratio", "float", "isolation.p99 / isolation.baseline_p99: how much the sick groups slowed the healthy ones (1 = not at all)"},
	}
}

// variablesTable renders Variables as the Markdown table the README
// shows (a test keeps the two in step).
func variablesTable() string {
	var b strings.Builder
	b.WriteString("| variable | type | meaning |\n| --- | --- | --- |\n")
	for _, v := range Variables() {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", v.Name, v.Type, v.Doc)
	}
	return b.String()
}
