// Package catalogue is the life-situation catalogue as machine-readable
// regulations: which life event opens which situation, which public
// services it bundles, who may have them, with what pre-filled, by when,
// and why not. The catalogue is data (YAML with CEL expressions), loaded
// from an fs.FS and compiled once; decisions are pure functions of the
// catalogue and an Input, so an auditor's replay gives the same result.
// The default catalogue (CONTRACT.md section 2) is embedded: see Default.
//
// # Files
//
// Every *.yaml / *.yml file under the directory is read, in lexical path
// order, and merged, except under a directory named `tests` (TestsDir): that
// is where the curators' test cases live, beside the rules they test
// (`lifesituations catalogue test DIR` runs them; docs/catalogue.md describes
// their format). A file is a mapping with any of these keys:
//
//	version:     the catalogue version (exactly one file says it)
//	description: {ru, en}
//	events:      trigger event types and the fields their data may have
//	situations:  list of situations
//	services:    list of services
//	parameters:  list of parameters
//
// Unknown keys, missing required fields, duplicate ids, references to
// unknown services, events or parameters, bad modes, expressions that do
// not compile or have the wrong type, fields of `event` its trigger does
// not declare, overlapping parameter periods and negative deadlines are
// all load errors, listed together with file and line (*LoadError).
//
// # Situations
//
//	situations:
//	  - id: birth-of-child
//	    title: {ru: ..., en: ...}
//	    trigger:
//	      event: birth.registered        # declared under events
//	      condition: <CEL bool>          # optional; default true
//	      date: event.birth_date         # CEL string: the life event's date
//	    window_days: 180                 # older events open nothing (InWindow)
//	    applicant: event.mother_id       # CEL string: default applicant of the steps
//	    beneficiary: event.child_id      # optional CEL string: default beneficiary
//	    participants: <CEL list of ids>  # optional; default [applicant]
//	    withdraw_drafts_of: <CEL list>   # optional: persons whose open drafts end
//	    steps:
//	      - service: maternity-capital   # a service code
//	        id: ...                      # optional; default the service code
//	        <step settings>              # override the service's
//
// # Services
//
//	services:
//	  - id: child-allowance             # the contract's service code
//	    title: {ru, en}
//	    description: {ru, en}           # optional
//	    agency: ...
//	    curator: {name, agency}
//	    mode: grant | grant_opt_out | draft | inform
//	    registry: social-benefits        # required for grants
//	    legal_basis: ...
//	    editable:                        # fields the citizen may correct
//	      bank_account: {type: string, pattern: '^[0-9]{20}$', rule: <CEL bool>, message: {ru, en}}
//	    <step settings>
//
// Step settings, on a service (defaults) or on a step (overrides):
//
//	applies_when: <CEL bool>     the step is in the bundle only then
//	for_each: <CEL list>         one step per item (`item`)
//	applicant: <CEL string>      default: the situation's (a follow-up: its parent's)
//	beneficiary: <CEL string>    default: the situation's, else the applicant
//	let: {name: <CEL>}           named values, in order, for what follows
//	rules: [{id, condition: <CEL bool>, reason: {ru, en}, legal_basis}]
//	notes: [{condition: <CEL bool>, text: {ru, en}, legal_basis}]
//	prefill: {field: <CEL>}      a draft's fields, a grant's details
//	deadline: 30 | {days|months: N} | {param: name, unit: days|months}, from: event|decision
//	reminders: [{after: N}, {before: N}]  days after the deadline's start / before it
//	on_expiry: {notify: <inform service>}
//	follow_ups: [<step>]         offered once the step is confirmed or granted
//
// A step's rules and notes come after its service's; its lets too; a prefill
// field replaces the service's of the same name; the other settings replace
// the service's when given.
//
// # Parameters
//
//	parameters:
//	  - name: subsistence-minimum.per-capita
//	    type: int | number | string | bool
//	    keyed_by: region                 # optional; values then name a region or "default"
//	    unit, description, legal_basis   # optional
//	    values:
//	      - {region: RU-MOW, valid_from: 2026-01-01, valid_to: 2026-12-31, value: 28052}
//
// Periods are inclusive; valid_to may be omitted for an open end.
//
// # Expressions
//
// Expressions are CEL, type-checked at load time, run with a cost limit.
// Variables, by scope:
//
//	event        map: the trigger event's data (JSON nulls dropped, whole numbers int)
//	event_date   string YYYY-MM-DD: the life event's date
//	people       map id -> catalogue.Person: id, family_name, given_name, birth_date,
//	             sex, citizenship, region, time_zone, address, children, parents,
//	             incomes (map year -> double), granted (service codes; a grant
//	             opted out of or replaced is not counted), dead,
//	             previous_family_name (before the last change by marriage)
//	parent       map: in a follow-up, the confirmed step {service, step, key,
//	             applicant, beneficiary, item, fields}; otherwise empty
//	item         the for_each item (applicant, beneficiary and later)
//	applicant    string (beneficiary and later)
//	beneficiary  string (lets, rules, notes, prefill)
//	<lets>       each let, after it is computed
//
// Editable field rules see only `value` and `fields` (all corrections).
// Functions: the standard library, the cel-go extensions lists, math,
// strings, sets, bindings (cel.bind) and optionals, and the ones listed in
// celfuncs.go (age, add_days, add_months, days_between, date_before,
// date_after, is_date, sum, param). param(name[, region]) is the value in
// force on event_date; every value read is recorded in the decision.
// Iterating a map (m.map(k, ...)) has no fixed order: sort a list that is
// recorded or compared.
//
// A rule's reason and a note's text may show the figures the decision used:
// {{name}} stands for the value of a variable of the rule's scope (a let,
// applicant, beneficiary, event_date), written for each language (whole
// numbers with grouped thousands, other numbers with two decimals). A name
// that is not in scope is a load error.
package catalogue
