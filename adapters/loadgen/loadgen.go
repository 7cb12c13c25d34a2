// Package loadgen sends registry events to a running server as a registry
// would, for `lifesituations bench ingest` and the ingest benchmarks.
package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// PopulationSource is the registry that owns person.registered.
const PopulationSource = "urn:registry:population"

// Config describes one load run.
type Config struct {
	URL     string // server base URL, e.g. http://127.0.0.1:8080
	Token   string // a registry token for PopulationSource; fetched from /v1/dev/token when empty
	Events  int    // events to send in all
	Batch   int    // events per request; 1 sends single structured events
	Clients int    // concurrent clients
	// RunID makes event ids unique per run so that reruns are not duplicates.
	RunID  string
	Client *http.Client
	// Now dates the events; a fixed business time keeps the payloads valid.
	Now time.Time
}

// Result is what a run measured.
type Result struct {
	Events    int
	Requests  int
	Retries   int // 429/503 answers retried after Retry-After
	Elapsed   time.Duration
	Latencies []time.Duration // per accepted request, sorted
}

// Rate is accepted events per second.
func (r Result) Rate() float64 { return float64(r.Events) / r.Elapsed.Seconds() }

// Percentile of request latency, p in [0,1].
func (r Result) Percentile(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(p * float64(len(r.Latencies)-1))
	return r.Latencies[i]
}

func (r Result) String() string {
	return fmt.Sprintf("%d events in %d requests in %s: %.0f events/s; request latency p50 %s p99 %s; %d retries after 429/503",
		r.Events, r.Requests, r.Elapsed.Round(time.Millisecond), r.Rate(),
		r.Percentile(0.5).Round(time.Microsecond), r.Percentile(0.99).Round(time.Microsecond), r.Retries)
}

// Run sends cfg.Events person.registered events and waits for every 202.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Batch < 1 || cfg.Clients < 1 || cfg.Events < 1 {
		return Result{}, errors.New("loadgen: events, batch and clients must be at least 1")
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Clients}}
	}
	if cfg.RunID == "" {
		cfg.RunID = uuid.NewString()
	}
	if cfg.Now.IsZero() {
		cfg.Now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if cfg.Token == "" {
		tok, err := DevToken(ctx, cfg.Client, cfg.URL, "registry", PopulationSource)
		if err != nil {
			return Result{}, err
		}
		cfg.Token = tok
	}

	requests := (cfg.Events + cfg.Batch - 1) / cfg.Batch
	var next atomic.Int64
	var mu sync.Mutex
	res := Result{}
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < cfg.Clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= requests || ctx.Err() != nil {
					return
				}
				n := min(cfg.Batch, cfg.Events-i*cfg.Batch)
				body, ctype := Body(cfg, i*cfg.Batch, n)
				lat, retries, err := post(ctx, cfg, body, ctype)
				mu.Lock()
				res.Retries += retries
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
				} else {
					res.Events += n
					res.Requests++
					res.Latencies = append(res.Latencies, lat)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	slices.Sort(res.Latencies)
	return res, firstErr
}

// Body builds the request body for events [from, from+n) of a run. The
// events are marshalled from structs rather than from Event's maps: the
// generator shares the machine with the server on loopback, and map
// marshalling (sorting keys, boxing values) was a tenth of a batch run's CPU.
func Body(cfg Config, from, n int) ([]byte, string) {
	if cfg.Batch == 1 {
		b, _ := json.Marshal(newEvent(cfg.RunID, from, cfg.Now))
		return b, "application/cloudevents+json"
	}
	events := make([]cloudEvent, n)
	for k := range n {
		events[k] = newEvent(cfg.RunID, from+k, cfg.Now)
	}
	b, _ := json.Marshal(events)
	return b, "application/cloudevents-batch+json"
}

