package engine

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
)

// hasher computes argon2id password hashes in a bounded pool of workers.
// Password sign-on is deliberately slow; bounding how many hashes run at
// once keeps a flood of sign-ons from starving refreshes of CPU.
type hasher struct {
	slots chan struct{}
	// waiting counts the callers queued for a slot (the pool's queue
	// length in /metrics; len(slots) is its busy workers).
	waiting    atomic.Int64
	memoryKiB  uint32
	iterations uint32
	rand       io.Reader
	// dummy is a hash verified for unknown users, so that an unknown name
	// costs the same time as a wrong password.
	dummy string
}

func newHasher(workers int, memoryKiB, iterations uint32, rand io.Reader) (*hasher, error) {
	h := &hasher{slots: make(chan struct{}, workers), memoryKiB: memoryKiB, iterations: iterations, rand: rand}
	var salt [16]byte
	if _, err := io.ReadFull(rand, salt[:]); err != nil {
		return nil, err
	}
	h.dummy = h.encode(salt[:], h.derive([]byte("tokengate-dummy"), salt[:], memoryKiB, iterations))
	return h, nil
}

// derive computes an argon2id key at low thread priority (lowPriority):
// sign-ons are deliberately slow and must yield the CPU to refreshes.
func (h *hasher) derive(password, salt []byte, memoryKiB, iterations uint32) []byte {
	var key []byte
	lowPriority(func() { key = argon2.IDKey(password, salt, iterations, memoryKiB, 1, 32) })
	return key
}

func (h *hasher) encode(salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=1$%s$%s", argon2.Version, h.memoryKiB, h.iterations, b64.EncodeToString(salt), b64.EncodeToString(key))
}

func (h *hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	default:
	}
	h.waiting.Add(1)
	defer h.waiting.Add(-1)
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return refused(ErrBusy, "waiting for a password-hashing worker: "+ctx.Err().Error())
	}
}

func (h *hasher) release() { <-h.slots }

// Hash returns the PHC string of password.
func (h *hasher) Hash(ctx context.Context, password string) (string, error) {
	var salt [16]byte
	if _, err := io.ReadFull(h.rand, salt[:]); err != nil {
		return "", err
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return h.encode(salt[:], h.derive([]byte(password), salt[:], h.memoryKiB, h.iterations)), nil
}

// Verify reports whether password matches encoded. An empty encoded hash
// (a user without a password) is checked against a dummy so the time spent
// does not reveal it.
func (h *hasher) Verify(ctx context.Context, password, encoded string) (bool, error) {
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	return h.verifyHeld(password, encoded)
}

// verifyHeld is Verify for a caller that holds a worker slot (acquire):
// password sign-on holds it from the throttle check to the failure's
// record, so that concurrent guesses can't all pass one check.
func (h *hasher) verifyHeld(password, encoded string) (bool, error) {
	if encoded == "" {
		encoded = h.dummy
		password = "\x00" + password // never matches the dummy's input
	}
	salt, key, m, t, err := parsePHC(encoded)
	if err != nil {
		return false, err
	}
	got := h.derive([]byte(password), salt, m, t)
	return subtle.ConstantTimeCompare(got, key) == 1 && encoded != h.dummy, nil
}

func parsePHC(s string) (salt, key []byte, m, t uint32, err error) {
	parts := strings.Split(s, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[1] != "argon2id" {
		return nil, nil, 0, 0, errors.New("password hash: not an argon2id PHC string")
	}
	var v int
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return nil, nil, 0, 0, errors.New("password hash: unsupported version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || p != 1 {
		return nil, nil, 0, 0, errors.New("password hash: bad parameters")
	}
	b64 := base64.RawStdEncoding
	if salt, err = b64.DecodeString(parts[4]); err != nil {
		return nil, nil, 0, 0, errors.New("password hash: bad salt")
	}
	if key, err = b64.DecodeString(parts[5]); err != nil {
		return nil, nil, 0, 0, errors.New("password hash: bad key")
	}
	return salt, key, m, t, nil
}
