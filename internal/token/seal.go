package token

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// MasterKeySize is the length in bytes of the master key.
const MasterKeySize = 32

// MasterKeyFile is the name of the master key file inside the data directory.
const MasterKeyFile = "master.key"

// sealLabel is the HKDF info of the key that seals private keys, so that the
// raw master key is never used directly as a cipher key and other uses of
// DeriveKey can never collide with sealing.
const sealLabel = "tokengate/seal/v1"

// LoadOrCreateMasterKey returns the master key that seals signing keys at
// rest.
//
// A non-empty envValue (the value of TOKENGATE_MASTER_KEY) must encode
// exactly 32 bytes as base64 (standard or URL alphabet, padded or not) or
// hex. Otherwise the key is read from dataDir/master.key, a base64 text
// file; when that file does not exist it is created with 32 random bytes and
// mode 0600 (and dataDir with mode 0700), and created is true. A key file
// that group or others may read is refused: anyone who reads it can unseal
// every signing key.
func LoadOrCreateMasterKey(envValue, dataDir string) (key []byte, created bool, err error) {
	if envValue != "" {
		key, err := parseMasterKey(envValue)
		if err != nil {
			return nil, false, fmt.Errorf("token: TOKENGATE_MASTER_KEY: %w", err)
		}
		return key, false, nil
	}
	if dataDir == "" {
		return nil, false, errors.New("token: no master key: set TOKENGATE_MASTER_KEY or a data directory")
	}
	path := filepath.Join(dataDir, MasterKeyFile)
	key, err = readMasterKeyFile(path)
	if err == nil {
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	key, err = createMasterKeyFile(dataDir, path)
	if errors.Is(err, fs.ErrExist) {
		// Another process created the file between our read and create.
		key, err = readMasterKeyFile(path)
		return key, false, err
	}
	if err != nil {
		return nil, false, err
	}
	return key, true, nil
}

// parseMasterKey decodes a 32-byte key written as hex or base64. Its errors
// never quote the input.
func parseMasterKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	hb, herr := hex.DecodeString(s)
	if herr == nil && len(hb) == MasterKeySize {
		return hb, nil
	}
	var bb []byte
	berr := errors.New("not base64")
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		if bb, berr = enc.DecodeString(s); berr == nil {
			break
		}
	}
	switch {
	case berr == nil && len(bb) == MasterKeySize:
		return bb, nil
	case herr == nil:
		return nil, fmt.Errorf("master key is hex of %d bytes, want %d", len(hb), MasterKeySize)
	case berr == nil:
		return nil, fmt.Errorf("master key is base64 of %d bytes, want %d", len(bb), MasterKeySize)
	}
	return nil, fmt.Errorf("master key is neither base64 nor hex of %d bytes", MasterKeySize)
}

func readMasterKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("token: master key: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("token: master key: %w", err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("token: master key file %s has mode %04o: it must not be accessible by group or others (chmod 600 it)",
			path, fi.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return nil, fmt.Errorf("token: master key file %s: %w", path, err)
	}
	key, err := parseMasterKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("token: master key file %s: %w", path, err)
	}
	return key, nil
}

func createMasterKeyFile(dataDir, path string) ([]byte, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("token: master key: %w", err)
	}
	key := make([]byte, MasterKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("token: master key: %w", err)
	}
	// O_EXCL: never overwrite a key that may already seal signing keys.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("token: master key: %w", err)
	}
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("token: master key: writing %s: %w", path, err)
	}
	return key, nil
}

// Sealer encrypts small secrets at rest with AES-256-GCM under a key derived
// from the master key. It is safe for concurrent use.
type Sealer struct {
	master []byte
	aead   cipher.AEAD
}

// NewSealer returns a Sealer for a 32-byte master key.
func NewSealer(masterKey []byte) (*Sealer, error) {
	if len(masterKey) != MasterKeySize {
		return nil, fmt.Errorf("token: master key is %d bytes, want %d", len(masterKey), MasterKeySize)
	}
	s := &Sealer{master: append([]byte(nil), masterKey...)}
	block, err := aes.NewCipher(s.DeriveKey(sealLabel))
	if err != nil {
		return nil, fmt.Errorf("token: sealer: %w", err)
	}
	if s.aead, err = cipher.NewGCM(block); err != nil {
		return nil, fmt.Errorf("token: sealer: %w", err)
	}
	return s, nil
}

// Seal encrypts plaintext and authenticates it together with
// additionalData. The result is a random nonce followed by the ciphertext.
func (s *Sealer) Seal(plaintext, additionalData []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	out := make([]byte, ns, ns+len(plaintext)+s.aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, fmt.Errorf("token: seal: %w", err)
	}
	return s.aead.Seal(out, out[:ns], plaintext, additionalData), nil
}

// ErrUnseal is Open's error for a blob sealed under another master key, or
// altered.
var ErrUnseal = errors.New("token: open: authentication failed (wrong master key or tampered data)")

// Open decrypts a blob made by Seal with the same additionalData. It fails
// when the blob was altered, sealed under another master key, or sealed
// with other additional data.
func (s *Sealer) Open(sealed, additionalData []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < ns+s.aead.Overhead() {
		return nil, errors.New("token: open: sealed data too short")
	}
	pt, err := s.aead.Open(nil, sealed[:ns], sealed[ns:], additionalData)
	if err != nil {
		return nil, ErrUnseal
	}
	return pt, nil
}

// DeriveKey returns a 32-byte key derived from the master key with
// HKDF-SHA256 (RFC 5869), using label as the info parameter. Distinct labels
// give independent keys.
func (s *Sealer) DeriveKey(label string) []byte {
	k, err := hkdf.Key(sha256.New, s.master, nil, label, 32)
	if err != nil {
		// Only a length above 255*32 bytes can fail.
		panic("token: hkdf: " + err.Error())
	}
	return k
}
