package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// qualityView is one service of GET /v1/quality.
type qualityView struct {
	Service      string   `json:"service"`
	Volume       int      `json:"volume"`
	Results      int      `json:"results"`
	Median       *float64 `json:"median_time_to_result_seconds"`
	P90          *float64 `json:"p90_time_to_result_seconds"`
	NoApp        *float64 `json:"granted_without_application_share"`
	Rejection    *float64 `json:"rejection_rate"`
	Confirmation *float64 `json:"draft_confirmation_rate"`
	MeanRating   *float64 `json:"mean_rating"`
	Ratings      int      `json:"ratings"`
	Drafts       struct {
		Created, Confirmed, Declined, Expired, Withdrawn int
	} `json:"drafts"`
}

// TestQualityMatchesAHandCount drives two births through HTTP, each
// mother doing something different with her drafts, and checks every
// figure of GET /v1/quality and of the metrics against a count by hand.
func TestQualityMatchesAHandCount(t *testing.T) {
	s := startServer(t, "--clock", "manual", "--clock-start", "2026-03-01T00:00:00Z", "--agency-delay", "24h")
	t0 := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	setClock(t, s, t0)
	a, childA, b, childB := personID(41), personID(42), personID(43), personID(44)
	send(t, s, population,
		registered(a, "Иванова", "Мария", "1994-03-01", "F", "RU", "RU-MOW", "Europe/Moscow", "Москва, ул. Тверская, д. 1, кв. 5", t0),
		registered(b, "Сейткали", "Айгерим", "1996-09-09", "F", "KZ", "RU-MOW", "Europe/Moscow", "Москва, ул. Арбат, д. 20", t0))
	send(t, s, tax, cloudEvent(tax, "inc-41", "income.reported", a, t0,
		map[string]any{"person_id": a, "year": 2025, "annual_income_rub": 120000}))
	// Both births are reported at t0, 9:00 UTC. A's child was born on 5
	// March: that day began at 4 March 21:00 UTC in Moscow, 5 days 12 hours
	// (475,200 s) before. B's on 6 March: 4 days 12 hours (388,800 s).
	send(t, s, civilStatus, born("birth-41", childA, a, "2026-03-05", "770-2026-000041", t0),
		born("birth-43", childB, b, "2026-03-06", "770-2026-000043", t0))
	setClock(t, s, t0)

	ma, mb := signIn(t, s, a), signIn(t, s, b)
	// An hour later A confirms the health insurance and declines the
	// residence registration; B confirms the allowance. The agency decides
	// both 24 hours after: 475,200 + 90,000 = 565,200 s for A's insurance,
	// 388,800 + 90,000 = 478,800 s for B's allowance.
	setClock(t, s, t0.Add(time.Hour))
	confirm := func(c citizen, service string, fields map[string]any) {
		t.Helper()
		if r := c.call("POST", "/v1/me/drafts/"+c.draftOf(service).ID+"/confirm", map[string]any{"fields": fields}); r.status != 200 {
			t.Fatalf("confirm %s: %d %s", service, r.status, r.body)
		}
	}
	confirm(ma, "child-health-insurance", map[string]any{"insurer": "АО «СОГАЗ-Мед»"})
	confirm(mb, "child-allowance", nil)
	if r := ma.call("POST", "/v1/me/drafts/"+ma.draftOf("residence-registration").ID+"/decline", nil); r.status != 200 {
		t.Fatalf("decline: %d %s", r.status, r.body)
	}
	setClock(t, s, t0.Add(25*time.Hour))
	// A rates her situation 5 and then 4 (the last counts); B rates hers 2.
	rate := func(c citizen, score int) {
		t.Helper()
		id := c.situations()[0].ID
		if r := c.call("POST", "/v1/me/situations/"+id+"/rating", map[string]any{"score": score}); r.status != 200 {
			t.Fatalf("rate: %d %s", r.status, r.body)
		}
	}
	rate(ma, 5)
	rate(mb, 2)
	rate(ma, 4)

	r := do(t, "GET", s.url+"/v1/quality", devToken(t, s, "operator", "ops-1"), "", nil)
	if r.status != 200 {
		t.Fatalf("quality: %d %s", r.status, r.body)
	}
	var report struct {
		Position uint64        `json:"position"`
		Items    []qualityView `json:"items"`
	}
	if err := json.Unmarshal(r.body, &report); err != nil {
		t.Fatal(err)
	}
	got := map[string]qualityView{}
	for i, q := range report.Items {
		if i > 0 && report.Items[i-1].Service >= q.Service {
			t.Errorf("items not in service order: %s then %s", report.Items[i-1].Service, q.Service)
		}
		got[q.Service] = q
	}
	if len(got) != 7 || report.Position == 0 {
		t.Fatalf("report: %s", r.body)
	}

	f := func(v float64) *float64 { return &v }
	const early, late = 388800.0, 475200.0 // B's and A's births to the decisions
	type want struct {
		volume, results, ratings     int
		median, p90                  *float64
		noApp, rejection, confirms   *float64
		created, confirmed, declined int
	}
	everyAutomatic := want{volume: 2, results: 2, ratings: 2, median: f(early), p90: f(late), noApp: f(1), rejection: f(0)}
	wants := map[string]want{
		"birth-certificate":  everyAutomatic,
		"child-snils":        everyAutomatic,
		"kindergarten-queue": everyAutomatic,
		// Granted to A, refused to B (not a citizen).
		"maternity-capital": {volume: 2, results: 2, ratings: 2, median: f(early), p90: f(late), noApp: f(0.5), rejection: f(0.5)},
		// A's is still open; B's was confirmed and granted.
		"child-allowance": {volume: 2, results: 1, ratings: 2, median: f(478800), p90: f(478800), noApp: f(0), rejection: f(0),
			confirms: f(1), created: 2, confirmed: 1},
		// A's was confirmed and granted; B's is still open.
		"child-health-insurance": {volume: 2, results: 1, ratings: 2, median: f(565200), p90: f(565200), noApp: f(0), rejection: f(0),
			confirms: f(1), created: 2, confirmed: 1},
		// A's was declined; B's is still open: nothing decided yet.
		"residence-registration": {volume: 2, results: 0, ratings: 2, noApp: f(0), confirms: f(0), created: 2, declined: 1},
	}
	same := func(a, b *float64) bool { return (a == nil && b == nil) || (a != nil && b != nil && *a == *b) }
	show := func(v *float64) string {
		if v == nil {
			return "null"
		}
		return fmt.Sprint(*v)
	}
	for service, w := range wants {
		g := got[service]
		if g.Volume != w.volume || g.Results != w.results || g.Ratings != w.ratings ||
			g.Drafts.Created != w.created || g.Drafts.Confirmed != w.confirmed || g.Drafts.Declined != w.declined {
			t.Errorf("%s counts: %+v, want %+v", service, g, w)
		}
		for _, c := range []struct {
			name      string
			got, want *float64
		}{
			{"median", g.Median, w.median}, {"p90", g.P90, w.p90}, {"granted without application", g.NoApp, w.noApp},
			{"rejection rate", g.Rejection, w.rejection}, {"draft confirmation rate", g.Confirmation, w.confirms},
			{"mean rating", g.MeanRating, f(3)},
		} {
			if !same(c.got, c.want) {
				t.Errorf("%s %s = %s, want %s", service, c.name, show(c.got), show(c.want))
			}
		}
	}

	t.Run("the same figures as metrics", func(t *testing.T) {
		m := string(do(t, "GET", s.url+"/metrics", "", "", nil).body)
		for _, line := range []string{
			`lifesituations_quality_steps_total{service="child-allowance"} 2`,
			`lifesituations_quality_outcomes_total{outcome="rejected",service="maternity-capital"} 1`,
			`lifesituations_quality_drafts_total{service="residence-registration",status="declined"} 1`,
			`lifesituations_quality_time_to_result_seconds{service="birth-certificate",quantile="0.5"} 388800`,
			`lifesituations_quality_time_to_result_seconds{service="birth-certificate",quantile="0.9"} 475200`,
			`lifesituations_quality_time_to_result_seconds_count{service="birth-certificate"} 2`,
			`lifesituations_quality_time_to_result_seconds_sum{service="birth-certificate"} 864000`,
			`lifesituations_quality_granted_without_application_ratio{service="maternity-capital"} 0.5`,
			`lifesituations_quality_rejection_ratio{service="maternity-capital"} 0.5`,
			`lifesituations_quality_draft_confirmation_ratio{service="residence-registration"} 0`,
			`lifesituations_quality_rating_mean{service="child-snils"} 3`,
			`lifesituations_quality_ratings{service="child-snils"} 2`,
		} {
			if !strings.Contains(m, line+"\n") {
				t.Errorf("metrics lack %q", line)
			}
		}
		if strings.Contains(m, `lifesituations_quality_rejection_ratio{service="residence-registration"}`) {
			t.Error("a rejection rate with nothing decided is exported")
		}
	})

	t.Run("operators and auditors only", func(t *testing.T) {
		if r := do(t, "GET", s.url+"/v1/quality", devToken(t, s, "auditor", "aud-1"), "", nil); r.status != 200 {
			t.Errorf("auditor: %d", r.status)
		}
		for _, role := range []string{"citizen", "agency", "registry"} {
			if r := do(t, "GET", s.url+"/v1/quality", devToken(t, s, role, a), "", nil); r.status != 403 {
				t.Errorf("%s: %d, want 403", role, r.status)
			}
		}
	})
}
