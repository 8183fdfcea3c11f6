package report

import "fmt"

// instances prints what each sender and receiver instance did, for a run
// on PostgreSQL or with several receivers (Result.Instances).
func (t *textReport) instances() {
	in := t.r.Instances
	if in == nil {
		return
	}
	t.section("Instances")
	if len(in.Sender) > 0 {
		rows := [][]string{{"sender", "attempts", "interrupted"}}
		var a, i int64
		for _, s := range in.Sender {
			rows = append(rows, []string{s.Name, fmt.Sprint(s.Attempts), fmt.Sprint(s.Interrupted)})
			a, i = a+s.Attempts, i+s.Interrupted
		}
		if len(in.Sender) > 1 {
			rows = append(rows, []string{"all", fmt.Sprint(a), fmt.Sprint(i)})
		}
		t.table(rows, "lrr")
		t.printf("  attempts are the database's records under each instance's name; an interrupted one was in flight when\n" +
			"  its instance crashed or stopped, and another instance retried it once its lease expired\n")
	}
	if len(in.Receiver) > 0 {
		rows := [][]string{{"receiver", "served"}}
		for _, r := range in.Receiver {
			rows = append(rows, []string{r.Name, fmt.Sprint(r.Served)})
		}
		t.table(rows, "lr")
	}
}