// Event is the i-th person.registered CloudEvent of a run, as Body sends it.
func Event(runID string, i int, now time.Time) map[string]any {
	e := newEvent(runID, i, now)
	d := e.Data
	return map[string]any{
		"specversion": e.SpecVersion,
		"id":          e.ID,
		"source":      e.Source,
		"type":        e.Type,
		"time":        e.Time,
		"subject":     e.Subject,
		"data": map[string]any{
			"person_id":   d.PersonID,
			"family_name": d.FamilyName,
			"given_name":  d.GivenName,
			"birth_date":  d.BirthDate,
			"sex":         d.Sex,
			"citizenship": d.Citizenship,
			"region":      d.Region,
			"time_zone":   d.TimeZone,
			"address":     d.Address,
		},
	}
}

// cloudEvent is a structured-mode CloudEvent carrying a person.registered.
type cloudEvent struct {
	SpecVersion string           `json:"specversion"`
	ID          string           `json:"id"`
	Source      string           `json:"source"`
	Type        string           `json:"type"`
	Time        string           `json:"time"`
	Subject     string           `json:"subject"`
	Data        personRegistered `json:"data"`
}

type personRegistered struct {
	PersonID    string `json:"person_id"`
	FamilyName  string `json:"family_name"`
	GivenName   string `json:"given_name"`
	BirthDate   string `json:"birth_date"`
	Sex         string `json:"sex"`
	Citizenship string `json:"citizenship"`
	Region      string `json:"region"`
	TimeZone    string `json:"time_zone"`
	Address     string `json:"address"`
}

func newEvent(runID string, i int, now time.Time) cloudEvent {
	pid := uuid.NewSHA1(uuid.NameSpaceURL, []byte(runID+"/person/"+strconv.Itoa(i))).String()
	birth := now.AddDate(-20-i%60, 0, -(i % 365))
	return cloudEvent{
		SpecVersion: "1.0",
		ID:          runID + "-" + strconv.Itoa(i),
		Source:      PopulationSource,
		Type:        "person.registered",
		Time:        now.Format(time.RFC3339),
		Subject:     pid,
		Data: personRegistered{
			PersonID:    pid,
			FamilyName:  "Ivanova",
			GivenName:   "Maria",
			BirthDate:   birth.Format(time.DateOnly),
			Sex:         "F",
			Citizenship: "RU",
			Region:      "RU-MOW",
			TimeZone:    "Europe/Moscow",
			Address:     "Moscow, Tverskaya 1, apt " + strconv.Itoa(i%500),
		},
	}
}

func post(ctx context.Context, cfg Config, body []byte, ctype string) (time.Duration, int, error) {
	retries := 0
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.URL+"/v1/events", bytes.NewReader(body))
		if err != nil {
			return 0, retries, err
		}
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Authorization", "Bearer "+cfg.Token)
		t0 := time.Now()
		resp, err := cfg.Client.Do(req)
		if err != nil {
			return 0, retries, fmt.Errorf("loadgen: post: %w", err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		lat := time.Since(t0)
		switch resp.StatusCode {
		case http.StatusAccepted:
			return lat, retries, nil
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			retries++
			wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			select {
			case <-time.After(time.Duration(max(wait, 0))*time.Second + 10*time.Millisecond):
			case <-ctx.Done():
				return 0, retries, ctx.Err()
			}
		default:
			return 0, retries, fmt.Errorf("loadgen: %s answered %d: %s", req.URL, resp.StatusCode, msg)
		}
	}
}

// DevToken asks a development-mode server for a token.
func DevToken(ctx context.Context, c *http.Client, baseURL, role, subject string) (string, error) {
	b, _ := json.Marshal(map[string]string{"role": role, "subject": subject})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/v1/dev/token", bytes.NewReader(b))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("loadgen: dev token: %w", err)
	}
	defer resp.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		return "", fmt.Errorf("loadgen: dev token: %d %s (is the server in development mode? otherwise pass --token)", resp.StatusCode, msg)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", fmt.Errorf("loadgen: dev token: %w", err)
	}
	return out.Token, nil
}
