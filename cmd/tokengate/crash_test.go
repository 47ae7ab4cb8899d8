package main

// TestCrash, on SQLite and on PostgreSQL, kills the server with SIGKILL in the middle of a rotating
// refresh load, again and again, and restarts it on the same address and
// data directory each time. What it proves after every kill and restart:
//
//   - every session is at its old or its new generation: the store holds
//     the generation of the last token its client received, or the next
//     one only if that client had a refresh in flight when the server
//     died (committed, its answer lost); never revoked, never further;
//   - every client continues from the last token it received: refreshing
//     with it answers the next generation, whether the store was at it
//     (rotate) or one past it (the grace retry, which hands out the lost
//     successor again); and the one before, within the grace window,
//     yields that same successor byte for byte, never a second one;
//   - no successor was handed out that was not stored: a token a client
//     received is never unknown to the restarted server;
//   - no fork: no generation of a session was ever answered with two
//     different tokens, generations advance by one, and at the end a token
//     two generations old is refused as reuse and ends its family.
//
// The kill comes once every client has had crashLeastAcks refreshes
// acknowledged in the cycle, counted, not timed, while all of them keep
// refreshing. The grace window is set far above any restart time, so the
// outcome never depends on the machine's speed. TOKENGATE_CRASH_CYCLES and
// TOKENGATE_CRASH_CLIENTS change the cycle and client counts.

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/store/postgres/pgtest"
)

const (
	crashDefaultCycles  = 20
	crashDefaultClients = 6
	// crashLeastAcks is how many refreshes each client has answered in a
	// cycle before the kill.
	crashLeastAcks = 3
)

// envCount reads a positive count from the test's environment.
func envCount(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive count", name, v)
	}
	return n
}

// crashClient is one refreshing client: its session and the refresh
// tokens it received.
type crashClient struct {
	id   int
	sid  string
	gen  int64            // generation of the last token received
	seen map[int64]string // every refresh token received, by generation
	// inflight: when the server died, a refresh with the last token was
	// sent and no answer came.
	inflight bool
	acks     atomic.Int64 // refreshes answered in this cycle
}

func (c *crashClient) cur() string { return c.seen[c.gen] }

