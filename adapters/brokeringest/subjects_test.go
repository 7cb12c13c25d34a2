package brokeringest_test

import (
	"strings"
	"testing"

	"lifesituations/adapters/brokeringest"
	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/adapters/ingest"
	"lifesituations/domain/clock"
	"lifesituations/domain/lifeevent"
	"lifesituations/projections/register"
)

func TestSubjectsPattern(t *testing.T) {
	s, err := brokeringest.ParseSubjects(brokeringest.DefaultSubject)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Subject("civil-status"); got != "registries.civil-status.events" {
		t.Errorf("Subject = %q", got)
	}
	for subject, want := range map[string]string{
		"registries.civil-status.events": "civil-status",
		"registries.tax.events":          "tax",
		"registries.tax.dead-letter":     "",
		"registries.tax.events.extra":    "",
		"other.tax.events":               "",
		"registries..events":             "",
	} {
		got, ok := s.Registry(subject)
		if got != want || ok != (want != "") {
			t.Errorf("Registry(%q) = %q, %v; want %q", subject, got, ok, want)
		}
	}
	for _, bad := range []string{"registries.events", "registries.*.*", "registries.>", "a..*", "a b.*", ""} {
		if _, err := brokeringest.ParseSubjects(bad); err == nil {
			t.Errorf("ParseSubjects(%q) accepted", bad)
		}
	}
}

func TestRegistryOfEverySource(t *testing.T) {
	for _, source := range []string{lifeevent.SourcePopulation, lifeevent.SourceCivilStatus, lifeevent.SourceResidence, lifeevent.SourceTax} {
		r, ok := brokeringest.Registry(source)
		if !ok || brokeringest.Source(r) != source {
			t.Errorf("Registry(%q) = %q, %v", source, r, ok)
		}
	}
	for _, bad := range []string{"urn:registry:", "urn:registry:a.b", "urn:registry:*", "https://registry.example", "urn:registry:a b"} {
		if r, ok := brokeringest.Registry(bad); ok {
			t.Errorf("Registry(%q) = %q", bad, r)
		}
	}
}

func TestNewSaysWhatIsMissing(t *testing.T) {
	if _, err := brokeringest.New(brokeringest.Config{URL: brokeringest.DefaultURL}); err == nil || !strings.Contains(err.Error(), "Submitter") {
		t.Fatalf("without a submitter: %v", err)
	}
	store, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	sub, err := ingest.NewSubmitter(ingest.Config{Store: store, Register: register.NewIndex(), Clock: clock.NewManual(t0)})
	if err != nil {
		t.Fatal(err)
	}
	cfg := brokeringest.Config{URL: "nats://127.0.0.1:1", Submitter: sub, Clock: clock.NewManual(t0)}
	if _, err := brokeringest.New(cfg); err == nil || !strings.Contains(err.Error(), "connect to NATS at nats://127.0.0.1:1") {
		t.Fatalf("with no server: %v", err)
	}
	cfg.Subject = "registries.events"
	if _, err := brokeringest.New(cfg); err == nil || !strings.Contains(err.Error(), "one token must be *") {
		t.Fatalf("with a subject naming no registry: %v", err)
	}
}
