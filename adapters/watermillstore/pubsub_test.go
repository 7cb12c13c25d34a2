package watermillstore_test

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/tests"

	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/adapters/watermillstore"
)

// features are what the pair built on the embedded store guarantees.
var features = tests.Features{
	// Subscribers of one group do not compete for messages: each one
	// delivers the whole topic from the group's checkpoint. A group's work
	// is shared only by static partitioning (Partition), which the suite's
	// constructor cannot express. Distinct groups do keep independent
	// checkpoints: TestConsumerGroupsAreIndependent.
	ConsumerGroups: false,
	// At least once: a message acknowledged after its checkpoint was last
	// saved, or nacked, is delivered again.
	ExactlyOnceDelivery: false,
	// Each subscription delivers its topic in log order and sends the next
	// message only after the previous one's Ack, so even several
	// subscribers merged together deliver every message's first copy in
	// order (what TestPublishSubscribeInOrder checks with 10 of them).
	GuaranteedOrder:                     true,
	GuaranteedOrderWithSingleSubscriber: false,
	// Events are in the durable store and checkpoints in a bbolt file: a
	// new Publisher or Subscriber sees what earlier ones left.
	Persistent:            true,
	RequireSingleInstance: false,
	// A new subscriber in a group resumes from the group's checkpoint, so
	// it does not get what the group already consumed. Without a group it
	// does: TestNewSubscriberWithoutGroupReceivesOldMessages.
	NewSubscriberReceivesOldMessages: false,
	// A delivered message's context is the subscription's, ended on Ack,
	// Nack or Close; the publisher's context is not carried over.
	ContextPreserved: false,
}

func TestPubSub(t *testing.T) {
	envs := newSuiteEnvs()
	tests.TestPubSub(t, features,
		func(t *testing.T) (message.Publisher, message.Subscriber) {
			return envs.pubSub(t, "suite")
		},
		envs.pubSub,
	)
}

func TestNewSubscriberWithoutGroupReceivesOldMessages(t *testing.T) {
	envs := newSuiteEnvs()
	f := features
	f.NewSubscriberReceivesOldMessages = true
	tests.TestNewSubscriberReceivesOldMessages(t, tests.TestContext{TestID: tests.NewTestID(), Features: f},
		func(t *testing.T) (message.Publisher, message.Subscriber) { return envs.pubSub(t, "") })
}

// suiteEnvs gives each test of the suite its own store and checkpoint file,
// shared by every Publisher and Subscriber the test constructs (the suite
// passes them the same *testing.T), so the parallel tests do not scan each
// other's events.
type suiteEnvs struct {
	mu   sync.Mutex
	envs map[string]*suiteEnv
}

type suiteEnv struct {
	store       *embedded.Store
	checkpoints *watermillstore.BoltCheckpoints
}

func newSuiteEnvs() *suiteEnvs { return &suiteEnvs{envs: map[string]*suiteEnv{}} }

func (e *suiteEnvs) get(t *testing.T) *suiteEnv {
	e.mu.Lock()
	defer e.mu.Unlock()
	if env, ok := e.envs[t.Name()]; ok {
		return env
	}
	dir := t.TempDir()
	store, err := embedded.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkpoints, err := watermillstore.OpenBoltCheckpoints(filepath.Join(dir, "checkpoints.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = store.Close()
		_ = checkpoints.Close()
	})
	env := &suiteEnv{store: store, checkpoints: checkpoints}
	e.envs[t.Name()] = env
	return env
}

// pubSub builds a pair; an empty group means no checkpoints.
func (e *suiteEnvs) pubSub(t *testing.T, group string) (message.Publisher, message.Subscriber) {
	env := e.get(t)
	config := watermillstore.SubscriberConfig{
		// Batched saves (fewer than the default, so that the suite's runs
		// of a few hundred messages do save mid-run): up to 50 subscribers
		// share one checkpoint file in TestConcurrentSubscribe, and a sync
		// per Ack would serialise them all on the disk.
		CheckpointEvery: 100,
		NackBackoff:     time.Millisecond,
	}
	if group != "" {
		config.ConsumerGroup = group
		config.Checkpoints = env.checkpoints
	}
	pub, err := watermillstore.NewPublisher(env.store, nil)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := watermillstore.NewSubscriber(env.store, config, nil)
	if err != nil {
		t.Fatal(err)
	}
	return pub, sub
}
