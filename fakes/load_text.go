package fakes

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// WriteText prints the run for people: requests and rate, answers, latency
// percentiles, errors by kind with a sample each, and with slow set the slow
// connections' fate.
func (r *LoadResult) WriteText(w io.Writer, slow bool) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.3fms", float64(d)/float64(time.Millisecond)) }
	fmt.Fprintf(w, "requests  %d in %v: %.0f requests/s\n", r.Requests, r.Elapsed.Round(time.Millisecond), r.RequestsPerSecond())
	fmt.Fprintf(w, "answers   %d (%d trips)\n", r.OK, r.Trips)
	l := r.Latency
	fmt.Fprintf(w, "latency   p50 %s  p90 %s  p99 %s  max %s\n", ms(l.P50), ms(l.P90), ms(l.P99), ms(l.Max))
	if len(r.Errors) == 0 {
		fmt.Fprintln(w, "errors    none")
	} else {
		kinds := make([]string, 0, len(r.Errors))
		for k := range r.Errors {
			kinds = append(kinds, k)
		}
		slices.Sort(kinds)
		parts := make([]string, len(kinds))
		for i, k := range kinds {
			parts[i] = fmt.Sprintf("%s %d", k, r.Errors[k])
		}
		fmt.Fprintf(w, "errors    %s\n", strings.Join(parts, ", "))
		for _, k := range kinds {
			fmt.Fprintf(w, "  %s: %s\n", k, r.ErrorSamples[k])
		}
	}
	if slow {
		fmt.Fprintf(w, "slow      %d held, %d closed by the server during the run, %d could not be opened\n",
			r.SlowOpened, r.SlowClosed, r.SlowErrors)
	}
}
