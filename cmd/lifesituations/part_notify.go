package main

import (
	"context"
	"fmt"
	"time"

	"lifesituations/adapters/httpapi"
	"lifesituations/adapters/notify"
)

// Notifications out: every notification the cabinets show is also
// published to an outbound topic (an email, SMS or push gateway's input),
// at least once, named by the notification's id; by default a webhook
// delivers the topic to a URL with retries and exponential backoff.
func init() { apiParts = append(apiParts, notifyPart) }

// notifyConfig is the configuration of notifications out (serve's
// --notify-* flags).
type notifyConfig struct {
	webhook      string        // the gateway's URL; empty: notifications are not sent out
	topic        string        // the outbound topic
	retryInitial time.Duration // the first wait after a failed delivery
	retryMax     time.Duration // the longest wait between two attempts
}

func notifyPart(d apiDeps) ([]httpapi.Route, []httpapi.PublicRoute, error) {
	cfg := d.notify
	if cfg.webhook == "" {
		return nil, nil, nil
	}
	if cfg.retryInitial <= 0 || cfg.retryMax < cfg.retryInitial {
		return nil, nil, fmt.Errorf("--notify-retry-initial must be positive and at most --notify-retry-max")
	}
	hook, err := notify.NewWebhook(notify.WebhookConfig{URL: cfg.webhook})
	if err != nil {
		return nil, nil, err
	}
	relay, err := notify.New(notify.Config{
		Store: d.core.store, Checkpoints: d.core.checkpoints, Publisher: hook, Topic: cfg.topic,
		Retry:  notify.Retry{Initial: cfg.retryInitial, Max: cfg.retryMax},
		Logger: d.log.With("part", "notify"), Metrics: d.metrics,
	})
	if err != nil {
		return nil, nil, err
	}
	runBeside(d, "notifications out", func(ctx context.Context) error {
		defer hook.Close()
		return relay.Run(ctx)
	})
	return nil, nil, nil
}
