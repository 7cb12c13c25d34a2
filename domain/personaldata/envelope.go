package personaldata

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"golang.org/x/crypto/chacha20poly1305"
)

// A sealed value is stored in place of the plain one as the JSON object
//
//	{"sealed":"v2:<owner id>:<base64url of nonce | ChaCha20-Poly1305 ciphertext>"}
//
// whose plaintext is the value's JSON encoding and whose additional data
// is the owner's id. The owner is named in the envelope so that a reader
// needs no table to open it (an envelope copied anywhere still opens, and
// a later change of the table does not strand old events), and so that a
// reader of the raw log sees whose it is. The byte sequence
// `{"sealed":"v` cannot occur inside a JSON string (its quotes would be
// escaped), so a scan for it finds only envelopes, never plain text.
//
// The digit after the v names the cipher. Version 1, AES-256-GCM, is
// still opened; values are sealed with version 2. Every person has a key
// of their own, so a reader of the log sets up a cipher for nearly every
// value it opens: AES-GCM's set-up (its key schedule and GHASH tables,
// 1.3 KB) cost five times the opening of a name, ChaCha20-Poly1305 has
// none (docs/architecture.md, "Sealed value").
const (
	envelopeHead = `{"sealed":"v` // then the version's digit and ':'
	envelopeEnd  = `"}`
	// KeySize is the size of a person's key: 256 bits, for either cipher.
	KeySize = 32

	versionAESGCM   = '1'
	versionChaCha   = '2'
	sealVersion     = versionChaCha
	envelopeStart   = envelopeHead + string(sealVersion) + ":"
	envelopeHeadLen = len(envelopeHead) + 2 // with the digit and ':'
)

var envelopeHeadBytes = []byte(envelopeHead)

// Key is a person's key as the key store has it.
type Key struct {
	// Secret is the 256-bit key; nil once erased.
	Secret []byte
	// Erased: the person's key was deleted; their sealed values read as
	// Marker.
	Erased bool
	// ciphers are made from Secret once per version, when first needed
	// (NewKey and Ready make the one values are sealed with).
	ciphers [len(ciphers)]cipher.AEAD
}

// ciphers makes the cipher of each version, from '1'.
var ciphers = [...]func(secret []byte) (cipher.AEAD, error){newAESGCM, newChaCha}

// NewKey returns the key with its cipher ready.
func NewKey(secret []byte) (Key, error) { return Key{Secret: secret}.Ready() }

// cipherOf is the cipher of an envelope of that version, made once per
// key (k is the caller's: a payload's owner keys).
func (k *Key) cipherOf(version byte) (cipher.AEAD, error) {
	i := int(version) - '1'
	if i < 0 || i >= len(ciphers) {
		return nil, fmt.Errorf("version %c is not known to this build", version)
	}
	if k.ciphers[i] == nil {
		if len(k.Secret) != KeySize {
			return nil, fmt.Errorf("a key is %d bytes, not %d", KeySize, len(k.Secret))
		}
		aead, err := ciphers[i](k.Secret)
		if err != nil {
			return nil, err
		}
		k.ciphers[i] = aead
	}
	return k.ciphers[i], nil
}

// KeyStore is the port to the persons' keys.
type KeyStore interface {
	// Ensure returns the keys of the persons, first creating, durably, the
	// missing ones: a value is sealed only with a key that survives a
	// crash, so nothing acknowledged becomes unreadable.
	Ensure(ctx context.Context, persons []string) (map[string]Key, error)
	// Lookup returns a person's key; ErrNoKey when they never had one.
	Lookup(ctx context.Context, person string) (Key, error)
	// Erase deletes a person's key durably (a second call is a no-op);
	// ErrNoKey when they never had one.
	Erase(ctx context.Context, person string) error
}

// ErrNoKey: the person never had a key (nothing of theirs was sealed).
var ErrNoKey = errors.New("no key for this person")

// Cacheable is the key as a key store keeps it in memory: the secret
// without its ciphers, which an AES-GCM one made 784 bytes (about 100 MiB
// over a cache of 131,072 persons), while making them again costs little.
func (k Key) Cacheable() Key { return Key{Secret: k.Secret, Erased: k.Erased} }

// MakeRoom drops an arbitrary eighth of a key store's cache once it holds
// limit entries (map order), which is enough for a log read in order.
func MakeRoom[V any](cache map[string]V, limit int) {
	if len(cache) < limit {
		return
	}
	drop := max(limit/8, 1)
	for p := range cache {
		if drop == 0 {
			break
		}
		delete(cache, p)
		drop--
	}
}

