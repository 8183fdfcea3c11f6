package report

import (
	"fmt"

	"github.com/hookrig/hookrig/sim/verdict"
)

// What each sender and receiver instance did, for a run on PostgreSQL or
// with several receivers (Result.Instances), as every format shows it:
// the rows are made here once.

// instanceNote says where the sender rows come from and what interrupted
// means.
const instanceNote = "attempts are the database's records under each instance's name; an interrupted one was in flight when " +
	"its instance crashed or stopped, and another instance retried it once its lease expired"

// senderRows are the sender instances' table, header first, with an "all"
// row under more than one instance; nil for none.
func senderRows(r *verdict.Result) [][]string {
	if r.Instances == nil || len(r.Instances.Sender) == 0 {
		return nil
	}
	in := r.Instances.Sender
	rows := [][]string{{"sender", "attempts", "interrupted"}}
	var a, i int64
	for _, s := range in {
		rows = append(rows, []string{s.Name, fmt.Sprint(s.Attempts), fmt.Sprint(s.Interrupted)})
		a, i = a+s.Attempts, i+s.Interrupted
	}
	if len(in) > 1 {
		rows = append(rows, []string{"all", fmt.Sprint(a), fmt.Sprint(i)})
	}
	return rows
}

// receiverRows are the receiver instances' table, header first; nil for
// none.
func receiverRows(r *verdict.Result) [][]string {
	if r.Instances == nil || len(r.Instances.Receiver) == 0 {
		return nil
	}
	rows := [][]string{{"receiver", "served"}}
	for _, s := range r.Instances.Receiver {
		rows = append(rows, []string{s.Name, fmt.Sprint(s.Served)})
	}
	return rows
}

// instances prints the instances' tables.
func (t *textReport) instances() {
	if t.r.Instances == nil {
		return
	}
	t.section("Instances")
	if rows := senderRows(t.r); rows != nil {
		t.table(rows, "lrr")
		t.printf("%s\n", wrap(instanceNote, "  ", 104))
	}
	if rows := receiverRows(t.r); rows != nil {
		t.table(rows, "lr")
	}
}
