package esdbdouble

import (
	"context"
	"math"

	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Hard deletes (Streams.Tombstone), as EventStoreDB documents them: a
// tombstone event of type "$streamDeleted" is written to the stream (and
// so to $all) with the revision the server reserves for it (the largest
// int64); from then on a read of the stream, an append to it and another
// tombstone fail with the server's "stream-deleted" exception, which the
// client reports as ErrorCodeStreamDeleted. The stream's earlier events
// stay in $all, as on the server until a scavenge removes them; the
// double never scavenges. Soft deletes (Streams.Delete) are not part of
// the double.

// tombstoneType and tombstoneRevision are what the server writes.
const (
	tombstoneType     = "$streamDeleted"
	tombstoneRevision = math.MaxInt64
)

// The gRPC trailers by which the server reports an exception; the client
// reads them (esdb/impl.go, handleError).
const (
	trailerException     = "exception"
	trailerStreamName    = "stream-name"
	exceptionDeleted     = "stream-deleted"
	exceptionWrongExpect = "wrong-expected-version"
)

// streamDeletedError is the server's answer to any operation on a
// tombstoned stream; setTrailer attaches the trailers to the call.
func streamDeletedError(setTrailer func(metadata.MD), stream string) error {
	setTrailer(metadata.Pairs(trailerException, exceptionDeleted, trailerStreamName, stream))
	return status.Errorf(codes.FailedPrecondition, "Event stream '%s' is deleted.", stream)
}

func (s *streamsServer) Tombstone(ctx context.Context, req *api.TombstoneReq) (*api.TombstoneResp, error) {
	o := req.GetOptions()
	stream := string(o.GetStreamIdentifier().GetStreamName())
	if stream == "" {
		return nil, status.Error(codes.InvalidArgument, "tombstone: empty stream name")
	}
	var exp expectation
	switch v := o.GetExpectedStreamRevision().(type) {
	case *api.TombstoneReq_Options_Any:
		exp.kind = expectAny
	case *api.TombstoneReq_Options_NoStream:
		exp.kind = expectNoStream
	case *api.TombstoneReq_Options_StreamExists:
		exp.kind = expectExists
	case *api.TombstoneReq_Options_Revision:
		exp = expectation{kind: expectRevision, rev: v.Revision}
	default:
		return nil, status.Error(codes.InvalidArgument, "tombstone: no expected revision")
	}
	trailer := func(md metadata.MD) { _ = grpc.SetTrailer(ctx, md) }
	r, outcome := s.d.store.tombstone(stream, exp)
	switch outcome {
	case tombstoneDeleted:
		return nil, streamDeletedError(trailer, stream)
	case tombstoneWrongExpected:
		trailer(metadata.Pairs(trailerException, exceptionWrongExpect, trailerStreamName, stream))
		return nil, status.Errorf(codes.FailedPrecondition, "tombstone %s: wrong expected version", stream)
	}
	return &api.TombstoneResp{PositionOption: &api.TombstoneResp_Position_{Position: &api.TombstoneResp_Position{
		CommitPosition: r.commit, PreparePosition: r.prepare,
	}}}, nil
}

type tombstoneOutcome int

const (
	tombstoneWritten tombstoneOutcome = iota
	tombstoneDeleted
	tombstoneWrongExpected
)

// tombstone writes the tombstone of a stream when the expectation holds.
func (s *store) tombstone(stream string, exp expectation) (*record, tombstoneOutcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tombstoned[stream] {
		return nil, tombstoneDeleted
	}
	cur, exists := s.lastRev(stream)
	switch {
	case exp.kind == expectNoStream && exists,
		exp.kind == expectExists && !exists,
		exp.kind == expectRevision && (!exists || exp.rev != cur):
		return nil, tombstoneWrongExpected
	}
	if s.tombstoned == nil {
		s.tombstoned = map[string]bool{}
	}
	s.tombstoned[stream] = true
	r := &record{
		id: uuid.New(), stream: stream, rev: tombstoneRevision,
		commit: s.next, prepare: s.next,
		typ: tombstoneType, contentType: "application/octet-stream", created: s.now().UnixNano() / 100,
	}
	s.next += uint64(80 + len(stream) + len(tombstoneType))
	s.log = append(s.log, r)
	close(s.changed)
	s.changed = make(chan struct{})
	return r, tombstoneWritten
}

// isTombstoned tells whether a stream was hard deleted.
func (s *store) isTombstoned(stream string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tombstoned[stream]
}

// Tombstoned tells whether a stream was hard deleted, read directly from
// the double (not through gRPC), for tests that look under the adapter.
func (d *Double) Tombstoned(stream string) bool { return d.store.isTombstoned(stream) }
