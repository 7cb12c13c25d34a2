package qualityapi_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"lifesituations/adapters/auth"
	"lifesituations/adapters/qualityapi"
	"lifesituations/domain/catalogue"
	"lifesituations/domain/eventstore"
	"lifesituations/projections/quality"
)

type fakeModel struct {
	services []quality.Service
	waited   eventstore.Position
	waitErr  error
}

func (f *fakeModel) Services() ([]quality.Service, eventstore.Position) { return f.services, f.waited }

func (f *fakeModel) WaitFor(_ context.Context, pos eventstore.Position) error {
	if f.waitErr != nil {
		return f.waitErr
	}
	f.waited = pos
	return nil
}

type fakeStore struct{ eventstore.Store }

func (fakeStore) LastPosition(context.Context) (eventstore.Position, error) { return 42, nil }

func ptr(v float64) *float64 { return &v }

var services = []quality.Service{
	{Service: "child-allowance", Title: catalogue.Text{RU: "Пособие", EN: "Allowance"}, Volume: 2, Results: 1,
		MedianTimeToResult: ptr(478800), P90TimeToResult: ptr(478800), SumTimeToResult: 478800,
		GrantedWithoutApp: ptr(0), RejectionRate: ptr(0), DraftConfirmation: ptr(1), MeanRating: ptr(3), Ratings: 2,
		Outcomes: quality.Outcomes{GrantedOnApplication: 1}, Drafts: quality.Drafts{Created: 2, Confirmed: 1}},
	{Service: "residence-registration", Volume: 1, GrantedWithoutApp: ptr(0), Drafts: quality.Drafts{Created: 1}},
}

func get(t *testing.T, m qualityapi.Model, role auth.Role) *httptest.ResponseRecorder {
	t.Helper()
	api := qualityapi.New(m, fakeStore{}, nil, 0)
	req := httptest.NewRequest("GET", "/v1/quality", nil)
	req = req.WithContext(auth.WithPrincipal(req.Context(), auth.Principal{Role: role, Subject: "ops"}))
	w := httptest.NewRecorder()
	api.Routes()[0].Handler.ServeHTTP(w, req)
	return w
}

func TestAnswersEveryServiceAsOfTheLogsEnd(t *testing.T) {
	m := &fakeModel{services: services}
	w := get(t, m, auth.RoleOperator)
	if w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	var got map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	items := got["items"].([]any)
	if got["position"] != 42.0 || len(items) != 2 {
		t.Fatalf("answer %s", w.Body)
	}
	a, r := items[0].(map[string]any), items[1].(map[string]any)
	for k, want := range map[string]any{"service": "child-allowance", "volume": 2.0, "median_time_to_result_seconds": 478800.0,
		"p90_time_to_result_seconds": 478800.0, "granted_without_application_share": 0.0, "rejection_rate": 0.0,
		"draft_confirmation_rate": 1.0, "mean_rating": 3.0, "ratings": 2.0} {
		if a[k] != want {
			t.Errorf("%s = %v, want %v", k, a[k], want)
		}
	}
	for _, k := range []string{"median_time_to_result_seconds", "rejection_rate", "draft_confirmation_rate", "mean_rating"} {
		if v, ok := r[k]; !ok || v != nil {
			t.Errorf("residence-registration %s = %v, want null", k, v)
		}
	}
}

func TestRolesAndCatchingUp(t *testing.T) {
	if w := get(t, &fakeModel{}, auth.RoleAuditor); w.Code != 200 {
		t.Errorf("auditor: %d", w.Code)
	}
	for _, role := range []auth.Role{auth.RoleCitizen, auth.RoleAgency, auth.RoleRegistry} {
		if w := get(t, &fakeModel{}, role); w.Code != 403 {
			t.Errorf("%s: %d", role, w.Code)
		}
	}
	w := get(t, &fakeModel{waitErr: context.DeadlineExceeded}, auth.RoleOperator)
	if w.Code != 503 || w.Header().Get("Retry-After") != "1" || !strings.Contains(w.Body.String(), "catching-up") {
		t.Errorf("behind the log: %d %v %s", w.Code, w.Header(), w.Body)
	}
}

func TestMetricsExportTheSameFigures(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(qualityapi.NewMetrics(&fakeModel{services: services}))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	series := map[string]int{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			key := f.GetName() + "{" + strings.Join(labels, ",") + "}"
			series[f.GetName()]++
			switch {
			case m.GetGauge() != nil:
				got[key] = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				got[key] = m.GetCounter().GetValue()
			case m.GetSummary() != nil:
				got[key+"_count"] = float64(m.GetSummary().GetSampleCount())
				got[key+"_sum"] = m.GetSummary().GetSampleSum()
				for _, q := range m.GetSummary().GetQuantile() {
					got[key+"_"+strconv.FormatFloat(q.GetQuantile(), 'g', -1, 64)] = q.GetValue()
				}
			}
		}
	}
	for key, want := range map[string]float64{
		`lifesituations_quality_steps_total{service=child-allowance}`:                                   2,
		`lifesituations_quality_outcomes_total{outcome=granted_on_application,service=child-allowance}`: 1,
		`lifesituations_quality_drafts_total{service=child-allowance,status=confirmed}`:                 1,
		`lifesituations_quality_time_to_result_seconds{service=child-allowance}_0.5`:                    478800,
		`lifesituations_quality_time_to_result_seconds{service=child-allowance}_0.9`:                    478800,
		`lifesituations_quality_time_to_result_seconds{service=child-allowance}_count`:                  1,
		`lifesituations_quality_time_to_result_seconds{service=child-allowance}_sum`:                    478800,
		`lifesituations_quality_granted_without_application_ratio{service=child-allowance}`:             0,
		`lifesituations_quality_rejection_ratio{service=child-allowance}`:                               0,
		`lifesituations_quality_draft_confirmation_ratio{service=child-allowance}`:                      1,
		`lifesituations_quality_rating_mean{service=child-allowance}`:                                   3,
		`lifesituations_quality_ratings{service=child-allowance}`:                                       2,
	} {
		if v, ok := got[key]; !ok || v != want {
			t.Errorf("%s = %v (exported %v), want %v", key, v, ok, want)
		}
	}
	// A figure with nothing to compute it from is left out.
	for _, key := range []string{
		`lifesituations_quality_rejection_ratio{service=residence-registration}`,
		`lifesituations_quality_rating_mean{service=residence-registration}`,
		`lifesituations_quality_time_to_result_seconds{service=residence-registration}_count`,
	} {
		if _, ok := got[key]; ok {
			t.Errorf("%s is exported", key)
		}
	}
	if series["lifesituations_quality_drafts_total"] != 10 {
		t.Errorf("drafts_total: %d series, want 5 statuses for each of 2 services", series["lifesituations_quality_drafts_total"])
	}
}
