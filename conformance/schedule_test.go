package conformance

import (
	"slices"
	"testing"
	"time"
)

func TestExpectedTime(t *testing.T) {
	for _, tc := range []struct {
		name, script, variant string
		want                  time.Duration
	}{
		{"stall window", "# r\nsend -prefix 20\nalive\nnoreply -within 1500ms\n", "", 1500 * time.Millisecond},
		{"refusal ends at once", "# r\nsend type=X\nnoreply -within 1s -accept close,reset\n", "", 0},
		{"silence accepted", "# r\nnoreply -within=700ms -accept silence,close\n", "", 700 * time.Millisecond},
		{"noreply's default window", "# r\nnoreply\n", "", defaultWindow},
		{"one paced pause", "# r\nsend -shape split-at-20+delay-1200ms\nreply\n", "", 1200 * time.Millisecond},
		{"two paced pauses", "# r\nsend -shape split-at-2,20+delay-100ms\nreply\n", "", 200 * time.Millisecond},
		{"byte drip", "# r\nsend -shape bytes-1+delay-20ms\n", "", time.Duration(defaultRequestSize-1) * 20 * time.Millisecond},
		{"still-serves", "# r\nstill-serves\n", "", probeAfter},
		{"still-serves -after", "# r\nstill-serves -after 1s\n", "", time.Second},
		{"fragmented variant", "# r\nsend -variant $VARIANT\n", "fragmented", time.Duration(defaultRequestSize/fragmentedPiece) * costPiece},
		{"whole variant", "# r\nsend -variant $VARIANT\n", "whole", 0},
		{"longer names, more pieces", "# r\nsend -variant fragmented from=@repeat(x,100)\n", "", time.Duration((defaultRequestSize+200-12)/fragmentedPiece) * costPiece},
		{"sequential", "# r\nsequential -n 1000\n", "", 1000 * costExchange},
		{"comments and files", "# r\n# noreply -within 9s\n-- f --\nnoreply -within 9s\n", "", 0},
		{"client commands", "# r\nserve -stall\nsearch\noutput -trips 3\n", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := Scenario{Script: []byte(tc.script), Variant: tc.variant}
			if got := expectedTime(&sc); got != tc.want {
				t.Errorf("expectedTime = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestRunOrder pins the server suite's order where it sets the run's wall
// time: the scenarios that wait longest (the stall windows, then the 1.2 s
// pauses, then the byte drip) start first, in the first round of 8 slots,
// ahead of every scenario that waits less; and the client suite, which the
// estimate does not know, keeps the order of the waits it names, then
// heavy, then timed.
func TestRunOrder(t *testing.T) {
	server, err := ServerScenarios(&ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, i := range runOrder(server) {
		ids = append(ids, server[i].ID)
	}
	first := []string{"bad/stall-65534", "truncate/stall", "slow/pause-1200ms", "slow/pause-after-size", "slow/byte-drip"}
	if !slices.Equal(ids[:len(first)], first) {
		t.Errorf("the server suite starts with %q, want %q", ids[:len(first)], first)
	}
	client, err := ClientScenarios(&ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	order := runOrder(client)
	for k := 1; k < len(order); k++ {
		x, y := &client[order[k-1]], &client[order[k]]
		if expectedTime(x) != 0 || expectedTime(y) != 0 {
			t.Fatalf("client scenario %s or %s has an expected time", x.ID, y.ID)
		}
		if x.Wait < y.Wait {
			t.Errorf("client scenario %s (wait %v) before %s (wait %v)", x.ID, x.Wait, y.ID, y.Wait)
		}
	}
}

// TestSlots pins which scenarios of the server suite take a slot of their
// own: those that wait a second or so on an idle connection, not those
// that work (1 000 connections, a golden set) nor those whose window a
// correct server ends at once (the refusals).
func TestSlots(t *testing.T) {
	server, err := ServerScenarios(&ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var waiters, all []int
	for i := range server {
		all = append(all, i)
		if isWaiter(&server[i]) {
			waiters = append(waiters, i)
		}
	}
	var ids []string
	for _, i := range waiters {
		ids = append(ids, server[i].ID)
	}
	want := []string{"bad/stall-65534", "framing/non-bmp-split", "slow/byte-drip", "slow/pause-1200ms", "slow/pause-after-size", "truncate/stall"}
	if !slices.Equal(ids, want) {
		t.Errorf("waiters %q, want %q", ids, want)
	}
	if got := slots(8, server, all); got != 8+len(want) {
		t.Errorf("slots(8, the server suite) = %d, want %d", got, 8+len(want))
	}
	if got := slots(0, server, nil); got != 1 {
		t.Errorf("slots(0, none) = %d, want 1", got)
	}
	client, err := ClientScenarios(&ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	all = all[:0]
	for i := range client {
		all = append(all, i)
	}
	if got := slots(8, client, all); got != 8 {
		t.Errorf("slots(8, the client suite) = %d, want 8", got)
	}
}