// rtClaims reads a refresh token's session and generation.
func rtClaims(rt string) (sid string, gen int64, err error) {
	parts := strings.Split(rt, ".")
	if len(parts) != 3 {
		return "", 0, errors.New("refresh token is not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", 0, err
	}
	var c struct {
		Sid string `json:"sid"`
		Gen int64  `json:"gen"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return "", 0, err
	}
	return c.Sid, c.Gen, nil
}

// crashTally is what the run counts.
type crashTally struct {
	mu        sync.Mutex
	acks      []int64 // per cycle: refreshes answered before the kill
	inflight  int     // refreshes in flight at a kill
	committed int     // of which the store had committed (answered again by grace)
	lost      int     // chains lost: a client's last token not continued
	forks     int     // a generation answered with two tokens, or skipped
}

func (ty *crashTally) fork(t *testing.T, format string, args ...any) {
	t.Helper()
	ty.mu.Lock()
	ty.forks++
	ty.mu.Unlock()
	t.Errorf("fork: "+format, args...)
}

func (ty *crashTally) chainLost(t *testing.T, format string, args ...any) {
	t.Helper()
	ty.lost++
	t.Errorf("chain lost: "+format, args...)
}

// accept records a refresh answer of client c: the next generation of its
// session, and a token for that generation that no answer contradicts.
func (c *crashClient) accept(rt string) error {
	sid, gen, err := rtClaims(rt)
	if err != nil {
		return fmt.Errorf("client %d: answer's refresh token: %v", c.id, err)
	}
	switch {
	case sid != c.sid:
		return fmt.Errorf("client %d: answer for session %s, want %s", c.id, sid, c.sid)
	case gen != c.gen+1:
		return fmt.Errorf("client %d: answer at generation %d after %d", c.id, gen, c.gen)
	}
	if old, ok := c.seen[gen]; ok && old != rt {
		return fmt.Errorf("client %d: generation %d answered with two different tokens", c.id, gen)
	}
	c.seen[gen] = rt
	c.gen = gen
	return nil
}

// refreshOnce presents rt. A transport error (the server is gone, or the
// answer was cut off) is err; an answer is its status and body.
func refreshOnce(hc *http.Client, base, rt string) (int, []byte, error) {
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {"tokengate"}, "refresh_token": {rt}}
	resp, err := hc.PostForm(base+"/oauth2/token", form)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, b, nil
}

func refreshTokenOf(body []byte) string {
	var a struct {
		RefreshToken string `json:"refresh_token"`
	}
	_ = json.Unmarshal(body, &a)
	return a.RefreshToken
}

// load refreshes c in a loop until the server dies. A transport error
// before killed is set, or any refusal, is the error returned.
func (c *crashClient) load(hc *http.Client, base string, killed *atomic.Bool, progress chan<- struct{}, ty *crashTally) error {
	for {
		status, body, err := refreshOnce(hc, base, c.cur())
		if err != nil {
			if killed.Load() {
				c.inflight = true
				return nil
			}
			return fmt.Errorf("client %d: refresh before the kill: %v", c.id, err)
		}
		if status != http.StatusOK {
			return fmt.Errorf("client %d: refresh at generation %d: %d %s", c.id, c.gen, status, body)
		}
		if err := c.accept(refreshTokenOf(body)); err != nil {
			ty.mu.Lock()
			ty.forks++
			ty.mu.Unlock()
			return err
		}
		c.acks.Add(1)
		select {
		case progress <- struct{}{}:
		default:
		}
	}
}

type sessionRow struct {
	ID         string    `json:"id"`
	Generation int64     `json:"generation"`
	Revoked    time.Time `json:"revoked_at"`
	Reason     string    `json:"revoke_reason"`
}

// storedSessions reads the sessions from the data directory while no
// server runs, with the CLI.
func storedSessions(t *testing.T, bin, dir string, db []string) map[string]sessionRow {
	t.Helper()
	var rows []sessionRow
	if err := json.Unmarshal([]byte(mustCLI(t, bin, dir, "", append([]string{"session", "list", "--all", "--json"}, db...)...)), &rows); err != nil {
		t.Fatalf("session list --json: %v", err)
	}
	m := make(map[string]sessionRow, len(rows))
	for _, r := range rows {
		m[r.ID] = r
	}
	return m
}

func TestCrash(t *testing.T) {
	bin := buildTokengate(t)
	t.Run("sqlite", func(t *testing.T) { testCrash(t, bin, nil) })
	t.Run("postgres", func(t *testing.T) { testCrash(t, bin, []string{"--db", pgtest.URL(t)}) })
}

// testCrash runs the kill -9 cycles on the store db names (the data
// directory's SQLite file when empty).
func testCrash(t *testing.T, bin string, db []string) {
	cycles := envCount(t, "TOKENGATE_CRASH_CYCLES", crashDefaultCycles)
	nclients := envCount(t, "TOKENGATE_CRASH_CLIENTS", crashDefaultClients)
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := filepath.Join(t.TempDir(), "tokengate.yaml")
	// The grace window outlasts any restart, so that a client whose answer
	// the kill swallowed is answered again however slow the machine is.
	conf := "refresh:\n  grace_window: 30m\npassword:\n  memory_kib: 8192\n  iterations: 1\nlog:\n  access: errors\n"
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	start := func() *gateway {
		args := append([]string{"serve", "--data", dir, "--listen", addr, "--config", cfg}, db...)
		return startServe(t, bin, "http://"+addr, args, "TOKENGATE_ADMIN_PASSWORD="+serveAdminPassword)
	}

	g := start()
	mustCLI(t, bin, dir, serveBobPassword+"\n", append([]string{"user", "add", "bob", "--password-stdin", "--refresh-enabled"}, db...)...)
	clients := make([]*crashClient, nclients)
	for i := range clients {
		p := g.password("bob", serveBobPassword)
		if p.status != http.StatusOK {
			t.Fatalf("password grant: %d %s", p.status, p.raw)
		}
		rt := p.str("refresh_token")
		sid, gen, err := rtClaims(rt)
		if err != nil {
			t.Fatal(err)
		}
		clients[i] = &crashClient{id: i, sid: sid, gen: gen, seen: map[int64]string{gen: rt}}
	}

	var ty crashTally
	for cycle := 1; cycle <= cycles; cycle++ {
		if cycle > 1 {
			g = start()
			continueAfterRestart(t, g, clients, &ty)
			if t.Failed() {
				break
			}
		}
		ty.acks = append(ty.acks, crashCycle(t, g, clients, &ty))
		if t.Failed() {
			break
		}
		checkStored(t, storedSessions(t, bin, dir, db), clients, &ty)
		if t.Failed() {
			break
		}
	}

	if !t.Failed() {
		// After the last kill: continue once more, then show that the old
		// generations are not live beside the new: a token two generations
		// old is reuse, and it ends the family.
		g = start()
		continueAfterRestart(t, g, clients, &ty)
		for _, c := range clients {
			if t.Failed() {
				break
			}
			if r := g.refresh(c.cur()); r.status != http.StatusOK {
				ty.chainLost(t, "client %d: refresh at generation %d: %d %s", c.id, c.gen, r.status, r.raw)
				break
			} else if err := c.accept(r.str("refresh_token")); err != nil {
				ty.fork(t, "%v", err)
				break
			}
			if r := g.refresh(c.seen[c.gen-2]); r.status != http.StatusBadRequest || !strings.Contains(r.str("error_description"), "reused") {
				ty.fork(t, "client %d: generation %d while the session is at %d: %d %s; want reuse", c.id, c.gen-2, c.gen, r.status, r.raw)
			}
			if r := g.refresh(c.cur()); r.status != http.StatusBadRequest || !strings.Contains(r.str("error_description"), "revoked") {
				ty.fork(t, "client %d: the newest token after a reuse: %d %s; want revoked", c.id, r.status, r.raw)
			}
		}
	}

	var total int64
	least, most := int64(-1), int64(0)
	for _, n := range ty.acks {
		total += n
		if least < 0 || n < least {
			least = n
		}
		most = max(most, n)
	}
	t.Logf("crash figures: cycles %d, sessions %d, refreshes acknowledged before each kill %d..%d (total %d), "+
		"in flight at a kill %d (committed, answered again by grace %d; not committed %d), chains lost %d, forks %d",
		len(ty.acks), nclients, least, most, total, ty.inflight, ty.committed, ty.inflight-ty.committed, ty.lost, ty.forks)
	if len(ty.acks) != cycles {
		t.Errorf("ran %d of %d cycles", len(ty.acks), cycles)
	}
}

// crashCycle runs the load on g until every client has crashLeastAcks
// answers, kills g with SIGKILL while the clients keep refreshing, and
// returns how many refreshes were answered before the kill.
func crashCycle(t *testing.T, g *gateway, clients []*crashClient, ty *crashTally) int64 {
	t.Helper()
	// A transport of its own per cycle: no connection survives a kill.
	tr := &http.Transport{MaxIdleConnsPerHost: len(clients)}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: hangBound}
	var killed atomic.Bool
	progress := make(chan struct{}, 1)
	errc := make(chan error, len(clients))
	var wg sync.WaitGroup
	for _, c := range clients {
		c.inflight = false
		c.acks.Store(0)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.load(hc, g.URL, &killed, progress, ty); err != nil {
				errc <- err
			}
		}()
	}
	enough := func() bool {
		for _, c := range clients {
			if c.acks.Load() < crashLeastAcks {
				return false
			}
		}
		return true
	}
	deadline := time.After(hangBound)
wait:
	for !enough() {
		select {
		case <-progress:
		case err := <-errc:
			errc <- err
			break wait
		case <-deadline:
			t.Errorf("clients did not reach %d refreshes each within %s", crashLeastAcks, hangBound)
			break wait
		}
	}
	killed.Store(true)
	g.kill()
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	var acks int64
	for _, c := range clients {
		acks += c.acks.Load()
		if c.inflight {
			ty.inflight++
		}
	}
	return acks
}

// checkStored checks the store after a kill: each session at its client's
// last generation, or the next one if that client's refresh was in flight.
func checkStored(t *testing.T, stored map[string]sessionRow, clients []*crashClient, ty *crashTally) {
	t.Helper()
	for _, c := range clients {
		s, ok := stored[c.sid]
		switch {
		case !ok:
			ty.chainLost(t, "client %d: session %s is not in the store", c.id, c.sid)
		case !s.Revoked.IsZero():
			ty.chainLost(t, "client %d: session revoked (%s) by the crash", c.id, s.Reason)
		case s.Generation == c.gen:
		case s.Generation == c.gen+1 && c.inflight:
			ty.committed++
		default:
			ty.fork(t, "client %d: stored generation %d, the client holds %d (in flight: %t)", c.id, s.Generation, c.gen, c.inflight)
		}
	}
}

// continueAfterRestart has every client refresh with the last token it
// received, which must answer the next generation, and then present the
// token before it, which within the grace window must answer that same
// token again: one successor, never two.
func continueAfterRestart(t *testing.T, g *gateway, clients []*crashClient, ty *crashTally) {
	t.Helper()
	for _, c := range clients {
		r := g.refresh(c.cur())
		if r.status != http.StatusOK {
			ty.chainLost(t, "client %d: its last token (generation %d) after the restart: %d %s", c.id, c.gen, r.status, r.raw)
			return
		}
		if err := c.accept(r.str("refresh_token")); err != nil {
			ty.fork(t, "%v", err)
			return
		}
		again := g.refresh(c.seen[c.gen-1])
		if again.status != http.StatusOK {
			ty.chainLost(t, "client %d: the token before its newest, within grace: %d %s", c.id, again.status, again.raw)
			return
		}
		if again.str("refresh_token") != c.cur() {
			ty.fork(t, "client %d: the grace retry answered another successor than generation %d's", c.id, c.gen)
		}
	}
}
