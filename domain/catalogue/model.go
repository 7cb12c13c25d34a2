package catalogue

import (
	"regexp"
	"sort"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
)

// Text is a citizen-facing text in Russian and English.
type Text struct {
	RU string `json:"ru"`
	EN string `json:"en"`
}

// Curator is the official responsible for a service, shown to the citizen.
type Curator struct {
	Name   string `json:"name"`
	Agency string `json:"agency"`
}

// Mode is how a service reaches the citizen.
type Mode string

const (
	// ModeGrant: automatic, no application; the result is a registry entry.
	ModeGrant Mode = "grant"
	// ModeGrantOptOut: automatic, and the citizen may withdraw it.
	ModeGrantOptOut Mode = "grant_opt_out"
	// ModeDraft: a pre-filled application the applicant confirms.
	ModeDraft Mode = "draft"
	// ModeInform: information only.
	ModeInform Mode = "inform"
)

var modes = []Mode{ModeGrant, ModeGrantOptOut, ModeDraft, ModeInform}

func (m Mode) valid() bool {
	for _, v := range modes {
		if m == v {
			return true
		}
	}
	return false
}

// Grants reports whether the mode results in an automatic grant.
func (m Mode) Grants() bool { return m == ModeGrant || m == ModeGrantOptOut }

// Catalogue is a loaded, compiled catalogue. It is immutable and safe for
// concurrent use.
type Catalogue struct {
	version     string
	hash        string
	events      map[string]*EventType
	situations  []*Situation
	byTrigger   map[string][]*Situation
	services    map[string]*Service
	params      map[string]*Parameter
	validateEnv *cel.Env
	// adapter turns Go values into CEL ones as the decision programs do.
	adapter types.Adapter
}

// Version is the catalogue version its files declare.
func (c *Catalogue) Version() string { return c.version }

// Hash is the hex sha256 of the catalogue's canonical content: the same for
// the same regulations whatever the file split, key order or comments.
func (c *Catalogue) Hash() string { return c.hash }

// Situations returns the situations an event type may open, in catalogue order.
func (c *Catalogue) Situations(eventType string) []*Situation {
	return append([]*Situation(nil), c.byTrigger[eventType]...)
}

// AllSituations returns every situation in catalogue order.
func (c *Catalogue) AllSituations() []*Situation { return append([]*Situation(nil), c.situations...) }

// Situation finds a situation by id.
func (c *Catalogue) Situation(id string) (*Situation, bool) {
	for _, s := range c.situations {
		if s.ID == id {
			return s, true
		}
	}
	return nil, false
}

// Service finds a service by its code.
func (c *Catalogue) Service(code string) (*Service, bool) {
	s, ok := c.services[code]
	return s, ok
}

// Services returns every service ordered by code.
func (c *Catalogue) Services() []*Service {
	out := make([]*Service, 0, len(c.services))
	for _, s := range c.services {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Parameter finds a parameter by name.
func (c *Catalogue) Parameter(name string) (*Parameter, bool) {
	p, ok := c.params[name]
	return p, ok
}

// EventType is the declared shape of a trigger's data: expressions may read
// only these fields of `event`.
type EventType struct {
	Type   string
	Fields []string
	fields map[string]bool
}

// Situation is a life situation: a trigger and the steps it bundles.
type Situation struct {
	ID          string
	Title       Text
	Description Text
	Trigger     Trigger
	// WindowDays: an event older than this opens nothing (see InWindow).
	WindowDays int
	Steps      []*Step

	cat          *Catalogue
	condition    *expr
	date         *expr
	applicant    *expr
	beneficiary  *expr
	participants *expr
	withdraws    *expr
	pos          pos
}

// Trigger is the event type that opens a situation and the condition on its data.
type Trigger struct {
	Event     string
	Condition string
	Date      string
}

// Service is a public service: who provides it, how and under which rules.
// Its step settings are the defaults of every step using it.
type Service struct {
	ID          string
	Title       Text
	Description Text
	Agency      string
	Curator     Curator
	Mode        Mode
	Registry    string
	LegalBasis  string
	Editable    []*EditableField

	spec stepSpec
	env  *cel.Env // subject env extended with the service's let bindings
	pos  pos
}

// EditableField is a field the citizen may correct, with the checks a
// correction must pass.
type EditableField struct {
	Name    string
	Type    string // string, int, number, bool, date
	Pattern string
	Rule    string
	Message Text

	pattern *regexp.Regexp
	rule    *expr
}

// Step is one service in a situation (or a follow-up of another step), with
// the settings that override the service's defaults.
type Step struct {
	ID        string
	Service   *Service
	FollowUps []*Step

	spec stepSpec
	eff  effective
	pos  pos
	ctx  string
}

// stepSpec holds the settings a service gives its steps and a step may override.
type stepSpec struct {
	appliesWhen *expr
	forEach     *expr
	applicant   *expr
	beneficiary *expr
	lets        []binding
	rules       []*rule
	notes       []*note
	prefill     []binding
	deadline    *Deadline
	reminders   []Reminder
	hasRemind   bool
	onExpiry    string
	onExpiryPos pos
	followUps   []*Step
	hasFollow   bool
}

// effective is a step's settings after merging the service's defaults.
type effective struct {
	appliesWhen *expr
	forEach     *expr
	applicant   *expr
	beneficiary *expr
	lets        []binding
	rules       []*rule
	notes       []*note
	prefill     []binding
	deadline    *Deadline
	reminders   []Reminder
	onExpiry    string
}

type binding struct {
	name string
	e    *expr
}

type rule struct {
	id         string
	condition  *expr
	reason     Text
	legalBasis string
}

type note struct {
	condition  *expr
	text       Text
	legalBasis string
}

// Deadline is when a step's draft expires: a number of days or months, fixed
// or read from a parameter, counted from the event date or from the day of
// the decision.
type Deadline struct {
	Days   int
	Months int
	Param  string
	Unit   string // days or months, for Param
	From   string // event or decision
	pos    pos
	ctx    string
}

// Reminder is a reminder date: After days after the deadline's start, or
// Before days before the deadline.
type Reminder struct {
	After  int
	Before int
	before bool
}

// Parameter is a value that changes with time (and possibly by region).
type Parameter struct {
	Name        string
	Description Text
	Unit        string
	Type        string // int, number, string, bool
	KeyedBy     string // "" or "region"
	LegalBasis  string
	Values      []ParamValue
	pos         pos
}

// ParamValue is a parameter's value over a validity period. ValidTo "" is open-ended.
type ParamValue struct {
	Region    string
	ValidFrom string
	ValidTo   string
	Value     any
	pos       pos
}
