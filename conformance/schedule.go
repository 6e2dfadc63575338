package conformance

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tripcheck/tripcheck/shape"
	"github.com/tripcheck/tripcheck/wire"
)

// runOrder is the order in which a run starts the scenarios: the longest
// expected first, so that the others run beside the longest and the run
// takes about as long as its slowest scenario (longest processing time
// first: with the long ones started last, a run ends one long scenario
// after the others instead of with them). A scenario's expected time is
// expectedTime's estimate; among scenarios it gives no time (the client
// suite's, and the server suite's short ones), those that name the longest
// wait come first, then those that make many connections or paced writes,
// then the other time-dependent ones, then the rest, each in catalog order.
func runOrder(scs []Scenario) []int {
	est := make([]time.Duration, len(scs))
	order := make([]int, len(scs))
	for i := range scs {
		est[i] = expectedTime(&scs[i])
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		i, j := order[a], order[b]
		x, y := &scs[i], &scs[j]
		switch {
		case est[i] != est[j]:
			return est[i] > est[j]
		case x.Wait != y.Wait:
			return x.Wait > y.Wait
		}
		if hx, hy := reHeavy.Match(x.Script), reHeavy.Match(y.Script); hx != hy {
			return hx
		}
		return x.Timed && !y.Timed
	})
	return order
}

// slots is how many of the scenarios of indices a run lets run at once:
// parallel (at least 1), and one more for each scenario that mostly waits
// with its connections idle (isWaiter: the stall windows, the 1.2 s pauses,
// the byte drip). Those start first (runOrder) and take their own slots, so
// that the others, --parallel at a time, run beside them instead of behind
// them; a waiter costs the server an idle connection, not work.
func slots(parallel int, scs []Scenario, indices []int) int {
	n := max(parallel, 1)
	for _, i := range indices {
		if isWaiter(&scs[i]) {
			n++
		}
	}
	return n
}

// isWaiter says whether sc mostly waits: at least waiterWait of waiting,
// and its work under a quarter of that.
func isWaiter(sc *Scenario) bool {
	wait, work := estimate(sc)
	return wait >= waiterWait && work < wait/4
}

// waiterWait is the least wait that makes a scenario a waiter.
const waiterWait = 500 * time.Millisecond

// reHeavy finds the commands that make many connections or many paced
// writes: after the longest waits, these scenarios take longest.
var reHeavy = regexp.MustCompile(`(?m)^\s*(random-splits|each-offset|clients|sweep|golden-set|sequential|hold)\b|-shape bytes-1|-variant \$VARIANT|-variant fragmented`)

// The cost model of expectedTime: what a correct server on an idle 2-core
// machine makes each step of a script take. Only the order of scenarios
// depends on it, never a verdict.
const (
	// costExchange is one request and its reply on a new connection, both
	// ends included (lifecycle/sequential-1000: 0.3 s of CPU for 1000).
	costExchange = 400 * time.Microsecond
	// costPiece is one paced piece of a shaped write: the shape writer's
	// pause and the wake-up after it.
	costPiece = shape.DefaultPause + 100*time.Microsecond
	// fragmentedPiece is the mean size of the fragmented variant's
	// pieces (random pieces of 1 to 7 bytes).
	fragmentedPiece = 4
	// probeAfter is how long still-serves waits before its second probe
	// when -after is not given.
	probeAfter = 300 * time.Millisecond
	// defaultWindow is the step timeout a noreply without -within waits.
	defaultWindow = 2 * time.Second
)

// defaultRequestSize is the size of the default request in the qt4
// profile: the request a shaped send cuts unless the script changes its
// fields.
var defaultRequestSize = func() int {
	r := DefaultRequest()
	b, err := wire.Encoder{Profile: wire.Qt4}.AppendRequest(nil, &r)
	if err != nil {
		panic(err)
	}
	return len(b)
}()

// expectedTime estimates how long sc takes against a correct server on an
// idle machine, from the server suite's commands in its script: the waits
// a correct server makes it wait out in full (a noreply window that
// accepts silence, still-serves' second probe), the pauses between the
// pieces of shaped writes, and the exchanges of the commands that make
// many connections. Windows that a correct server ends at once (a noreply
// that accepts only a close, a reply's deadline) count nothing; commands
// it does not know (the client suite's) count nothing.
func expectedTime(sc *Scenario) time.Duration {
	wait, work := estimate(sc)
	return wait + work
}

