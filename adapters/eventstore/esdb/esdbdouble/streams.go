package esdbdouble

import (
	"errors"
	"io"
	"strconv"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// streamsServer is the double's event_store.client.streams.Streams service:
// Append (every expected revision), Read of a stream (both directions) and
// of $all (both directions), and subscriptions to $all with or without a
// server-side filter, and Tombstone (tombstone.go). Delete, BatchAppend
// and subscriptions to a single stream are not part of the double.
type streamsServer struct {
	api.UnimplementedStreamsServer
	d *Double
}

func (s *streamsServer) Append(srv api.Streams_AppendServer) error {
	first, err := srv.Recv()
	if err != nil {
		return err
	}
	opts := first.GetOptions()
	if opts == nil {
		return status.Error(codes.InvalidArgument, "append: the first message must carry the options")
	}
	stream := string(opts.GetStreamIdentifier().GetStreamName())
	if stream == "" {
		return status.Error(codes.InvalidArgument, "append: empty stream name")
	}
	var exp expectation
	switch v := opts.GetExpectedStreamRevision().(type) {
	case *api.AppendReq_Options_Any:
		exp.kind = expectAny
	case *api.AppendReq_Options_NoStream:
		exp.kind = expectNoStream
	case *api.AppendReq_Options_StreamExists:
		exp.kind = expectExists
	case *api.AppendReq_Options_Revision:
		exp = expectation{kind: expectRevision, rev: v.Revision}
	default:
		return status.Error(codes.InvalidArgument, "append: no expected revision")
	}
	var evs []proposed
	for {
		m, err := srv.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		pm := m.GetProposedMessage()
		if pm == nil {
			return status.Error(codes.InvalidArgument, "append: options sent twice")
		}
		id, err := uuidFromProto(pm.GetId())
		if err != nil {
			return status.Errorf(codes.InvalidArgument, "append: event id: %v", err)
		}
		typ := pm.GetMetadata()["type"]
		if typ == "" {
			return status.Error(codes.InvalidArgument, "append: event without type")
		}
		evs = append(evs, proposed{
			id: id, typ: typ, contentType: pm.GetMetadata()["content-type"],
			data: pm.GetData(), meta: pm.GetCustomMetadata(),
		})
	}

	fault := s.d.fault(stream)
	if fault == FailBeforeWrite {
		return status.Error(codes.Unavailable, "esdbdouble: injected failure before the write")
	}
	out := s.d.store.append(stream, exp, evs)
	if out.deleted {
		return streamDeletedError(srv.SetTrailer, stream)
	}
	if fault == FailAfterWrite {
		return status.Error(codes.Unavailable, "esdbdouble: injected failure after the write (the write happened)")
	}
	if out.ok {
		succ := &api.AppendResp_Success{
			PositionOption: &api.AppendResp_Success_Position{Position: &api.AppendResp_Position{
				CommitPosition: out.at.commit, PreparePosition: out.at.prepare,
			}},
		}
		if out.exists {
			succ.CurrentRevisionOption = &api.AppendResp_Success_CurrentRevision{CurrentRevision: out.current}
		} else {
			succ.CurrentRevisionOption = &api.AppendResp_Success_NoStream{NoStream: &shared.Empty{}}
		}
		return srv.SendAndClose(&api.AppendResp{Result: &api.AppendResp_Success_{Success: succ}})
	}
	wrong := &api.AppendResp_WrongExpectedVersion{}
	if out.exists {
		wrong.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentRevision{CurrentRevision: out.current}
		wrong.CurrentRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_CurrentRevision_20_6_0{CurrentRevision_20_6_0: out.current}
	} else {
		wrong.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentNoStream{CurrentNoStream: &shared.Empty{}}
		wrong.CurrentRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_NoStream_20_6_0{NoStream_20_6_0: &shared.Empty{}}
	}
	switch exp.kind {
	case expectAny:
		wrong.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedAny{ExpectedAny: &shared.Empty{}}
	case expectNoStream:
		wrong.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedNoStream{ExpectedNoStream: &shared.Empty{}}
	case expectExists:
		wrong.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedStreamExists{ExpectedStreamExists: &shared.Empty{}}
	default:
		wrong.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedRevision{ExpectedRevision: exp.rev}
	}
	return srv.SendAndClose(&api.AppendResp{Result: &api.AppendResp_WrongExpectedVersion_{WrongExpectedVersion: wrong}})
}

func (s *streamsServer) Read(req *api.ReadReq, srv api.Streams_ReadServer) error {
	o := req.GetOptions()
	if o == nil {
		return status.Error(codes.InvalidArgument, "read: no options")
	}
	f, err := filterFromProto(o.GetFilter())
	if err != nil {
		return err
	}
	backwards := o.GetReadDirection() == api.ReadReq_Options_Backwards
	_, subscribe := o.GetCountOption().(*api.ReadReq_Options_Subscription)

	if so := o.GetStream(); so != nil {
		if subscribe {
			return status.Error(codes.Unimplemented, "esdbdouble: subscriptions to a single stream are not part of the double")
		}
		stream := string(so.GetStreamIdentifier().GetStreamName())
		var from uint64
		var fromEnd bool
		switch v := so.GetRevisionOption().(type) {
		case *api.ReadReq_Options_StreamOptions_Revision:
			from = v.Revision
		case *api.ReadReq_Options_StreamOptions_End:
			fromEnd = true
		}
		if s.d.store.isTombstoned(stream) {
			return streamDeletedError(srv.SetTrailer, stream)
		}
		evs, ok := s.d.store.readStream(stream, from, fromEnd, backwards, o.GetCount())
		if !ok {
			return srv.Send(&api.ReadResp{Content: &api.ReadResp_StreamNotFound_{StreamNotFound: &api.ReadResp_StreamNotFound{
				StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(stream)},
			}}})
		}
		return sendAll(srv, evs)
	}

	ao := o.GetAll()
	if ao == nil {
		return status.Error(codes.InvalidArgument, "read: neither a stream nor $all")
	}
	var p pos
	var start, end bool
	switch v := ao.GetAllOption().(type) {
	case *api.ReadReq_Options_AllOptions_Position:
		p = pos{v.Position.GetCommitPosition(), v.Position.GetPreparePosition()}
	case *api.ReadReq_Options_AllOptions_Start:
		start = true
	case *api.ReadReq_Options_AllOptions_End:
		end = true
	}
	if subscribe {
		if backwards {
			return status.Error(codes.InvalidArgument, "subscribe: backwards")
		}
		return s.subscribeAll(srv, p, start, end, f)
	}
	return sendAll(srv, s.d.store.readAll(p, start, end, backwards, o.GetCount(), f))
}

