package app_test

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestStoreUnwritableMidLoad is issue 14's "the store made unwritable
// mid-load", on both backends: clients refreshing rotating tokens as fast
// as they are answered while the store is cut and restored under them get
// 200 or 503 with Retry-After, nothing else (no 500, no refusal of the
// token they last received); each continues from the last token it
// received, which is current after the outage (a commit whose answer was
// lost is covered by the grace window); no session is revoked or added.
func TestStoreUnwritableMidLoad(t *testing.T) {
	for _, variant := range []string{"sqlite locked", "postgres cut off"} {
		t.Run(variant, func(t *testing.T) {
			s, out := outageServer(t, variant, nil)
			s.User(t, "", "alice", "alice-password", true)
			const clients = 4
			tokens := make([]string, clients)
			for i := range tokens {
				r := oauth2SignOn(t, s)
				if r.Status != http.StatusOK {
					t.Fatalf("sign-on: %d %s", r.Status, r.Body)
				}
				tokens[i] = r.JSON(t)["refresh_token"].(string)
			}
			before := sessionCount(t, s)

			// phase is what the clients count: 0 before the cut, 1 while
			// cut, 2 after the restore; ok[p][i] and unavailable[p][i] are
			// client i's answers in phase p.
			var phase atomic.Int32
			var ok, unavailable [3][clients]atomic.Int32
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for i := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for n := 0; n < 5000; n++ { // a bound, far above what the phases need
						select {
						case <-stop:
							return
						default:
						}
						p := phase.Load()
						r := oauth2Refresh(t, s, tokens[i])
						switch r.Status {
						case http.StatusOK:
							tokens[i] = r.JSON(t)["refresh_token"].(string)
							ok[p][i].Add(1)
						case http.StatusServiceUnavailable:
							if n, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || n < 1 {
								t.Errorf("client %d: 503 without Retry-After", i)
							}
							unavailable[p][i].Add(1)
						default:
							t.Errorf("client %d in phase %d: %d %s", i, p, r.Status, r.Body)
							return
						}
					}
				}()
			}
			// waitAll waits, polling with a generous bound, until every
			// client has counted at least n in counter of phase p.
			waitAll := func(what string, counter *[clients]atomic.Int32, n int32) {
				t.Helper()
				deadline := time.Now().Add(60 * time.Second)
				for {
					done := true
					for i := range clients {
						done = done && counter[i].Load() >= n
					}
					if done {
						return
					}
					if time.Now().After(deadline) || t.Failed() {
						close(stop)
						wg.Wait()
						t.Fatalf("waiting for %d %s of every client; the node's log:\n%s", n, what, s.Logs())
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
			waitAll("refreshes before the cut", &ok[0], 3)
			out.cut(t)
			phase.Store(1)
			waitAll("503s while cut", &unavailable[1], 2)
			out.restore(t)
			phase.Store(2)
			waitAll("refreshes after the restore", &ok[2], 3)
			close(stop)
			wg.Wait()
			if t.Failed() {
				t.Log(s.Logs())
			}

			if n := sessionCount(t, s); n.all != before.all || n.revoked != 0 {
				t.Errorf("sessions after the load: %+v, before %+v", n, before)
			}
			// Each client's last token is current: it refreshes once more.
			for i, rt := range tokens {
				if r := oauth2Refresh(t, s, rt); r.Status != http.StatusOK {
					t.Errorf("client %d's last token after the load: %d %s", i, r.Status, r.Body)
				}
			}
		})
	}
}
