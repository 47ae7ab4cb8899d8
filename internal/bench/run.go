// Package bench is the load generator behind `tokengate bench`: it signs
// on one session per worker, drives a scenario against a gateway from N
// workers for a fixed time, and summarises throughput, latency quantiles,
// errors by status and the server's CPU and memory. It talks to the
// gateway over HTTP only; the accounts and sessions a run needs in the
// data directory are prepared through the engine by the command.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// MaxDuration caps every run, so a forgotten bench stops by itself.
const MaxDuration = 10 * time.Minute

// Worker performs one request at a time. It is used by one goroutine.
type Worker interface {
	// Do sends one request and reports its HTTP status (0 when no response
	// arrived) and, for a failed request, why.
	Do(ctx context.Context) (status int, err error)
}

// Scenario makes the workers of a run; NewWorker prepares whatever the
// worker needs (a session) before timing starts.
type Scenario interface {
	Name() string
	NewWorker(ctx context.Context, id int) (Worker, error)
}

// Options configures a run.
type Options struct {
	Concurrency int
	// Duration ends the run after this long; Requests after that many
	// completed requests in all (pgbench's -T and -t). With both, whichever
	// comes first; with Requests alone the run lasts as long as they take,
	// up to MaxDuration, so its outcome does not depend on speed.
	Duration time.Duration
	Requests uint64
	// Progress, when set, receives a live line (carriage-return updated)
	// every ProgressEvery (default 1s).
	Progress      io.Writer
	ProgressEvery time.Duration
	// Warmup requests are sent by each worker before timing starts.
	Warmup int
	// OnStart and OnStop, when set, are called right before timing starts
	// and right after it ends (to sample the server's CPU time).
	OnStart, OnStop func()
}

// Result is the outcome of a run.
type Result struct {
	Scenario    string
	Concurrency int
	Elapsed     time.Duration
	Requests    uint64 // completed requests, ok or not
	Errors      uint64
	ByStatus    map[int]uint64 // 0: no response
	Latency     Histogram      // every completed request
	FirstErrors []string       // a few distinct error texts, for diagnosis
}

// Throughput is completed requests per second.
func (r *Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

type workerState struct {
	hist     Histogram
	byStatus map[int]uint64
	errs     []string
}

// Run prepares opts.Concurrency workers of sc, then drives them for
// opts.Duration or opts.Requests (at most MaxDuration) or until ctx ends.
func Run(ctx context.Context, sc Scenario, opts Options) (*Result, error) {
	if opts.Concurrency <= 0 {
		return nil, errors.New("bench: concurrency must be positive")
	}
	if opts.Duration < 0 || opts.Duration > MaxDuration || (opts.Duration == 0 && opts.Requests == 0) {
		return nil, fmt.Errorf("bench: want a duration between 0 and %s, or a number of requests", MaxDuration)
	}
	limit := opts.Duration
	if limit == 0 {
		limit = MaxDuration
	}
	workers, err := prepare(ctx, sc, opts.Concurrency)
	if err != nil {
		return nil, err
	}
	for _, w := range workers {
		for range opts.Warmup {
			_, _ = w.Do(ctx)
		}
	}

	runCtx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var done, failed, started atomic.Uint64
	states := make([]*workerState, len(workers))
	var wg sync.WaitGroup
	if opts.OnStart != nil {
		opts.OnStart()
	}
	start := time.Now()
	for i, w := range workers {
		st := &workerState{byStatus: map[int]uint64{}}
		states[i] = st
		wg.Add(1)
		go func() {
			defer wg.Done()
			for runCtx.Err() == nil {
				if opts.Requests > 0 && started.Add(1) > opts.Requests {
					return
				}
				t0 := time.Now()
				status, err := w.Do(runCtx)
				d := time.Since(t0)
				if err != nil && runCtx.Err() != nil {
					return // cut off by the end of the run: not a result
				}
				st.hist.Record(d)
				st.byStatus[status]++
				done.Add(1)
				if err != nil {
					failed.Add(1)
					if len(st.errs) < 3 {
						st.errs = append(st.errs, err.Error())
					}
					if r, ok := w.(Recoverer); ok {
						if err := r.Recover(runCtx); err != nil {
							if runCtx.Err() == nil {
								st.errs = append(st.errs, "worker stopped: "+err.Error())
							}
							return
						}
					}
				}
			}
		}()
	}
	stopProgress := make(chan struct{})
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		if opts.Progress == nil {
			return
		}
		every := opts.ProgressEvery
		if every <= 0 {
			every = time.Second
		}
		t := time.NewTicker(every)
		defer t.Stop()
		var last uint64
		lastAt := start
		for {
			select {
			case <-stopProgress:
				fmt.Fprint(opts.Progress, "\r\033[K")
				return
			case now := <-t.C:
				n := done.Load()
				rate := float64(n-last) / now.Sub(lastAt).Seconds()
				last, lastAt = n, now
				fmt.Fprintf(opts.Progress, "\r\033[K%5.0fs  requests %d  rate %.0f/s  errors %d",
					now.Sub(start).Seconds(), n, rate, failed.Load())
			}
		}
	}()
	wg.Wait()
	elapsed := time.Since(start)
	if opts.OnStop != nil {
		opts.OnStop()
	}
	close(stopProgress)
	<-progressDone

	res := &Result{Scenario: sc.Name(), Concurrency: opts.Concurrency, Elapsed: elapsed, ByStatus: map[int]uint64{}}
	seen := map[string]bool{}
	for _, st := range states {
		res.Latency.Merge(&st.hist)
		for k, v := range st.byStatus {
			res.ByStatus[k] += v
		}
		for _, e := range st.errs {
			if !seen[e] && len(res.FirstErrors) < 5 {
				seen[e] = true
				res.FirstErrors = append(res.FirstErrors, e)
			}
		}
	}
	res.Requests = done.Load()
	res.Errors = failed.Load()
	if err := ctx.Err(); err != nil && res.Requests == 0 {
		return res, err
	}
	return res, nil
}

// prepare makes the workers, a few at a time: preparing usually means a
// password sign-on, which the server runs in a bounded pool anyway.
func prepare(ctx context.Context, sc Scenario, n int) ([]Worker, error) {
	workers := make([]Worker, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			workers[i], errs[i] = sc.NewWorker(ctx, i)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("prepare %s workers: %w", sc.Name(), firstErr(errs))
	}
	return workers, nil
}

func firstErr(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// Statuses returns the status codes of r in ascending order.
func (r *Result) Statuses() []int {
	out := make([]int, 0, len(r.ByStatus))
	for k := range r.ByStatus {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}
