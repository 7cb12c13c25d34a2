package catalogue

import (
	"encoding/json"
	"maps"
	"math"
	"slices"
	"time"
)

// Person is what the register knows about a person, as expressions see it:
// `people[id].citizenship`. Field names are checked when the catalogue loads.
type Person struct {
	ID          string `cel:"id" json:"id"`
	FamilyName  string `cel:"family_name" json:"family_name"`
	GivenName   string `cel:"given_name" json:"given_name"`
	BirthDate   string `cel:"birth_date" json:"birth_date"`
	Sex         string `cel:"sex" json:"sex"`
	Citizenship string `cel:"citizenship" json:"citizenship"`
	Region      string `cel:"region" json:"region"`
	TimeZone    string `cel:"time_zone" json:"time_zone"`
	Address     string `cel:"address" json:"address"`
	// Children and Parents are person ids.
	Children []string `cel:"children" json:"children"`
	Parents  []string `cel:"parents" json:"parents"`
	// Incomes maps a year ("2024") to the annual income reported, in roubles.
	Incomes map[string]float64 `cel:"incomes" json:"incomes"`
	// Granted lists the service codes already granted to the person (as
	// applicant or beneficiary); a grant of a service allowing opt-out
	// counts while it is not withdrawn.
	Granted []string `cel:"granted" json:"granted"`
	Dead    bool     `cel:"dead" json:"dead"`

	// PreviousFamilyName is the family name before the latest change of it
	// (by marriage), empty when it never changed: a decision taken on the
	// change reads the register with the change already made.
	PreviousFamilyName string `cel:"previous_family_name" json:"previous_family_name,omitempty"`
}

// Input is everything a decision depends on. Nothing else is read, so the
// same input gives the same decision on replay.
type Input struct {
	EventType string
	EventID   string
	// Data is the trigger event's data, as decoded from JSON.
	Data map[string]any
	// EventDate is the life event's date (YYYY-MM-DD); when empty it is
	// computed by the situation's trigger date expression.
	EventDate string
	// People holds the facts of everyone the expressions may look up: the
	// persons of the event and their parents, children and spouses.
	People map[string]Person
	// Today is the decision's time; its date, in its own location, counts
	// deadlines "from decision" and drops reminders already past.
	Today time.Time
}

// normalizePeople gives every person their id and empty rather than nil
// lists, so expressions need no presence checks.
func normalizePeople(in map[string]Person) map[string]Person {
	out := make(map[string]Person, len(in))
	for id, p := range in {
		if p.ID == "" {
			p.ID = id
		}
		if p.Children == nil {
			p.Children = []string{}
		}
		if p.Parents == nil {
			p.Parents = []string{}
		}
		if p.Granted == nil {
			p.Granted = []string{}
		}
		if p.Incomes == nil {
			p.Incomes = map[string]float64{}
		}
		out[id] = p
	}
	return out
}

// normalizeData turns JSON numbers that are whole into int64, so that
// `event.age == 14` and `event.year + 1` behave as written, and drops null
// fields, so that `has(event.father_id)` means the father is known.
func normalizeData(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if e != nil {
				out[k] = normalizeData(e)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalizeData(e)
		}
		return out
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
		return x
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case int:
		return int64(x)
	default:
		return v
	}
}

// SamePerson reports whether two persons' facts are the same, as
// reflect.DeepEqual would (a nil list or map differs from an empty one), at
// a fraction of its cost: a replay compares the facts of every decision.
func SamePerson(p, q Person) bool {
	return p.ID == q.ID && p.FamilyName == q.FamilyName && p.GivenName == q.GivenName &&
		p.BirthDate == q.BirthDate && p.Sex == q.Sex && p.Citizenship == q.Citizenship &&
		p.Region == q.Region && p.TimeZone == q.TimeZone && p.Address == q.Address &&
		p.Dead == q.Dead && p.PreviousFamilyName == q.PreviousFamilyName &&
		sameList(p.Children, q.Children) && sameList(p.Parents, q.Parents) && sameList(p.Granted, q.Granted) &&
		(p.Incomes == nil) == (q.Incomes == nil) && maps.Equal(p.Incomes, q.Incomes)
}

// SamePeople is SamePerson over two sets of persons by id.
func SamePeople(a, b map[string]Person) bool {
	if len(a) != len(b) {
		return false
	}
	for id, p := range a {
		q, ok := b[id]
		if !ok || !SamePerson(p, q) {
			return false
		}
	}
	return true
}

func sameList(a, b []string) bool { return (a == nil) == (b == nil) && slices.Equal(a, b) }
