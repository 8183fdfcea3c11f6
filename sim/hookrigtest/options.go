package hookrigtest

import (
	"github.com/hookrig/hookrig/reference/receiver"
	"github.com/hookrig/hookrig/reference/sender"
	"github.com/hookrig/hookrig/reference/sender/delivery"
)

// Option adjusts a helper. Each says which helpers it applies to; the
// others ignore it.
type Option func(*options)

type options struct {
	secret   string
	receipts string
	seed     *uint64
	policy   *delivery.Policy
	receiver func(*receiver.Config)
	sender   func(*sender.Config)
}

func collect(opts []Option) options {
	var o options
	for _, fn := range opts {
		fn(&o)
	}
	return o
}

// WithSecret is the Standard Webhooks secret ("whsec_...") to sign and
// verify with (NewReceiver, NewSender, Run). Default: a fresh one, which
// the helper's Secret field shows; with Run, give the one your endpoint
// verifies with.
func WithSecret(secret string) Option { return func(o *options) { o.secret = secret } }

// WithReceipts is where Run reads what your endpoint actually stored, in
// the reference receiver's GET /v1/receipts format (hookrig run
// --receipts): a path on your endpoint's server ("/v1/receipts") or a
// whole URL. Without it, Run judges your endpoint by its answers alone,
// and a webhook answered 200 and then dropped counts as delivered.
func WithReceipts(pathOrURL string) Option { return func(o *options) { o.receipts = pathOrURL } }

// WithSeed replaces the scenario's seed (Run; hookrig run --seed).
func WithSeed(seed uint64) Option { return func(o *options) { o.seed = &seed } }

// WithPolicy is the delivery policy of the endpoint NewSender creates
// (retries, backoff, timeouts). Default: delivery.DefaultPolicy().
func WithPolicy(p delivery.Policy) Option { return func(o *options) { o.policy = &p } }

// WithReceiverConfig adjusts the reference receiver's configuration
// before NewReceiver starts it (tolerance, dedupe, processing...). Its
// Secrets and hooks are set by NewReceiver after, except a
// Processing.Func, which runs after the helper records the webhook.
func WithReceiverConfig(fn func(*receiver.Config)) Option {
	return func(o *options) { o.receiver = fn }
}

// WithSenderConfig adjusts the reference sender's configuration before
// NewSender opens it (workers, clock...). Its DataDir and OnAttempt are
// the helper's.
func WithSenderConfig(fn func(*sender.Config)) Option {
	return func(o *options) { o.sender = fn }
}
