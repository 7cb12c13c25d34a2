package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"lifesituations/domain/clock"
)

// newProviderAuth verifies op's tokens with a clock set to when token was
// issued: the provider stamps tokens with its own wall clock, and the test
// moves time only through the manual clock.
func newProviderAuth(t *testing.T, op *opProcess, token, audience string) (*OIDC, *clock.Manual) {
	t.Helper()
	claims, _ := unverifiedClaims(t, token)
	c := clock.NewManual(numericClaim(t, claims, "iat"))
	a, err := NewOIDC(t.Context(), OIDCConfig{Issuer: op.Issuer, JWKSURL: op.JWKSURL, Audience: audience, Clock: c})
	if err != nil {
		t.Fatalf("NewOIDC: %v", err)
	}
	return a, c
}

func TestOIDCWithRealProvider(t *testing.T) {
	op := startProvider(t)

	t.Run("accepts every role with its subject", func(t *testing.T) {
		// server.mjs signs these with RS256, ES256 and PS256.
		want := map[string]Principal{
			"citizen":  {RoleCitizen, "7b0e3c52-4d4f-4b8e-9a39-0f4b1c2d3e4f"},
			"registry": {RoleRegistry, "urn:registry:civil-status"},
			"agency":   {RoleAgency, "agency-official-17"},
			"auditor":  {RoleAuditor, "auditor-3"},
			"operator": {RoleOperator, "operator-1"},
		}
		for client, wantP := range want {
			token := op.token(t, client, "")
			a, _ := newProviderAuth(t, op, token, providerAudience)
			got, err := a.Authenticate(t.Context(), token)
			if err != nil {
				t.Fatalf("%s: %v", client, err)
			}
			if got != wantP {
				t.Errorf("%s: got %+v, want %+v", client, got, wantP)
			}
		}
	})

	t.Run("discovers the key set from the issuer", func(t *testing.T) {
		token := op.token(t, "citizen", "")
		claims, _ := unverifiedClaims(t, token)
		a, err := NewOIDC(t.Context(), OIDCConfig{
			Issuer: op.Issuer, Audience: providerAudience,
			Clock: clock.NewManual(numericClaim(t, claims, "iat")), HTTPClient: &http.Client{},
		})
		if err != nil {
			t.Fatalf("NewOIDC: %v", err)
		}
		if _, err := a.Authenticate(t.Context(), token); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("refuses an expired token", func(t *testing.T) {
		token := op.token(t, "citizen", "")
		a, c := newProviderAuth(t, op, token, providerAudience)
		claims, _ := unverifiedClaims(t, token)
		if err := c.Set(numericClaim(t, claims, "exp").Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		_, err := a.Authenticate(t.Context(), token)
		if !errors.Is(err, ErrExpired) {
			t.Fatalf("got %v, want ErrExpired", err)
		}
		t.Log(err)
	})

	t.Run("refuses a token of another provider", func(t *testing.T) {
		foreign := startProvider(t)
		token := foreign.token(t, "citizen", "")
		a, _ := newProviderAuth(t, op, token, providerAudience)
		_, err := a.Authenticate(t.Context(), token)
		if !errors.Is(err, ErrIssuer) {
			t.Fatalf("got %v, want ErrIssuer", err)
		}
		t.Log(err)
		// Even told the foreign issuer's name, keys from op's JWKS do not fit.
		claims, _ := unverifiedClaims(t, token)
		misled, err := NewOIDC(t.Context(), OIDCConfig{
			Issuer: foreign.Issuer, JWKSURL: op.JWKSURL, Audience: providerAudience,
			Clock: clock.NewManual(numericClaim(t, claims, "iat")),
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = misled.Authenticate(t.Context(), token)
		if !errors.Is(err, ErrSignature) {
			t.Fatalf("got %v, want ErrSignature", err)
		}
		t.Log(err)
	})

	t.Run("refuses forged signatures", func(t *testing.T) {
		genuine := op.token(t, "operator", "")
		a, _ := newProviderAuth(t, op, genuine, providerAudience)
		claims, header := unverifiedClaims(t, genuine)
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		forge := func(method jwt.SigningMethod, kid any, signingKey any) string {
			tok := jwt.NewWithClaims(method, claims)
			if kid != nil {
				tok.Header["kid"] = kid
			}
			s, err := tok.SignedString(signingKey)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		forgeries := map[string]string{
			"no kid":             forge(jwt.SigningMethodRS256, nil, key),
			"the provider's kid": forge(jwt.SigningMethodRS256, header["kid"], key),
			"an unknown kid":     forge(jwt.SigningMethodRS256, "not-a-provider-key", key),
			// Algorithm confusion: HMAC keyed with something public.
			"HS256": forge(jwt.SigningMethodHS256, header["kid"], []byte(op.JWKSURL)),
		}
		for name, token := range forgeries {
			_, err := a.Authenticate(t.Context(), token)
			if !errors.Is(err, ErrSignature) {
				t.Errorf("%s: got %v, want ErrSignature", name, err)
			}
			t.Logf("%s: %v", name, err)
		}
	})

	t.Run("refuses a token for another audience", func(t *testing.T) {
		token := op.token(t, "citizen", "urn:other:api")
		a, _ := newProviderAuth(t, op, token, providerAudience)
		_, err := a.Authenticate(t.Context(), token)
		if !errors.Is(err, ErrAudience) {
			t.Fatalf("got %v, want ErrAudience", err)
		}
		t.Log(err)
		// Without a configured audience the same token passes.
		open, _ := newProviderAuth(t, op, token, "")
		if _, err := open.Authenticate(t.Context(), token); err != nil {
			t.Fatalf("no audience configured: %v", err)
		}
	})

	t.Run("refuses unknown and missing roles", func(t *testing.T) {
		for _, client := range []string{"superuser", "roleless"} {
			token := op.token(t, client, "")
			a, _ := newProviderAuth(t, op, token, providerAudience)
			_, err := a.Authenticate(t.Context(), token)
			if !errors.Is(err, ErrRole) {
				t.Errorf("%s: got %v, want ErrRole", client, err)
			}
			t.Logf("%s: %v", client, err)
		}
	})

	t.Run("reads configured claim names", func(t *testing.T) {
		token := op.token(t, "citizen", "")
		claims, _ := unverifiedClaims(t, token)
		a, err := NewOIDC(t.Context(), OIDCConfig{
			Issuer: op.Issuer, JWKSURL: op.JWKSURL, Audience: providerAudience,
			SubjectClaim: "client_id", RoleClaim: "client_id", // "citizen" in both
			Clock: clock.NewManual(numericClaim(t, claims, "iat")),
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := a.Authenticate(t.Context(), token)
		if err != nil {
			t.Fatal(err)
		}
		if got != (Principal{RoleCitizen, "citizen"}) {
			t.Fatalf("got %+v", got)
		}
	})

	t.Run("middleware passes the principal on", func(t *testing.T) {
		token := op.token(t, "auditor", "")
		a, _ := newProviderAuth(t, op, token, providerAudience)
		var got Principal
		h := Middleware(a)(RequireRole(RoleAuditor)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got, _ = FromContext(r.Context())
		})))
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/v1/audit/people/x/events", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || got != (Principal{RoleAuditor, "auditor-3"}) {
			t.Fatalf("status %d, principal %+v, body %s", rec.Code, got, rec.Body)
		}
	})
}

func TestNewOIDCNeedsIssuerAndClock(t *testing.T) {
	ctx := context.Background()
	if _, err := NewOIDC(ctx, OIDCConfig{JWKSURL: "http://127.0.0.1:1/jwks", Clock: clock.NewManual(time.Unix(0, 0))}); err == nil {
		t.Error("no issuer: want an error")
	}
	if _, err := NewOIDC(ctx, OIDCConfig{Issuer: "http://127.0.0.1:1", JWKSURL: "http://127.0.0.1:1/jwks"}); err == nil {
		t.Error("no clock: want an error")
	}
}
