package auth

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"lifesituations/domain/clock"
)

var devEpoch = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func newTestDev(t *testing.T, dir string, opts ...DevOption) (*Dev, *clock.Manual) {
	t.Helper()
	c := clock.NewManual(devEpoch)
	d, err := NewDev(dir, c, opts...)
	if err != nil {
		t.Fatalf("NewDev: %v", err)
	}
	return d, c
}

func issue(t *testing.T, d *Dev, p Principal) string {
	t.Helper()
	token, err := d.Issue(p)
	if err != nil {
		t.Fatalf("Issue(%+v): %v", p, err)
	}
	return token
}

func TestDevRoundTripForEveryRole(t *testing.T) {
	d, _ := newTestDev(t, t.TempDir())
	for _, r := range Roles {
		p := Principal{Role: r, Subject: "subject-of-" + string(r)}
		got, err := d.Authenticate(t.Context(), issue(t, d, p))
		if err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		if got != p {
			t.Errorf("got %+v, want %+v", got, p)
		}
	}
}

func TestDevTokenClaims(t *testing.T) {
	d, _ := newTestDev(t, t.TempDir())
	claims := jwt.MapClaims{}
	tok, _, err := jwt.NewParser().ParseUnverified(issue(t, d, Principal{RoleCitizen, "p-1"}), claims)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Method.Alg() != "HS256" {
		t.Errorf("alg %s", tok.Method.Alg())
	}
	want := jwt.MapClaims{
		"sub": "p-1", "role": "citizen", "iss": DevIssuer,
		"iat": float64(devEpoch.Unix()), "exp": float64(devEpoch.Add(12 * time.Hour).Unix()),
	}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("claim %s = %v, want %v", k, claims[k], v)
		}
	}
}

func TestDevExpiry(t *testing.T) {
	d, c := newTestDev(t, t.TempDir(), WithLifetime(time.Hour))
	token := issue(t, d, Principal{RoleAgency, "agency-1"})
	if err := c.Advance(59 * time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Authenticate(t.Context(), token); err != nil {
		t.Fatalf("within its lifetime: %v", err)
	}
	if err := c.Advance(time.Minute + time.Second); err != nil {
		t.Fatal(err)
	}
	_, err := d.Authenticate(t.Context(), token)
	if !errors.Is(err, ErrExpired) {
		t.Fatalf("got %v, want ErrExpired", err)
	}
	if want := "token expired at 2026-03-01T10:00:00Z"; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
}

func TestDevRefusesTamperedToken(t *testing.T) {
	d, _ := newTestDev(t, t.TempDir())
	token := issue(t, d, Principal{RoleCitizen, "p-1"})
	parts := strings.Split(token, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	payload = bytes.Replace(payload, []byte(`"citizen"`), []byte(`"operator"`), 1)
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	_, err = d.Authenticate(t.Context(), strings.Join(parts, "."))
	if !errors.Is(err, ErrSignature) {
		t.Fatalf("got %v, want ErrSignature", err)
	}
}

func TestDevRefusesForeignAndMalformedTokens(t *testing.T) {
	dir := t.TempDir()
	d, _ := newTestDev(t, dir)
	other, _ := newTestDev(t, t.TempDir())
	sign := func(method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(method, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	valid := func(overrides jwt.MapClaims) jwt.MapClaims {
		c := jwt.MapClaims{"sub": "p-1", "role": "citizen", "iss": DevIssuer, "exp": devEpoch.Add(time.Hour).Unix()}
		for k, v := range overrides {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	cases := []struct {
		name  string
		token string
		want  error
	}{
		{"another data directory", issue(t, other, Principal{RoleCitizen, "p-1"}), ErrSignature},
		{"not a JWT", "not-a-token", ErrMalformed},
		{"HS512 with the right secret", sign(jwt.SigningMethodHS512, d.secret, valid(nil)), ErrSignature},
		{"alg none", sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid(nil)), ErrSignature},
		{"another issuer", sign(jwt.SigningMethodHS256, d.secret, valid(jwt.MapClaims{"iss": "someone"})), ErrIssuer},
		{"no expiry", sign(jwt.SigningMethodHS256, d.secret, valid(jwt.MapClaims{"exp": nil})), ErrMalformed},
		{"unknown role", sign(jwt.SigningMethodHS256, d.secret, valid(jwt.MapClaims{"role": "superuser"})), ErrRole},
		{"no role", sign(jwt.SigningMethodHS256, d.secret, valid(jwt.MapClaims{"role": nil})), ErrRole},
		{"empty subject", sign(jwt.SigningMethodHS256, d.secret, valid(jwt.MapClaims{"sub": ""})), ErrSubject},
	}
	for _, tc := range cases {
		_, err := d.Authenticate(t.Context(), tc.token)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestDevIssueRefusesBadPrincipals(t *testing.T) {
	d, _ := newTestDev(t, t.TempDir())
	if _, err := d.Issue(Principal{Role: "superuser", Subject: "x"}); err == nil {
		t.Error("unknown role: want an error")
	}
	if _, err := d.Issue(Principal{Role: RoleCitizen}); err == nil {
		t.Error("empty subject: want an error")
	}
}

func TestDevSecretFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "not", "yet", "there")
	d, _ := newTestDev(t, dir)
	path := filepath.Join(dir, "dev-token-secret")
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("secret file mode %o, want 600", perm)
	}
	secret, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(secret) != 32 {
		t.Errorf("secret has %d bytes, want 32", len(secret))
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".*")); len(leftovers) != 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}

	// A restart on the same directory keeps the secret, and the tokens.
	token := issue(t, d, Principal{RoleRegistry, "urn:registry:tax"})
	restarted, _ := newTestDev(t, dir)
	if _, err := restarted.Authenticate(t.Context(), token); err != nil {
		t.Fatalf("after restart: %v", err)
	}
	again, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(secret, again) {
		t.Error("secret rewritten on restart")
	}
}

func TestDevRefusesShortSecret(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "dev-token-secret"), []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewDev(dir, clock.NewManual(devEpoch)); err == nil {
		t.Fatal("want an error for a 5-byte secret")
	}
}

func TestNewDevNeedsClock(t *testing.T) {
	if _, err := NewDev(t.TempDir(), nil); err == nil {
		t.Fatal("want an error without a clock")
	}
}
