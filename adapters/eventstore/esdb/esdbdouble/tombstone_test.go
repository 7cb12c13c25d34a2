package esdbdouble_test

import (
	"errors"
	"io"
	"testing"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
)

func isCode(err error, code esdbclient.ErrorCode) bool {
	var e *esdbclient.Error
	return errors.As(err, &e) && e.Code() == code
}

// TestTombstone: after a hard delete, the client sees StreamDeleted on a
// read, an append (whatever it expects) and a second tombstone, as the
// server documents; the tombstone is a "$streamDeleted" event in $all,
// after the stream's events, which stay there (the double never
// scavenges); an expectation that does not hold refuses the tombstone.
func TestTombstone(t *testing.T) {
	d, c := start(t)
	ctx := t.Context()
	const stream = "doomed"
	first := uuid.New()
	if _, err := c.AppendToStream(ctx, stream, esdbclient.AppendToStreamOptions{ExpectedRevision: esdbclient.NoStream{}}, ev(first)); err != nil {
		t.Fatal(err)
	}
	// The client v4.2.0 maps no code for a wrong expectation on a delete:
	// it sees an error of unknown code.
	if _, err := c.TombstoneStream(ctx, stream, esdbclient.TombstoneStreamOptions{ExpectedRevision: esdbclient.NoStream{}}); err == nil || isCode(err, esdbclient.ErrorCodeStreamDeleted) {
		t.Fatalf("tombstone expecting no stream: %v, want an error", err)
	}
	if d.Tombstoned(stream) {
		t.Fatal("a refused tombstone deleted the stream")
	}
	res, err := c.TombstoneStream(ctx, stream, esdbclient.TombstoneStreamOptions{ExpectedRevision: esdbclient.Revision(0)})
	if err != nil {
		t.Fatalf("tombstone: %v", err)
	}

	rs, err := c.ReadStream(ctx, stream, esdbclient.ReadStreamOptions{From: esdbclient.Start{}}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rs.Recv(); !isCode(err, esdbclient.ErrorCodeStreamDeleted) {
		t.Fatalf("read after the tombstone: %v, want StreamDeleted", err)
	}
	rs.Close()
	for name, exp := range map[string]esdbclient.ExpectedRevision{"any": esdbclient.Any{}, "no stream": esdbclient.NoStream{}, "revision 0": esdbclient.Revision(0)} {
		if _, err := c.AppendToStream(ctx, stream, esdbclient.AppendToStreamOptions{ExpectedRevision: exp}, ev(uuid.New())); !isCode(err, esdbclient.ErrorCodeStreamDeleted) {
			t.Fatalf("append expecting %s after the tombstone: %v, want StreamDeleted", name, err)
		}
	}
	if _, err := c.TombstoneStream(ctx, stream, esdbclient.TombstoneStreamOptions{}); !isCode(err, esdbclient.ErrorCodeStreamDeleted) {
		t.Fatalf("second tombstone: %v, want StreamDeleted", err)
	}

	// In $all: the event, then the tombstone at the position reported.
	all, err := c.ReadAll(ctx, esdbclient.ReadAllOptions{From: esdbclient.Start{}}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()
	var seen []string
	for {
		e, err := all.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if r := e.OriginalEvent(); r.StreamID == stream {
			seen = append(seen, r.EventType)
			if r.EventType == "$streamDeleted" && r.Position != res.Position {
				t.Errorf("tombstone at %v in $all, reported at %v", r.Position, res.Position)
			}
		}
	}
	if len(seen) != 2 || seen[0] != "t" || seen[1] != "$streamDeleted" {
		t.Fatalf("the stream's records in $all: %v", seen)
	}
	if ids := d.StreamEventIDs(stream); len(ids) != 1 || ids[0] != first.String() {
		t.Fatalf("the stream holds %v", ids)
	}
}
