package token

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestSealerRoundTrip(t *testing.T) {
	s := testSealer(t)
	tests := []struct {
		name      string
		plaintext []byte
		ad        []byte
	}{
		{"empty", nil, nil},
		{"short", []byte("a secret"), []byte("kid1")},
		{"pkcs8 sized", bytes.Repeat([]byte{0xA5}, 1218), []byte("some-key-id")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed, err := s.Seal(tt.plaintext, tt.ad)
			if err != nil {
				t.Fatal(err)
			}
			if len(tt.plaintext) > 0 && bytes.Contains(sealed, tt.plaintext) {
				t.Fatal("sealed data contains the plaintext")
			}
			again, _ := s.Seal(tt.plaintext, tt.ad)
			if bytes.Equal(sealed, again) {
				t.Fatal("two seals of the same plaintext are equal: nonce not random")
			}
			got, err := s.Open(sealed, tt.ad)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.plaintext) {
				t.Fatalf("Open = %x, want %x", got, tt.plaintext)
			}
		})
	}
}

func TestSealerRejectsTampering(t *testing.T) {
	s := testSealer(t)
	secret := []byte("private key bytes")
	sealed, err := s.Seal(secret, []byte("kid-a"))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 1
		return b
	}
	other, err := NewSealer(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		sealer *Sealer
		sealed []byte
		ad     []byte
	}{
		{"nonce flipped", s, flip(0), []byte("kid-a")},
		{"ciphertext flipped", s, flip(14), []byte("kid-a")},
		{"tag flipped", s, flip(len(sealed) - 1), []byte("kid-a")},
		{"truncated", s, sealed[:len(sealed)-1], []byte("kid-a")},
		{"too short", s, sealed[:5], []byte("kid-a")},
		{"other key id", s, sealed, []byte("kid-b")},
		{"other master key", other, sealed, []byte("kid-a")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.sealer.Open(tt.sealed, tt.ad)
			if err == nil {
				t.Fatalf("Open succeeded: %q", got)
			}
			if strings.Contains(err.Error(), string(secret)) {
				t.Fatalf("error leaks the plaintext: %v", err)
			}
		})
	}
}

func TestNewSealerKeySize(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := NewSealer(make([]byte, n)); err == nil {
			t.Errorf("NewSealer(%d bytes) succeeded", n)
		}
	}
}

func TestDeriveKey(t *testing.T) {
	s := testSealer(t)
	a, b := s.DeriveKey("csrf"), s.DeriveKey("cookie")
	if len(a) != 32 || len(b) != 32 {
		t.Fatalf("lengths %d, %d; want 32", len(a), len(b))
	}
	if bytes.Equal(a, b) {
		t.Fatal("distinct labels derive the same key")
	}
	if !bytes.Equal(a, s.DeriveKey("csrf")) {
		t.Fatal("DeriveKey is not deterministic")
	}
	if bytes.Equal(a, testMasterKey) || bytes.Equal(s.DeriveKey(sealLabel), testMasterKey) {
		t.Fatal("derived key equals the master key")
	}
}

func TestMasterKeyFromEnv(t *testing.T) {
	key := bytes.Repeat([]byte{0xFB, 0xEF, 0x01}, 11)[:32]
	tests := []struct {
		name    string
		env     string
		wantErr string
	}{
		{"hex", hex.EncodeToString(key), ""},
		{"hex upper", strings.ToUpper(hex.EncodeToString(key)), ""},
		{"base64 std padded", base64.StdEncoding.EncodeToString(key), ""},
		{"base64 std raw", base64.RawStdEncoding.EncodeToString(key), ""},
		{"base64 url padded", base64.URLEncoding.EncodeToString(key), ""},
		{"base64 url raw", base64.RawURLEncoding.EncodeToString(key), ""},
		{"surrounding whitespace", " " + base64.StdEncoding.EncodeToString(key) + "\n", ""},
		{"too short", base64.StdEncoding.EncodeToString(key[:31]), "31 bytes"},
		{"too long", hex.EncodeToString(append(bytes.Clone(key), 0)), "33 bytes"},
		{"not encoded", "correct horse battery staple!!", "neither base64 nor hex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			got, created, err := LoadOrCreateMasterKey(tt.env, dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), strings.TrimSpace(tt.env)) {
					t.Fatalf("error quotes the key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if created || !bytes.Equal(got, key) {
				t.Fatalf("got %x created=%v, want %x from env", got, created, key)
			}
			if _, err := os.Stat(filepath.Join(dir, MasterKeyFile)); !os.IsNotExist(err) {
				t.Fatalf("a key file was written although the env var is set (stat err %v)", err)
			}
		})
	}
}

func TestMasterKeyFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes are not POSIX on Windows")
	}
	t.Run("created then reused", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data", "nested")
		key, created, err := LoadOrCreateMasterKey("", dir)
		if err != nil {
			t.Fatal(err)
		}
		if !created || len(key) != 32 {
			t.Fatalf("created=%v len=%d, want a new 32-byte key", created, len(key))
		}
		fi, err := os.Stat(filepath.Join(dir, MasterKeyFile))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("key file mode %04o, want 0600", fi.Mode().Perm())
		}
		di, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if di.Mode().Perm() != 0o700 {
			t.Errorf("data dir mode %04o, want 0700", di.Mode().Perm())
		}
		again, created, err := LoadOrCreateMasterKey("", dir)
		if err != nil {
			t.Fatal(err)
		}
		if created || !bytes.Equal(again, key) {
			t.Fatalf("second load: created=%v, same key=%v", created, bytes.Equal(again, key))
		}
	})
	bad := []struct {
		name    string
		content string
		mode    os.FileMode
		wantErr string
	}{
		{"group readable", base64.StdEncoding.EncodeToString(testMasterKey), 0o640, "group or others"},
		{"world readable", base64.StdEncoding.EncodeToString(testMasterKey), 0o604, "group or others"},
		{"garbage", "not a key", 0o600, "neither base64 nor hex"},
		{"empty", "", 0o600, "0 bytes"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, MasterKeyFile)
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			_, _, err := LoadOrCreateMasterKey("", dir)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
			}
		})
	}
	t.Run("no data dir", func(t *testing.T) {
		if _, _, err := LoadOrCreateMasterKey("", ""); err == nil {
			t.Fatal("want an error without env var or data dir")
		}
	})
}
