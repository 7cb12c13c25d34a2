package watermillstore

import (
	"context"
	"errors"
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

	// pos is the position of the last event finished with: acknowledged,
	// or passed over as not this subscription's. Owned by run's goroutine.
	pos eventstore.Position
	// unsavedAcks and unsavedSkips count what pos moved past since the
	// last saved checkpoint.
	unsavedAcks, unsavedSkips int
}

func (s *subscription) run() {
	defer close(s.out)
	defer s.saveCheckpoint(context.WithoutCancel(s.ctx))
	for {
		err := s.store.SubscribeAll(s.ctx, s.pos, s.selection.Filter, s.handle)
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
			"position": s.pos,
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
	msg := toMessage(ev)
	for {
		acked, err := s.deliver(msg.Copy())
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

// advance moves past the event at pos and saves the checkpoint when enough
// has gone unsaved.
func (s *subscription) advance(pos eventstore.Position, acked bool) {
	s.pos = pos
	if acked {
		s.unsavedAcks++
	} else {
		s.unsavedSkips++
	}
	if s.unsavedAcks >= s.config.CheckpointEvery || s.unsavedSkips >= skippedSaveEvery {
		s.saveCheckpoint(s.ctx)
	}
}

// saveCheckpoint saves pos if it moved. A failed save is logged and tried
// again later: it can only cause redelivery.
func (s *subscription) saveCheckpoint(ctx context.Context) {
	if s.config.Checkpoints == nil || s.unsavedAcks+s.unsavedSkips == 0 {
		return
	}
	if err := s.config.Checkpoints.Save(ctx, s.key, s.pos); err != nil {
		s.logger.Error("Cannot save checkpoint", err, watermill.LogFields{"position": s.pos})
		return
	}
	s.unsavedAcks, s.unsavedSkips = 0, 0
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
