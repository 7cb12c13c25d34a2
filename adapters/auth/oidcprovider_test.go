package auth

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// providerDir holds the npm project running node-oidc-provider; see server.mjs.
var providerDir = filepath.Join("testdata", "oidc-provider")

// The resource the provider uses as aud when a token request names none.
const providerAudience = "urn:lifesituations:api"

// opProcess is one running instance of testdata/oidc-provider/server.mjs.
type opProcess struct {
	Issuer        string
	JWKSURL       string
	TokenEndpoint string
}

// startProvider runs a fresh OpenID provider on a free loopback port and
// stops it when the test ends. A provider that is not ready in time is
// stopped and started once more: it is a fixture, and one stalled start of
// node on a shared machine (seen once in CI, stuck after importing
// oidc-provider) should not fail the adapter's tests; two in a row do.
func startProvider(t *testing.T) *opProcess {
	t.Helper()
	if _, err := os.Stat(filepath.Join(providerDir, "node_modules", "oidc-provider")); err != nil {
		t.Skip("oidc-provider not installed: run npm ci --prefix adapters/auth/testdata/oidc-provider")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("oidc-provider not installed: run npm ci --prefix adapters/auth/testdata/oidc-provider")
	}
	const attempts = 2
	var issuer string
	for attempt := 1; ; attempt++ {
		began := time.Now()
		iss, err := launchProvider(t)
		if err == nil {
			t.Logf("provider ready in %v (attempt %d)", time.Since(began).Round(time.Millisecond), attempt)
			issuer = iss
			break
		}
		if attempt == attempts {
			t.Fatalf("provider, attempt %d of %d: %v", attempt, attempts, err)
		}
		t.Logf("provider, attempt %d of %d: %v", attempt, attempts, err)
	}

	var meta struct {
		Issuer        string `json:"issuer"`
		JWKSURL       string `json:"jwks_uri"`
		TokenEndpoint string `json:"token_endpoint"`
	}
	getJSON(t, issuer+"/.well-known/openid-configuration", &meta)
	if meta.Issuer != issuer {
		t.Fatalf("discovery issuer %q, ready line said %q", meta.Issuer, issuer)
	}
	return &opProcess{Issuer: issuer, JWKSURL: meta.JWKSURL, TokenEndpoint: meta.TokenEndpoint}
}

// providerReadyWithin guards against a hung node; it is not a measurement.
const providerReadyWithin = 60 * time.Second

// launchProvider starts one node process and waits for its "ready" line. The
// process is stopped when the test ends, or at once when it does not get
// ready, and the error then holds what it wrote to stderr.
func launchProvider(t *testing.T) (string, error) {
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "node", "server.mjs", "0")
	cmd.Dir = providerDir
	cmd.WaitDelay = 5 * time.Second
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return "", fmt.Errorf("stdout: %w", err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return "", fmt.Errorf("start node: %w", err)
	}
	ready := make(chan string, 1)
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		defer close(ready)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if issuer, ok := strings.CutPrefix(sc.Text(), "ready "); ok {
				ready <- issuer
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout) // keep the pipe drained until node exits
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			<-drained // Wait closes the pipe: read it to the end first
			_ = cmd.Wait()
		})
	}
	launched := false // a launch that failed has put stderr in its error
	t.Cleanup(func() {
		stop()
		if launched && t.Failed() {
			t.Logf("provider stderr:\n%s", stderr.String())
		}
	})
	select {
	case issuer, ok := <-ready:
		if !ok {
			stop()
			return "", fmt.Errorf("exited before it was ready:\n%s", stderr.String())
		}
		launched = true
		return issuer, nil
	case <-time.After(providerReadyWithin):
		stop()
		return "", fmt.Errorf("not ready after %v:\n%s", providerReadyWithin, stderr.String())
	}
}

// token obtains an access token with the client_credentials grant. Clients
// are named after the role their tokens carry (see server.mjs); resource,
// when set, becomes the token's audience.
func (p *opProcess) token(t *testing.T, client, resource string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	if resource != "" {
		form.Set("resource", resource)
	}
	req, err := http.NewRequest(http.MethodPost, p.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(client, "secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("token request: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read token response: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token request for %s: %s %s", client, resp.Status, body)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		t.Fatalf("token response %s: %v", body, err)
	}
	return tr.AccessToken
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", u, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("decode %s: %v", u, err)
	}
}

// unverifiedClaims reads a token's claims without checking anything, to
// build forgeries and to set test clocks relative to the provider's time.
func unverifiedClaims(t *testing.T, token string) (jwt.MapClaims, map[string]any) {
	t.Helper()
	claims := jwt.MapClaims{}
	parsed, _, err := jwt.NewParser().ParseUnverified(token, claims)
	if err != nil {
		t.Fatalf("parse token: %v", err)
	}
	return claims, parsed.Header
}

func numericClaim(t *testing.T, claims jwt.MapClaims, name string) time.Time {
	t.Helper()
	f, ok := claims[name].(float64)
	if !ok {
		t.Fatalf("claim %s is %v", name, claims[name])
	}
	return time.Unix(int64(f), 0)
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
