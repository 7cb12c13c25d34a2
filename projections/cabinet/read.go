package cabinet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"
)

// Drafts lists the drafts person is applicant or beneficiary of, oldest
// first (by created_at, then id).
func (c *Cabinet) Drafts(person string) ([]Draft, error) {
	out := []Draft{}
	err := c.file.View(func(tx *bolt.Tx) error {
		rows := tx.Bucket(bucketDrafts)
		return scan(tx.Bucket(bucketPeople), personPrefix(person, kindDraft), false, func(k, _ []byte) error {
			var d Draft
			if err := getJSON(rows, idOf(k), &d); err != nil {
				return err
			}
			out = append(out, d)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("drafts of %s: %w", person, err)
	}
	return out, nil
}

// Grants lists the grants person is applicant or beneficiary of, and those
// of their children under 18, oldest first (by granted_at, then id).
func (c *Cabinet) Grants(person string) ([]Grant, error) {
	owners := []string{person}
	for id := range c.minors(person) {
		owners = append(owners, id)
	}
	out := []Grant{}
	err := c.file.View(func(tx *bolt.Tx) error {
		// An index key past its owner's prefix is granted_at then id: one
		// grant has the same suffix under every owner.
		seen := map[string]bool{}
		var suffixes [][]byte
		for _, owner := range owners {
			prefix := personPrefix(owner, kindGrant)
			err := scan(tx.Bucket(bucketPeople), prefix, false, func(k, _ []byte) error {
				if s := k[len(prefix):]; !seen[string(s)] {
					seen[string(s)] = true
					suffixes = append(suffixes, bytes.Clone(s))
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		slices.SortFunc(suffixes, bytes.Compare)
		rows := tx.Bucket(bucketGrants)
		for _, s := range suffixes {
			var g Grant
			if err := getJSON(rows, idOf(s), &g); err != nil {
				return err
			}
			out = append(out, g)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("grants of %s: %w", person, err)
	}
	return out, nil
}

// Situations lists the situations person is the person, a participant, an
// applicant or a beneficiary of, newest first (by opened_at, then id, both
// descending), each with the steps person may see.
func (c *Cabinet) Situations(person string) ([]Situation, error) {
	minors := c.minors(person)
	out := []Situation{}
	err := c.file.View(func(tx *bolt.Tx) error {
		rows := tx.Bucket(bucketSituations)
		return scan(tx.Bucket(bucketPeople), personPrefix(person, kindSituation), true, func(k, _ []byte) error {
			var row situationRow
			if err := getJSON(rows, idOf(k), &row); err != nil {
				return err
			}
			out = append(out, row.view(person, minors))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("situations of %s: %w", person, err)
	}
	return out, nil
}

// Notifications lists the notifications addressed to person, newest first
// (by at, then log position, both descending).
func (c *Cabinet) Notifications(person string) ([]Notification, error) {
	out := []Notification{}
	err := c.file.View(func(tx *bolt.Tx) error {
		return scan(tx.Bucket(bucketPeople), personPrefix(person, kindNotification), true, func(_, v []byte) error {
			var n Notification
			if err := json.Unmarshal(v, &n); err != nil {
				return fmt.Errorf("decode notification: %w", err)
			}
			out = append(out, n)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("notifications of %s: %w", person, err)
	}
	return out, nil
}

// Draft returns a draft whoever may see it; ErrNotFound when there is none.
func (c *Cabinet) Draft(id uuid.UUID) (Draft, error) {
	var d Draft
	return d, c.get(bucketDrafts, "draft", id, &d)
}

// Grant returns a grant whoever may see it; ErrNotFound when there is none.
func (c *Cabinet) Grant(id uuid.UUID) (Grant, error) {
	var g Grant
	return g, c.get(bucketGrants, "grant", id, &g)
}

// Situation returns a situation with all its steps; ErrNotFound when there
// is none.
func (c *Cabinet) Situation(id uuid.UUID) (Situation, error) {
	var row situationRow
	if err := c.get(bucketSituations, "situation", id, &row); err != nil {
		return Situation{}, err
	}
	return row.Situation, nil
}

// DraftFor returns a draft person is applicant or beneficiary of;
// ErrNotFound for any other.
func (c *Cabinet) DraftFor(person string, id uuid.UUID) (Draft, error) {
	d, err := c.Draft(id)
	if err != nil {
		return Draft{}, err
	}
	if d.Applicant != person && d.Beneficiary != person {
		return Draft{}, fmt.Errorf("draft %s: %w", id, ErrNotFound)
	}
	return d, nil
}

// GrantFor returns a grant person is applicant or beneficiary of, or one of
// their children under 18 is; ErrNotFound for any other.
func (c *Cabinet) GrantFor(person string, id uuid.UUID) (Grant, error) {
	g, err := c.Grant(id)
	if err != nil {
		return Grant{}, err
	}
	if g.Applicant == person || g.Beneficiary == person {
		return g, nil
	}
	if minors := c.minors(person); minors[g.Beneficiary] || minors[g.Applicant] {
		return g, nil
	}
	return Grant{}, fmt.Errorf("grant %s: %w", id, ErrNotFound)
}

// SituationFor returns a situation as person sees it (see Situations);
// ErrNotFound when they do not see it.
func (c *Cabinet) SituationFor(person string, id uuid.UUID) (Situation, error) {
	var row situationRow
	if err := c.get(bucketSituations, "situation", id, &row); err != nil {
		return Situation{}, err
	}
	if !slices.Contains(row.Viewers, person) {
		return Situation{}, fmt.Errorf("situation %s: %w", id, ErrNotFound)
	}
	return row.view(person, c.minors(person)), nil
}

func (c *Cabinet) get(bucket []byte, what string, id uuid.UUID, v any) error {
	err := c.file.View(func(tx *bolt.Tx) error { return getJSON(tx.Bucket(bucket), id, v) })
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, id, err)
	}
	return nil
}

// getJSON decodes the row stored under id; ErrNotFound when there is none.
func getJSON(b *bolt.Bucket, id uuid.UUID, v any) error {
	raw := b.Get(id[:])
	if raw == nil {
		return ErrNotFound
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode %T: %w", v, err)
	}
	return nil
}

// scan calls fn for every key of b starting with prefix, in key order or,
// when reverse, in reverse key order.
func scan(b *bolt.Bucket, prefix []byte, reverse bool, fn func(k, v []byte) error) error {
	cur := b.Cursor()
	if !reverse {
		for k, v := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Next() {
			if err := fn(k, v); err != nil {
				return err
			}
		}
		return nil
	}
	// Start past the last key with the prefix: the prefix ends with a kind
	// (below 0xff), so the same bytes ending with the next kind come right
	// after.
	end := bytes.Clone(prefix)
	end[len(end)-1]++
	k, v := cur.Seek(end)
	if k == nil {
		k, v = cur.Last()
	} else {
		k, v = cur.Prev()
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Prev() {
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}
