package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"lifesituations/adapters/demo"
)

// demoMarker records that the demo population was loaded into a data
// directory, so that a restart with --demo does not move the clock again.
const demoMarker = "demo-loaded"

// loadDemo loads the demo population through the server's own HTTP API
// (once per data directory) and prints who to sign in as.
func loadDemo(ctx context.Context, data, baseURL string, now time.Time, stdout io.Writer) error {
	client := &http.Client{Timeout: time.Minute}
	marker := filepath.Join(data, demoMarker)
	var citizens []demo.Citizen
	var err error
	if _, statErr := os.Stat(marker); statErr == nil {
		citizens, err = demo.SignIn(ctx, client, baseURL)
	} else {
		citizens, err = demo.Load(ctx, client, baseURL, now)
		if err == nil {
			err = os.WriteFile(marker, []byte(now.Format(time.RFC3339)+"\n"), 0o644)
		}
	}
	if err != nil {
		return fmt.Errorf("load the demo population: %w", err)
	}
	fmt.Fprintf(stdout, "demo: %d citizens; open %s/ in a browser and choose one, or look at a cabinet with\n", len(citizens), baseURL)
	fmt.Fprintf(stdout, "  curl -s %s/v1/me/situations -H \"Authorization: Bearer $TOKEN\"\n", baseURL)
	for _, c := range citizens {
		fmt.Fprintf(stdout, "demo citizen %s (%s): %s\n  TOKEN=%s\n", c.Name, c.PersonID, c.Story, c.Token)
	}
	return nil
}
