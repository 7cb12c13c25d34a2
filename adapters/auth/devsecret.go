package auth

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

const (
	devSecretFile = "dev-token-secret"
	devSecretSize = 32 // HS256 wants a key at least as long as its hash
)

// loadOrCreateSecret reads the development signing secret of dataDir, or
// writes a fresh one. The file is written to a temporary name and renamed so
// that a crash never leaves a truncated secret behind.
func loadOrCreateSecret(dataDir string) ([]byte, error) {
	path := filepath.Join(dataDir, devSecretFile)
	secret, err := os.ReadFile(path)
	switch {
	case err == nil:
		if len(secret) < devSecretSize {
			return nil, fmt.Errorf("auth: %s holds %d bytes, want at least %d; delete it to generate a new one", path, len(secret), devSecretSize)
		}
		return secret, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("auth: read dev token secret: %w", err)
	}

	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("auth: create data directory: %w", err)
	}
	secret = make([]byte, devSecretSize)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("auth: generate dev token secret: %w", err)
	}
	if err := writeFileAtomic(path, secret); err != nil {
		return nil, fmt.Errorf("auth: write dev token secret: %w", err)
	}
	return secret, nil
}

func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	// CreateTemp opens with mode 0600, so the secret is never readable by others.
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o600); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	// Sync the directory so the rename itself survives a crash.
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
