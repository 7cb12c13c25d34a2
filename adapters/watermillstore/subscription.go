package watermillstore

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"lifesituations/domain/eventstore"
)

// subscription is one Subscribe call: the store's global subscription's
// handler runs in its goroutine and holds each event until its message is
// acknowledged, which keeps the log order and the one-at-a-time delivery.
type subscription struct {
	*Subscriber
	ctx       context.Context
	selection Selection
	key       string
	out       chan *message.Message
	logger    watermill.LoggerAdapter

	// mu guards pos and the unsaved counts: the store's handler (run's
	// goroutine) advances them, the flusher saves them.
	mu sync.Mutex
	// pos is the position of the last event finished with: acknowledged,
	// or passed over as not this subscription's. Only run's goroutine
	// writes it.
	pos eventstore.Position
	// unsavedAcks and unsavedSkips count what pos moved past since the
	// last saved checkpoint.
	unsavedAcks, unsavedSkips int
	// saveMu serialises saves, so that an older position is never saved
	// after a newer one.
	saveMu sync.Mutex
}

func (s *subscription) run() {
	defer close(s.out)
	defer s.saveCheckpoint(context.WithoutCancel(s.ctx))
	if s.config.Checkpoints != nil {
		stop, stopped := make(chan struct{}), make(chan struct{})
		go s.flush(stop, stopped)
		defer func() { close(stop); <-stopped }()
	}
	for {
		err := s.store.SubscribeAll(s.ctx, s.position(), s.selection.Filter, s.handle)
		if s.ctx.Err() != nil {
			return
		}
		if errors.Is(err, eventstore.ErrClosed) {
			s.logger.Info("Event store closed, subscription ends", nil)
			return
		}
		// Resubscribing from pos sends the message in flight again, if any:
		// it was not acknowledged.
		s.logger.Error("Event store subscription failed, resubscribing", err, watermill.LogFields{
			"position": s.position(),
		})
		if !s.sleep(s.config.RetryBackoff) {
			return
		}
	}
}

// handle delivers one event, returning only once it is acknowledged or the
// subscription ends.
func (s *subscription) handle(ev eventstore.RecordedEvent) error {
	if !s.selection.selects(ev) || !s.config.Partition.owns(ev) {
		s.advance(ev.Position, false)
		return nil
	}
	for {
		// A message is built for each delivery, as the handler may have
		// changed the one it nacked (and its Ack channels are spent).
		acked, err := s.deliver(toMessage(ev))
		if err != nil {
			return err
		}
		if acked {
			s.advance(ev.Position, true)
			return nil
		}
		if !s.sleep(s.config.NackBackoff) {
			return s.ctx.Err()
		}
	}
}

// deliver sends msg and waits for its Ack (true) or Nack (false). The
// message's context ends with its delivery.
func (s *subscription) deliver(msg *message.Message) (bool, error) {
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	msg.SetContext(ctx)

	select {
	case s.out <- msg:
	case <-s.ctx.Done():
		return false, s.ctx.Err()
	}
	select {
	case <-msg.Acked():
		return true, nil
	case <-msg.Nacked():
		return false, nil
	case <-s.ctx.Done():
		// An Ack that raced with the end still counts, sparing a
		// redelivery.
		select {
		case <-msg.Acked():
			return true, nil
		default:
			return false, s.ctx.Err()
		}
	}
}

// Checkpoints are saved in batches (see SubscriberConfig.CheckpointEvery
// and CheckpointInterval) rather than after every Ack: a synced write per
// message was the main cost of catching up. The saved position is always
// that of an event finished with, and events are finished with in log
// order, one at a time, so it never passes a message that was not
// acknowledged; a crash only delivers the unsaved tail again, which the
// consumers absorb by being idempotent (the situation sagas append with
// deterministic event ids, so a redelivered trigger appends nothing new).

// position is the position of the last event finished with.
func (s *subscription) position() eventstore.Position {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pos
}

// advance moves past the event at pos, acknowledged or passed over, and
// saves the checkpoint when enough has gone unsaved. Passed-over events are
// never delivered again, so they only bound how much a restart rereads.
func (s *subscription) advance(pos eventstore.Position, acked bool) {
	s.mu.Lock()
	s.pos = pos
	if acked {
		s.unsavedAcks++
	} else {
		s.unsavedSkips++
	}
	due := s.unsavedAcks >= s.config.CheckpointEvery || s.unsavedSkips >= skippedSaveEvery
	s.mu.Unlock()
	if due {
		s.saveCheckpoint(s.ctx)
	}
}

// flush saves the checkpoint every CheckpointInterval while anything is
// unsaved, until stop closes.
func (s *subscription) flush(stop <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	t := time.NewTicker(s.config.CheckpointInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.saveCheckpoint(s.ctx)
		case <-stop:
			return
		}
	}
}

// saveCheckpoint saves pos if it moved. A failed save is logged and tried
// again later: it can only cause redelivery.
func (s *subscription) saveCheckpoint(ctx context.Context) {
	if s.config.Checkpoints == nil {
		return
	}
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	pos, acks, skips := s.pos, s.unsavedAcks, s.unsavedSkips
	s.mu.Unlock()
	if acks+skips == 0 {
		return
	}
	if err := s.config.Checkpoints.Save(ctx, s.key, pos); err != nil {
		if ctx.Err() == nil { // else the final save, which ignores ctx, follows
			s.logger.Error("Cannot save checkpoint", err, watermill.LogFields{"position": pos})
		}
		return
	}
	s.mu.Lock()
	s.unsavedAcks -= acks
	s.unsavedSkips -= skips
	s.mu.Unlock()
}

// sleep waits for d, or returns false when the subscription ends first.
func (s *subscription) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}