// estimate is expectedTime in two parts: wait, the time sc spends waiting
// with its connections idle (silence windows, still-serves' pause, the
// delays of shapes beyond the writer's own pause), and work, the time its
// exchanges and paced pieces take.
func estimate(sc *Scenario) (wait, work time.Duration) {
	for _, line := range strings.Split(string(sc.Script), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "-- ") {
			break // the script's files begin: no more commands
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		words := strings.Fields(line)
		fl := scriptFlags(words[1:])
		n := func(def int) int {
			if v, err := strconv.Atoi(fl["n"]); err == nil && v > 0 {
				return v
			}
			return def
		}
		dur := func(name string, def time.Duration) time.Duration {
			if d, err := time.ParseDuration(fl[name]); err == nil && d > 0 {
				return d
			}
			return def
		}
		size := requestSize(words[1:])
		switch words[0] {
		case "noreply":
			if a, ok := fl["accept"]; !ok || strings.Contains(a, "silence") {
				wait += dur("within", defaultWindow)
			}
		case "still-serves":
			wait += dur("after", probeAfter)
		case "send", "sendhex", "send-edge":
			if s, ok := fl["shape"]; ok {
				sh, err := shape.Parse(s)
				if err != nil {
					continue
				}
				pieces, _ := sh.Pieces(size)
				cuts := time.Duration(max(len(pieces)-1, 0))
				if sh.Delay > costPiece {
					wait += cuts * sh.Delay
				} else {
					work += cuts * costPiece
				}
			} else if v, ok := fl["variant"]; ok && (v == "fragmented" || v == "$VARIANT" && sc.Variant == "fragmented") {
				work += time.Duration(size/fragmentedPiece) * costPiece
			}
		case "sequential":
			if _, empty := fl["empty"]; empty {
				work += time.Duration(n(1000)) * costExchange / 2
				wait += probeAfter
			} else {
				work += time.Duration(n(1000)) * costExchange
			}
		case "hold", "clients":
			work += time.Duration(n(500)) * costExchange
		case "golden-set":
			// Several at a time, fragmented in about 16 pieces each.
			k := n(200)
			work += time.Duration(k) * costExchange / 2
			if v := fl["variant"]; v == "fragmented" || v == "$VARIANT" && sc.Variant == "fragmented" {
				lanes := goldenLanes("fragmented")
				work += time.Duration((k+lanes-1)/lanes) * 16 * costPiece
			}
		case "random-splits":
			// Eight at a time, in pieces of 1 to 7 bytes.
			k := n(1)
			work += time.Duration(k)*costExchange + time.Duration((k+7)/8*(size/fragmentedPiece))*costPiece
		case "each-offset":
			// A connection per offset of the request.
			work += time.Duration(size) * costExchange
		}
	}
	return wait, work
}

// requestSize is the size of the request a command line's field=value
// words make of the default request, in the qt4 profile (from=@fill: the
// largest request); the default request's size when they make none.
func requestSize(words []string) int {
	var fields []string
	for _, w := range words {
		if strings.HasSuffix(w, "=@fill") {
			return largestPayload + 2
		}
		if k, _, ok := strings.Cut(w, "="); ok && k != "" && !strings.HasPrefix(w, "-") {
			fields = append(fields, w)
		}
	}
	r := DefaultRequest()
	if ParseRequestFields(&r, fields) != nil {
		return defaultRequestSize
	}
	b, err := wire.Encoder{Profile: wire.Qt4, AllowIllegalWrites: true}.AppendRequest(nil, &r)
	if err != nil {
		return defaultRequestSize
	}
	return len(b)
}

// scriptFlags is the flags of a command line's words, by name without the
// dash: "-within 1s" and "-within=1s" give within=1s; a flag followed by
// nothing or by another flag is there with the value "". (A boolean flag
// takes the next word as its value: only its presence is read.)
func scriptFlags(words []string) map[string]string {
	fl := map[string]string{}
	for i := 0; i < len(words); i++ {
		w := words[i]
		if len(w) < 2 || w[0] != '-' {
			continue
		}
		name, val, ok := strings.Cut(strings.TrimLeft(w, "-"), "=")
		if !ok && i+1 < len(words) && !strings.HasPrefix(words[i+1], "-") {
			val = words[i+1]
			i++
		}
		fl[name] = val
	}
	return fl
}