// LookupAll looks up each person once, for a KeyStore's Ensure: the keys
// found, and the persons who have none yet, in order.
func LookupAll(persons []string, lookup func(person string) (Key, error)) (map[string]Key, []string, error) {
	found := make(map[string]Key, len(persons))
	var missing []string
	seen := make(map[string]bool, len(persons))
	for _, p := range persons {
		if seen[p] {
			continue
		}
		seen[p] = true
		k, err := lookup(p)
		switch {
		case err == nil:
			found[p] = k
		case errors.Is(err, ErrNoKey):
			missing = append(missing, p)
		default:
			return nil, nil, err
		}
	}
	return found, missing, nil
}

// Seal encrypts a value for its owner with the owner's key and a random
// nonce from random, returning the envelope. One allocation: the sealed
// bytes are made at the end of the envelope's buffer, then encoded into
// its beginning (the owner's id there is the additional data).
func Seal(k Key, owner string, value json.RawMessage, random io.Reader) (json.RawMessage, error) {
	aead, err := k.cipherOf(sealVersion)
	if err != nil {
		return nil, err
	}
	ns := aead.NonceSize()
	rawLen := ns + len(value) + aead.Overhead()
	envLen := len(envelopeStart) + len(owner) + 1 + base64.RawURLEncoding.EncodedLen(rawLen) + len(envelopeEnd)
	out := make([]byte, 0, envLen+rawLen)
	out = append(out, envelopeStart...)
	out = append(out, owner...)
	ad := out[len(envelopeStart):]
	out = append(out, ':')
	raw := out[envLen:envLen] // beyond what the envelope's text takes
	nonce := raw[:ns]
	if _, err := io.ReadFull(random, nonce); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	raw = aead.Seal(nonce, nonce, value, ad)
	out = base64.RawURLEncoding.AppendEncode(out, raw)
	out = append(out, envelopeEnd...)
	return out[:len(out):len(out)], nil
}

// IsSealed reports whether a value is an envelope.
func IsSealed(v json.RawMessage) bool { return envelopeAt(bytes.TrimSpace(v), 0) }

