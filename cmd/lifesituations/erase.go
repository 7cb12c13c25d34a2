package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"lifesituations/adapters/systemclock"
	"lifesituations/sagas/erasure"
)

const eraseSummary = `Erases the personal data of PERSON (an id) in the data directory of a
stopped server: deletes the person's key, so that every personal field
sealed with it (names, address, what they wrote in their applications)
reads as "[erased]" everywhere, and records the erasure in the log
(erasure.requested, erasure.approved and person.erased: who requested, who
approved, when, why; nothing erased). The log itself is not rewritten: its
hash chain, the decisions and the statistics still verify.

Four eyes: --approved-by must name someone other than --requested-by. The
read models catch up with the erasure at the server's next start (or run
"lifesituations projections rebuild"). On a running server, use the API:
POST /v1/erasures, then POST /v1/erasures/{id}/approve.

Example: lifesituations erase PERSON --reason TEXT --approved-by AUDITOR`

func eraseCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("erase", eraseSummary, stderr)
	offline := offlineStoreFlags(fs)
	reason := fs.String("reason", "", "the lawful ground of the erasure (required; no personal data)")
	approvedBy := fs.String("approved-by", "", "the auditor who approved the erasure (required; not the requester)")
	requestedBy := fs.String("requested-by", defaultRequester(), "who requests the erasure")
	asJSON := fs.Bool("json", false, "print the erasure as JSON")
	// The person may come before the flags (erase PERSON --reason ...).
	var person string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		person, args = args[0], args[1:]
	}
	if err := parseWithEnv(fs, args); err != nil {
		return err
	}
	if person == "" && fs.NArg() > 0 {
		person = fs.Arg(0)
		if fs.NArg() > 1 {
			return fmt.Errorf("erase: unexpected argument %q", fs.Arg(1))
		}
	} else if fs.NArg() > 0 {
		return fmt.Errorf("erase: unexpected argument %q", fs.Arg(0))
	}
	if err := erasure.Validate(person, *reason, *requestedBy); err != nil {
		return fmt.Errorf("erase: %w", err)
	}
	if strings.TrimSpace(*approvedBy) == "" {
		return errors.New("erase: --approved-by is required: an erasure needs an approver other than its requester")
	}
	if *approvedBy == *requestedBy {
		return fmt.Errorf("erase: %w", erasure.ErrSamePrincipal)
	}
	s, err := offline.open()
	if err != nil {
		return err
	}
	svc := erasure.New(s, s.Keys(), systemclock.Clock{})
	req, err := svc.Request(ctx, person, *reason, *requestedBy)
	if err == nil {
		req, err = svc.Approve(ctx, req.ID, *approvedBy)
	}
	if cerr := s.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("erase %s: %w", person, err)
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(req)
	}
	fmt.Fprintf(stdout, "erased the personal data of %s (request %s, requested by %s, approved by %s)\n", req.PersonID, req.ID, req.RequestedBy, req.ApprovedBy)
	return nil
}

// defaultRequester names the operating-system user running the command.
func defaultRequester() string {
	if u := os.Getenv("USER"); u != "" {
		return "cli:" + u
	}
	return "cli"
}
