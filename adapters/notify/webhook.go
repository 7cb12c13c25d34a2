package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/cenkalti/backoff/v5"
)

// ErrRejected: the gateway refused a message for good (a 4xx answer other
// than 408, 425 or 429): sending it again would not help.
var ErrRejected = errors.New("rejected by the gateway")

// WebhookConfig configures a Webhook.
type WebhookConfig struct {
	// URL receives every message as POST application/json.
	URL string
	// Client sends the requests; nil: one with a 10 s timeout.
	Client *http.Client
	// Header is added to every request (an Authorization the gateway
	// expects, say).
	Header http.Header
	// MaxRetryAfter is the longest Retry-After honoured; 10 min when 0.
	MaxRetryAfter time.Duration
	// Now reads the time, to read a Retry-After given as a date; time.Now
	// when nil.
	Now func() time.Time
}

// Webhook is a Watermill publisher that delivers each message to an HTTP
// endpoint: one POST per message, its payload as the JSON body, its UUID
// in the Idempotency-Key header (the gateway drops a repeat by it) and the
// topic in X-Lifesituations-Topic. It makes one attempt per message and
// says why one failed (a *DeliveryError); retrying is the caller's (the
// relay's router retries with exponential backoff, honouring the
// Retry-After the error carries).
type Webhook struct {
	cfg    WebhookConfig
	url    string
	ctx    context.Context
	cancel context.CancelFunc
}

var _ message.Publisher = (*Webhook)(nil)

// NewWebhook returns a webhook publisher to cfg.URL.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("notification webhook %q: want an http:// or https:// URL", cfg.URL)
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.MaxRetryAfter <= 0 {
		cfg.MaxRetryAfter = 10 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Webhook{cfg: cfg, url: u.String(), ctx: ctx, cancel: cancel}, nil
}

// Publish posts the messages one after another, stopping at the first that
// fails. A request ends with the message's context or with Close.
func (w *Webhook) Publish(topic string, msgs ...*message.Message) error {
	for _, m := range msgs {
		if err := w.send(topic, m); err != nil {
			return err
		}
	}
	return nil
}

// Close aborts the requests in flight; a Publish after it fails.
func (w *Webhook) Close() error {
	w.cancel()
	return nil
}

func (w *Webhook) send(topic string, m *message.Message) error {
	ctx, cancel := context.WithCancel(m.Context())
	defer cancel()
	defer context.AfterFunc(w.ctx, cancel)()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(m.Payload))
	if err != nil {
		return &DeliveryError{Message: m.UUID, Err: err}
	}
	for k, vs := range w.cfg.Header {
		req.Header[k] = append([]string(nil), vs...)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", m.UUID)
	req.Header.Set("X-Lifesituations-Topic", topic)
	resp, err := w.cfg.Client.Do(req)
	if err != nil {
		return &DeliveryError{Message: m.UUID, Err: err}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	e := &DeliveryError{Message: m.UUID, Status: resp.StatusCode}
	if !e.Rejected() {
		e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), w.cfg.Now(), w.cfg.MaxRetryAfter)
	}
	return e
}

// retryAfter reads a Retry-After header: seconds or an HTTP date; 0 when
// absent or unreadable, at most limit.
func retryAfter(v string, now time.Time, limit time.Duration) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.Atoi(v); err == nil {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), limit)
}

// DeliveryError is why a message was not delivered: no answer (Err), or
// an answer other than 2xx (Status). It unwraps to ErrRejected when the
// gateway refused the message for good, and to a *backoff.RetryAfterError
// when the gateway said when to come back: Watermill's retry middleware
// then waits that long instead of its own backoff.
type DeliveryError struct {
	Message    string
	Status     int
	RetryAfter time.Duration
	Err        error
}

func (e *DeliveryError) Error() string {
	switch {
	case e.Err != nil:
		return fmt.Sprintf("deliver message %s: %v", e.Message, e.Err)
	case e.RetryAfter > 0:
		return fmt.Sprintf("deliver message %s: the gateway answered %d, retry after %s", e.Message, e.Status, e.RetryAfter)
	default:
		return fmt.Sprintf("deliver message %s: the gateway answered %d", e.Message, e.Status)
	}
}

// Rejected reports whether the gateway refused the message for good.
func (e *DeliveryError) Rejected() bool {
	s := e.Status
	return e.Err == nil && s != 0 && s < 500 && s != http.StatusRequestTimeout &&
		s != http.StatusTooEarly && s != http.StatusTooManyRequests
}

func (e *DeliveryError) Unwrap() []error {
	var out []error
	if e.Err != nil {
		out = append(out, e.Err)
	}
	if e.Rejected() {
		out = append(out, ErrRejected)
	}
	if e.RetryAfter > 0 {
		out = append(out, &backoff.RetryAfterError{Duration: e.RetryAfter})
	}
	return out
}