// subscribeAll is a catch-up subscription to $all: what is stored after the
// start, then live events, filtered on the server, with a checkpoint every
// window*multiplier events looked at when a filter is set (and on catching
// up), as the real server sends them.
func (s *streamsServer) subscribeAll(srv api.Streams_ReadServer, p pos, start, end bool, f *filter) error {
	ctx := srv.Context()
	s.d.subscriptions.Add(1)
	if err := srv.Send(&api.ReadResp{Content: &api.ReadResp_Confirmation{Confirmation: &api.ReadResp_SubscriptionConfirmation{
		SubscriptionId: uuid.NewString(),
	}}}); err != nil {
		return err
	}
	i := s.d.store.subscriptionStart(p, start, end)
	looked := 0
	var last *record
	for {
		batch, changed := s.d.store.after(i, 256)
		for _, r := range batch {
			if f.match(r) {
				// Counted before the send: the client may act on the
				// event (and a test read Stats) before Send returns.
				s.d.sent.Add(1)
				if err := srv.Send(eventResp(r)); err != nil {
					s.d.sent.Add(-1)
					return err
				}
			}
			last = r
			looked++
			if f != nil && looked%f.every == 0 {
				if err := srv.Send(checkpointResp(r)); err != nil {
					return err
				}
			}
		}
		i += len(batch)
		if len(batch) > 0 {
			continue
		}
		if f != nil && last != nil && looked%f.every != 0 {
			if err := srv.Send(checkpointResp(last)); err != nil {
				return err
			}
			looked = 0
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.d.stopping():
			return status.Error(codes.Unavailable, "esdbdouble: server stopping")
		}
	}
}

func checkpointResp(r *record) *api.ReadResp {
	return &api.ReadResp{Content: &api.ReadResp_Checkpoint_{Checkpoint: &api.ReadResp_Checkpoint{
		CommitPosition: r.commit, PreparePosition: r.prepare,
	}}}
}

func sendAll(srv api.Streams_ReadServer, evs []*record) error {
	for _, r := range evs {
		if err := srv.Send(eventResp(r)); err != nil {
			return err
		}
	}
	return nil
}

func eventResp(r *record) *api.ReadResp {
	return &api.ReadResp{Content: &api.ReadResp_Event{Event: &api.ReadResp_ReadEvent{
		Event:    recordedProto(r),
		Position: &api.ReadResp_ReadEvent_CommitPosition{CommitPosition: r.commit},
	}}}
}

func recordedProto(r *record) *api.ReadResp_ReadEvent_RecordedEvent {
	return &api.ReadResp_ReadEvent_RecordedEvent{
		Id:               uuidProto(r.id),
		StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(r.stream)},
		StreamRevision:   r.rev,
		PreparePosition:  r.prepare,
		CommitPosition:   r.commit,
		Metadata:         systemMetadata(r),
		CustomMetadata:   r.meta,
		Data:             r.data,
	}
}

func systemMetadata(r *record) map[string]string {
	return map[string]string{
		"type":         r.typ,
		"content-type": r.contentType,
		"created":      strconv.FormatInt(r.created, 10),
	}
}

func filterFromProto(fo *api.ReadReq_Options_FilterOptions) (*filter, error) {
	if fo == nil {
		return nil, nil
	}
	var expr *api.ReadReq_Options_FilterOptions_Expression
	onType := false
	switch v := fo.GetFilter().(type) {
	case *api.ReadReq_Options_FilterOptions_StreamIdentifier:
		expr = v.StreamIdentifier
	case *api.ReadReq_Options_FilterOptions_EventType:
		expr, onType = v.EventType, true
	default:
		return nil, status.Error(codes.InvalidArgument, "filter: neither on stream names nor on event types")
	}
	f, err := newFilter(onType, expr.GetRegex(), expr.GetPrefix(), fo.GetMax(), fo.GetCheckpointIntervalMultiplier())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return f, nil
}

func uuidFromProto(u *shared.UUID) (uuid.UUID, error) {
	if s := u.GetStructured(); s != nil {
		return esdbclient.ParseUUIDFromInt64(s.GetMostSignificantBits(), s.GetLeastSignificantBits())
	}
	return uuid.Parse(u.GetString_())
}

func uuidProto(id uuid.UUID) *shared.UUID {
	most, least := esdbclient.UUIDAsInt64(id)
	return &shared.UUID{Value: &shared.UUID_Structured_{Structured: &shared.UUID_Structured{
		MostSignificantBits: most, LeastSignificantBits: least,
	}}}
}
