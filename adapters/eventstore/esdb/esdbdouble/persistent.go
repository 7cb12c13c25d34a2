package esdbdouble

import (
	"context"
	"errors"
	"hash/fnv"
	"io"
	"slices"
	"sync"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/persistent"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// persistentServer is the double's persistent subscriptions service, for
// groups on $all only: Create, Delete and Read (with Ack and Nack). A group
// lives in memory; it survives Restart (as the real server keeps a group's
// configuration and checkpoint in its database) while its connections do
// not. Message timeouts and parking to a parked-messages stream are not
// part of the double: a nack with park or skip drops the message.
type persistentServer struct {
	persistent.UnimplementedPersistentSubscriptionsServer
	d *Double

	mu     sync.Mutex
	groups map[string]*group
}

func newPersistentServer(d *Double) *persistentServer {
	return &persistentServer{d: d, groups: map[string]*group{}}
}

// buckets is the number of buckets the Pinned strategy hashes streams
// into, as on the real server.
const buckets = 1024

type group struct {
	name     string
	filter   *filter
	strategy string
	maxRetry int
	store    *store

	mu        sync.Mutex
	cursor    int        // next log index to look at
	pending   []*message // to dispatch, in order: retries first, then new
	consumers []*consumer
	owner     [buckets]*consumer
	rr        int // round-robin rotation
	wake      chan struct{}
	deleted   chan struct{}
}

type message struct {
	r     *record
	retry int
}

type consumer struct {
	id       string
	capacity int
	inflight map[uuid.UUID]*message
	queue    chan delivery
	gone     chan struct{}
}

// delivery is a message as handed to a consumer: its retry count is
// copied, since the message may be retried elsewhere meanwhile.
type delivery struct {
	r     *record
	retry int
}

func (p *persistentServer) Create(_ context.Context, req *persistent.CreateReq) (*persistent.CreateResp, error) {
	o := req.GetOptions()
	all := o.GetAll()
	if all == nil {
		return nil, status.Error(codes.Unimplemented, "esdbdouble: persistent subscriptions to a single stream are not part of the double")
	}
	st := o.GetSettings()
	strategy := st.GetConsumerStrategy()
	if strategy == "" {
		strategy = st.GetNamedConsumerStrategy().String()
	}
	switch strategy {
	case "Pinned", "RoundRobin", "DispatchToSingle":
	default:
		return nil, status.Errorf(codes.InvalidArgument, "esdbdouble: consumer strategy %q is not part of the double", strategy)
	}
	var f *filter
	if fo := all.GetFilter(); fo != nil {
		var expr *persistent.CreateReq_AllOptions_FilterOptions_Expression
		onType := false
		switch v := fo.GetFilter().(type) {
		case *persistent.CreateReq_AllOptions_FilterOptions_StreamIdentifier:
			expr = v.StreamIdentifier
		case *persistent.CreateReq_AllOptions_FilterOptions_EventType:
			expr, onType = v.EventType, true
		default:
			return nil, status.Error(codes.InvalidArgument, "filter: neither on stream names nor on event types")
		}
		var err error
		if f, err = newFilter(onType, expr.GetRegex(), expr.GetPrefix(), fo.GetMax(), fo.GetCheckpointIntervalMultiplier()); err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
	}
	g := &group{
		name: o.GetGroupName(), filter: f, strategy: strategy, maxRetry: int(st.GetMaxRetryCount()),
		store: p.d.store, wake: make(chan struct{}, 1), deleted: make(chan struct{}),
	}
	switch v := all.GetAllOption().(type) {
	case *persistent.CreateReq_AllOptions_End:
		g.cursor = p.d.store.subscriptionStart(pos{}, false, true)
	case *persistent.CreateReq_AllOptions_Position:
		p.d.store.mu.Lock()
		g.cursor = p.d.store.allFrom(pos{v.Position.GetCommitPosition(), v.Position.GetPreparePosition()}, true)
		p.d.store.mu.Unlock()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.groups[g.name]; ok {
		return nil, status.Errorf(codes.AlreadyExists, "subscription group %s on stream $all exists", g.name)
	}
	p.groups[g.name] = g
	go g.dispatch()
	return &persistent.CreateResp{}, nil
}

func (p *persistentServer) Delete(_ context.Context, req *persistent.DeleteReq) (*persistent.DeleteResp, error) {
	o := req.GetOptions()
	if o.GetAll() == nil {
		return nil, status.Error(codes.Unimplemented, "esdbdouble: persistent subscriptions to a single stream are not part of the double")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	g, ok := p.groups[o.GetGroupName()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "subscription group %s on stream $all does not exist", o.GetGroupName())
	}
	delete(p.groups, g.name)
	close(g.deleted)
	return &persistent.DeleteResp{}, nil
}

func (p *persistentServer) Read(srv persistent.PersistentSubscriptions_ReadServer) error {
	first, err := srv.Recv()
	if err != nil {
		return err
	}
	o := first.GetOptions()
	if o == nil {
		return status.Error(codes.InvalidArgument, "read: the first message must carry the options")
	}
	if o.GetAll() == nil {
		return status.Error(codes.Unimplemented, "esdbdouble: persistent subscriptions to a single stream are not part of the double")
	}
	g, ok := p.group(o.GetGroupName())
	if !ok {
		return status.Errorf(codes.NotFound, "subscription group %s on stream $all does not exist", o.GetGroupName())
	}
	c := &consumer{
		id:       uuid.NewString(),
		capacity: max(1, int(o.GetBufferSize())),
		inflight: map[uuid.UUID]*message{},
		gone:     make(chan struct{}),
	}
	c.queue = make(chan delivery, c.capacity)
	if err := srv.Send(&persistent.ReadResp{Content: &persistent.ReadResp_SubscriptionConfirmation_{
		SubscriptionConfirmation: &persistent.ReadResp_SubscriptionConfirmation{SubscriptionId: c.id},
	}}); err != nil {
		return err
	}
	g.join(c)
	defer g.leave(c)

	recvErr := make(chan error, 1)
	go func() {
		for {
			m, err := srv.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			switch {
			case m.GetAck() != nil:
				g.settle(c, m.GetAck().GetIds(), persistent.ReadReq_Nack_Unknown, false)
			case m.GetNack() != nil:
				g.settle(c, m.GetNack().GetIds(), m.GetNack().GetAction(), true)
			}
		}
	}()
	stop := p.d.stopping()
	for {
		select {
		case m := <-c.queue:
			if err := srv.Send(persistentEventResp(m)); err != nil {
				return err
			}
		case err := <-recvErr:
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		case <-srv.Context().Done():
			return srv.Context().Err()
		case <-stop:
			return status.Error(codes.Unavailable, "esdbdouble: server stopping")
		case <-g.deleted:
			return status.Error(codes.Aborted, "esdbdouble: subscription group deleted")
		}
	}
}

// group finds a group by name.
func (p *persistentServer) group(name string) (*group, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	g, ok := p.groups[name]
	return g, ok
}

// consumers returns the number of consumers connected to a group.
func (p *persistentServer) consumers(name string) int {
	g, ok := p.group(name)
	if !ok {
		return 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.consumers)
}

// backlog counts a group's messages not yet acknowledged: those in
// flight, those waiting to be dispatched, and the log records its
// dispatcher has not looked at yet (filtered or not).
func (p *persistentServer) backlog(name string) int {
	g, ok := p.group(name)
	if !ok {
		return 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	n := len(g.pending)
	for _, c := range g.consumers {
		n += len(c.inflight)
	}
	g.store.mu.Lock()
	n += len(g.store.log) - g.cursor
	g.store.mu.Unlock()
	return n
}

// dropConnections removes every consumer of every group (a restart).
func (p *persistentServer) dropConnections() {
	p.mu.Lock()
	groups := make([]*group, 0, len(p.groups))
	for _, g := range p.groups {
		groups = append(groups, g)
	}
	p.mu.Unlock()
	for _, g := range groups {
		g.mu.Lock()
		cs := slices.Clone(g.consumers)
		g.mu.Unlock()
		for _, c := range cs {
			g.leave(c)
		}
	}
}

func (g *group) poke() {
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// join adds a consumer; with Pinned it takes every n-th bucket, so that
// the others keep most of theirs.
func (g *group) join(c *consumer) {
	g.mu.Lock()
	g.consumers = append(g.consumers, c)
	n := len(g.consumers)
	for b := range g.owner {
		if g.owner[b] == nil || b%n == n-1 {
			g.owner[b] = c
		}
	}
	g.mu.Unlock()
	g.poke()
}

// leave removes a consumer: its buckets go to the others, its messages in
// flight are dispatched again (a retry).
func (g *group) leave(c *consumer) {
	g.mu.Lock()
	i := slices.Index(g.consumers, c)
	if i < 0 {
		g.mu.Unlock()
		return
	}
	g.consumers = slices.Delete(g.consumers, i, i+1)
	close(c.gone)
	next := 0
	for b := range g.owner {
		if g.owner[b] != c {
			continue
		}
		g.owner[b] = nil
		if len(g.consumers) > 0 {
			g.owner[b] = g.consumers[next%len(g.consumers)]
			next++
		}
	}
	var back []*message
	for _, m := range c.inflight {
		m.retry++
		back = append(back, m)
	}
	slices.SortFunc(back, func(a, b *message) int {
		if a.r.pos().less(b.r.pos()) {
			return -1
		}
		return 1
	})
	g.pending = append(back, g.pending...)
	g.mu.Unlock()
	g.poke()
}

// settle handles an ack (nack=false) or a nack.
func (g *group) settle(c *consumer, ids []*shared.UUID, action persistent.ReadReq_Nack_Action, nack bool) {
	g.mu.Lock()
	for _, pid := range ids {
		id, err := uuidFromProto(pid)
		if err != nil {
			continue
		}
		m, ok := c.inflight[id]
		if !ok {
			continue
		}
		delete(c.inflight, id)
		if !nack {
			continue
		}
		switch action {
		case persistent.ReadReq_Nack_Retry, persistent.ReadReq_Nack_Unknown:
			m.retry++
			if g.maxRetry <= 0 || m.retry <= g.maxRetry {
				g.pending = append([]*message{m}, g.pending...)
			}
		default: // park, skip, stop: not delivered again
		}
	}
	g.mu.Unlock()
	g.poke()
}

// dispatch hands the group's messages to its consumers as they have room.
func (g *group) dispatch() {
	for {
		g.mu.Lock()
		// Take new events from the log.
		var changed chan struct{}
		for len(g.pending) < 512 {
			batch, ch := g.store.after(g.cursor, 512-len(g.pending))
			changed = ch
			if len(batch) == 0 {
				break
			}
			for _, r := range batch {
				if g.filter.match(r) {
					g.pending = append(g.pending, &message{r: r})
				}
			}
			g.cursor += len(batch)
		}
		kept := g.pending[:0]
		for _, m := range g.pending {
			c := g.pick(m.r)
			if c == nil {
				kept = append(kept, m)
				continue
			}
			c.inflight[m.r.id] = m
			c.queue <- delivery{r: m.r, retry: m.retry} // never blocks: inflight <= capacity = cap(queue)
		}
		clear(g.pending[len(kept):])
		g.pending = kept
		g.mu.Unlock()

		if changed == nil {
			// The pending buffer is full: wait for room.
			changed = make(chan struct{})
		}
		select {
		case <-g.wake:
		case <-changed:
		case <-g.deleted:
			return
		}
	}
}

// pick chooses the consumer for a message, or nil when the one it must go
// to (or every one) is full. g.mu is held.
func (g *group) pick(r *record) *consumer {
	if len(g.consumers) == 0 {
		return nil
	}
	room := func(c *consumer) bool { return len(c.inflight) < c.capacity }
	switch g.strategy {
	case "Pinned":
		// As documented for the server: the event's stream is hashed to
		// one of 1024 buckets, each assigned to one consumer; a leaving
		// consumer's buckets go to the others, a joining one takes some.
		// The server's hash function is its own: which consumer gets which
		// stream differs, the rule does not. Unlike the server, which calls
		// the pinning best effort, the double never reorders a stream
		// except through retries.
		h := fnv.New32a()
		_, _ = h.Write([]byte(r.stream))
		c := g.owner[h.Sum32()%buckets]
		if c != nil && room(c) {
			return c
		}
		return nil
	case "DispatchToSingle":
		for _, c := range g.consumers {
			if room(c) {
				return c
			}
		}
		return nil
	default: // RoundRobin
		for i := range g.consumers {
			c := g.consumers[(g.rr+i)%len(g.consumers)]
			if room(c) {
				g.rr = (g.rr + i + 1) % len(g.consumers)
				return c
			}
		}
		return nil
	}
}

func persistentEventResp(m delivery) *persistent.ReadResp {
	r := m.r
	return &persistent.ReadResp{Content: &persistent.ReadResp_Event{Event: &persistent.ReadResp_ReadEvent{
		Event: &persistent.ReadResp_ReadEvent_RecordedEvent{
			Id:               uuidProto(r.id),
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(r.stream)},
			StreamRevision:   r.rev,
			PreparePosition:  r.prepare,
			CommitPosition:   r.commit,
			Metadata:         systemMetadata(r),
			CustomMetadata:   r.meta,
			Data:             r.data,
		},
		Position: &persistent.ReadResp_ReadEvent_CommitPosition{CommitPosition: r.commit},
		Count:    &persistent.ReadResp_ReadEvent_RetryCount{RetryCount: int32(m.retry)},
	}}}
}
