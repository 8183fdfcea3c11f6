package verdict

// Instances are what each reference sender and receiver instance of a run
// did, for a run with its sender on PostgreSQL or several receivers
// (scenario sender.instances, receiver.instances); a run with one of each
// has none. The live runner fills it after the checker's result: the
// sender's counts come from the database's attempt records, the
// receivers' from each instance.
type Instances struct {
	Sender   []SenderInstance   `json:"sender,omitempty"`
	Receiver []ReceiverInstance `json:"receiver,omitempty"`
}

// SenderInstance is one sender instance: the attempts recorded under its
// name, interrupted ones included (an attempt it had in flight when it
// crashed is recorded under its name by the instance that took the lease
// over).
type SenderInstance struct {
	Name        string `json:"name"`
	Attempts    int64  `json:"attempts"`
	Interrupted int64  `json:"interrupted"`
}

// ReceiverInstance is one receiver instance behind the run's balancer:
// the webhook requests it answered.
type ReceiverInstance struct {
	Name   string `json:"name"`
	Served int64  `json:"served"`
}