// envelopeAt reports whether an envelope's head, of any version, starts
// data[start:].
func envelopeAt(data []byte, start int) bool {
	return len(data)-start >= envelopeHeadLen && bytes.HasPrefix(data[start:], envelopeHeadBytes) &&
		isDigit(data[start+len(envelopeHead)]) && data[start+len(envelopeHead)+1] == ':'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// Contains reports whether a payload holds any envelope: a payload without
// one is read as it is, undecoded.
func Contains(data []byte) bool { return indexEnvelope(data, 0) >= 0 }

// indexEnvelope is the offset of the first envelope in data at or after
// from, -1 when there is none. It looks for the prefix's 'v', rarer in
// payloads than its '{' (every object starts with `{"`, which made
// bytes.Index stop at each), then checks the bytes around it: three times
// faster on a decision with nothing sealed, which every reader checks.
func indexEnvelope(data []byte, from int) int {
	const v = len(`{"sealed":"`) // the offset of the 'v' in the prefix
	for i := from + v; i < len(data); {
		k := bytes.IndexByte(data[i:], 'v')
		if k < 0 {
			return -1
		}
		i += k
		if start := i - v; start >= 0 && envelopeAt(data, start) {
			return start
		}
		i++
	}
	return -1
}

// envelope is one envelope found in a payload.
type envelope struct {
	start, end int    // data[start:end] is the whole envelope
	version    byte   // its digit: which cipher sealed it
	owner      []byte // the owner's id, in data
	sealed     []byte // base64url
}

// nextEnvelope finds the first envelope in data at or after from.
func nextEnvelope(data []byte, from int) (envelope, bool, error) {
	start := indexEnvelope(data, from)
	if start < 0 {
		return envelope{}, false, nil
	}
	body := start + envelopeHeadLen
	colon := bytes.IndexByte(data[body:], ':')
	quote := bytes.IndexByte(data[body:], '"')
	if colon < 0 || quote < 0 || colon > quote || !bytes.HasPrefix(data[body+quote:], []byte(envelopeEnd)) {
		return envelope{}, false, fmt.Errorf("malformed sealed value at byte %d", start)
	}
	return envelope{
		start: start, end: body + quote + len(envelopeEnd),
		version: data[start+len(envelopeHead)],
		owner:   data[body : body+colon],
		sealed:  data[body+colon+1 : body+quote],
	}, true, nil
}

// HasCipher reports whether the key's cipher is made (Ready, NewKey).
func (k Key) HasCipher() bool { return k.ciphers[sealVersion-'1'] != nil }

// Ready returns the key with its cipher made, to seal or open several
// values with it (a key store's cache keeps keys without it).
func (k Key) Ready() (Key, error) {
	if k.Erased {
		return k, nil
	}
	if _, err := k.cipherOf(sealVersion); err != nil {
		return Key{}, err
	}
	return k, nil
}

// open decrypts one envelope's content with its owner's key, appending
// the plaintext to dst. The ciphertext is decoded into dst's spare room
// and opened in place there (no buffer of its own): the plaintext is
// shorter than the envelope it replaces, so a dst made as large as the
// payload never grows.
func open(dst []byte, k *Key, e envelope) ([]byte, error) {
	owner, sealed := e.owner, e.sealed
	aead, err := k.cipherOf(e.version)
	if err != nil {
		return nil, fmt.Errorf("sealed value of %s: %w", owner, err)
	}
	need := base64.RawURLEncoding.DecodedLen(len(sealed))
	at := len(dst)
	dst = slices.Grow(dst, need)
	raw := dst[at : at+need]
	n, err := base64.RawURLEncoding.Decode(raw, sealed)
	if err != nil {
		return nil, fmt.Errorf("sealed value of %s: %w", owner, err)
	}
	raw = raw[:n]
	ns := aead.NonceSize()
	if len(raw) < ns {
		return nil, fmt.Errorf("sealed value of %s: too short", owner)
	}
	plain, err := aead.Open(raw[ns:ns], raw[:ns], raw[ns:], owner)
	if err != nil {
		return nil, fmt.Errorf("sealed value of %s does not open with their key: %w", owner, err)
	}
	return append(dst, plain...), nil // moved over the nonce (memmove)
}

// Open decrypts a single envelope (for tests and tools).
func Open(k Key, v json.RawMessage) (owner string, value json.RawMessage, err error) {
	v = bytes.TrimSpace(v)
	e, ok, err := nextEnvelope(v, 0)
	if err != nil {
		return "", nil, err
	}
	if !ok || e.start != 0 || e.end != len(v) {
		return "", nil, errors.New("not a sealed value")
	}
	plain, err := open(nil, &k, e)
	return string(e.owner), plain, err
}

// Unseal returns data with every envelope replaced by its plaintext, or by
// the JSON string Marker when its owner's key is erased. keyOf gives a
// person's key; it is asked once per owner of the payload. Data without
// an envelope is returned as it is.
func Unseal(data []byte, keyOf func(owner string) (Key, error)) ([]byte, error) {
	if !Contains(data) {
		return data, nil
	}
	return unseal(data, keyOf)
}

// UnsealCopy is Unseal into bytes of its own whatever data holds, for a
// reader that is only lent data: an opened payload is a new buffer
// already, one without an envelope is copied.
func UnsealCopy(data []byte, keyOf func(owner string) (Key, error)) ([]byte, error) {
	if !Contains(data) {
		return bytes.Clone(data), nil
	}
	return unseal(data, keyOf)
}

// unseal opens data that holds an envelope into a new buffer.
func unseal(data []byte, keyOf func(owner string) (Key, error)) ([]byte, error) {
	out := make([]byte, 0, len(data))
	from := 0
	var keys ownerKeys
	for {
		e, ok, err := nextEnvelope(data, from)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		out = append(out, data[from:e.start]...)
		k, err := keys.of(e.owner, keyOf)
		if err != nil {
			return nil, err
		}
		if k.Erased {
			out = append(out, markerJSON...)
		} else if out, err = open(out, k, e); err != nil {
			return nil, err
		}
		from = e.end
	}
	return append(out, data[from:]...), nil
}

// ownerKeys is the keys of a payload's owners, each asked for once and
// its cipher made once: a payload's envelopes are mostly one or two
// persons', and making a cipher costs more than opening a short value.
type ownerKeys struct {
	owners [4][]byte
	keys   [4]Key
	n      int
	more   map[string]*Key // beyond four owners
}

// of returns the owner's key, whose ciphers open() may make: the caller
// holds it only while o lives.
func (o *ownerKeys) of(owner []byte, keyOf func(string) (Key, error)) (*Key, error) {
	for i := 0; i < o.n; i++ {
		if bytes.Equal(o.owners[i], owner) {
			return &o.keys[i], nil
		}
	}
	if k, ok := o.more[string(owner)]; ok {
		return k, nil
	}
	k, err := keyOf(string(owner))
	if err != nil {
		return nil, fmt.Errorf("key of %s: %w", owner, err)
	}
	if o.n < len(o.owners) {
		o.owners[o.n], o.keys[o.n] = owner, k
		o.n++
		return &o.keys[o.n-1], nil
	}
	if o.more == nil {
		o.more = map[string]*Key{}
	}
	o.more[string(owner)] = &k
	return &k, nil
}

// newChaCha is the cipher of version 2: ChaCha20-Poly1305 (RFC 8439),
// whose set-up copies the key.
func newChaCha(secret []byte) (cipher.AEAD, error) { return chacha20poly1305.New(secret) }

// newAESGCM is the cipher of version 1: AES-256-GCM.
func newAESGCM(secret []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(secret)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
