package check_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/tripcheck/tripcheck/check"
	"github.com/tripcheck/tripcheck/internal/ending"
	"github.com/tripcheck/tripcheck/internal/qtvectors"
	"github.com/tripcheck/tripcheck/wire"
)

// step is one thing that happens to a session: bytes of a direction from
// a packet, or the end of a direction.
type step struct {
	dir  wire.Direction
	b    []byte
	from int
	end  ending.How
}

func up(b []byte, from int) step            { return step{dir: wire.Requests, b: b, from: from} }
func down(b []byte, from int) step          { return step{dir: wire.Replies, b: b, from: from} }
func upEnd(how ending.How) step             { return step{dir: wire.Requests, end: how} }
func downEnd(how ending.How) step           { return step{dir: wire.Replies, end: how} }
func cat(bs ...[]byte) []byte               { return bytes.Join(bs, nil) }
func put8(b []byte, off int, v byte) []byte { b = bytes.Clone(b); b[off] = v; return b }
func put32(b []byte, off int, v uint32) []byte {
	b = bytes.Clone(b)
	binary.BigEndian.PutUint32(b[off:], v)
	return b
}

// run feeds the steps; split > 0 feeds each piece in pieces of that size.
func run(o check.Options, split int, steps ...step) (*check.Session, []check.Finding) {
	s := check.NewSession(o)
	for _, st := range steps {
		if st.end != "" {
			s.End(st.dir, st.end)
			continue
		}
		n := split
		if n <= 0 {
			n = len(st.b)
		}
		for at := 0; at < len(st.b); at += n {
			s.Feed(st.dir, st.b[at:min(at+n, len(st.b))], st.from)
		}
	}
	var out []check.Finding
	for {
		f, ok := s.Next()
		if !ok {
			return s, out
		}
		out = append(out, f)
	}
}

func vector(t testing.TB, profile, kind, label string) []byte {
	t.Helper()
	v, err := qtvectors.Lookup(profile, kind, label)
	if err != nil {
		t.Fatal(err)
	}
	return v.Bytes
}

// where is a finding without its texts: what the tests compare.
type where struct {
	Check  string
	Offset int64
	Field  string
	Dir    wire.Direction
	From   int
}

func places(fs []check.Finding) []where {
	var out []where
	for _, f := range fs {
		out = append(out, where{f.Check, f.Offset, f.Field, f.Dir, f.From})
	}
	return out
}

// TestSessionRules feeds whole sessions, most of them from broken peers
// (the Qt book's bytes made wrong in one place), and checks each finding's
// rule, offset, field, direction and packet. Each case is also fed one
// byte at a time: the findings are the same in any split.
func TestSessionRules(t *testing.T) {
	req := vector(t, "qt4", "request", "berlin-muenchen-dep")  // 46 bytes
	reply := vector(t, "qt4", "reply", "berlin-muenchen-dep")  // 3 trips of 35 bytes, end at 105
	req5 := vector(t, "qt5", "request", "berlin-muenchen-dep") // 50 bytes
	reply5 := vector(t, "qt5", "reply", "berlin-muenchen-dep") // 3 trips of 39 bytes, end at 117
	trips := reply[:105]
	qt4 := check.Options{Profile: wire.Qt4}
	closeBoth := []step{upEnd(ending.Close), downEnd(ending.Close)}
	cases := []struct {
		name  string
		o     check.Options
		steps []step
		want  []where
	}{
		{"the book's exchange", qt4, append([]step{up(req, 4), down(reply, 6)}, closeBoth...), nil},
		{"the book's exchange in qt5, detected", check.Options{}, append([]step{up(req5, 4), down(reply5, 6)}, closeBoth...), nil},
		{"no end marker, then a close", qt4, []step{up(req, 4), down(trips[:70], 6), down(trips[70:], 7), downEnd(ending.Close)},
			[]where{{check.RuleNoEndMarker, 105, "end", wire.Replies, 7}}},
		{"no end marker, then silence", qt4, []step{up(req, 4), down(trips, 6), downEnd(ending.Silence)},
			[]where{{check.RuleNoEndMarker, 105, "end", wire.Replies, 6}}},
		{"silent server", qt4, []step{up(req, 4), downEnd(ending.Silence)},
			[]where{{check.RuleSilent, check.NoPlace, "", wire.Replies, 0}}},
		{"closed without a reply to a valid request", qt4, []step{up(req, 4), downEnd(ending.Close)},
			[]where{{check.RuleNoEndMarker, 0, "end", wire.Replies, 0}}},
		{"cut inside a trip, then a close", qt4, []step{up(req, 4), down(trips[:50], 6), downEnd(ending.Close)},
			[]where{{check.RuleCutBlock, 50, "trip[1].trainType", wire.Replies, 6}}},
		{"stalled inside a trip", qt4, []step{up(req, 4), down(trips[:50], 6), downEnd(ending.Silence)},
			[]where{{check.RuleCutBlock, 35, "", wire.Replies, 6}}},
		{"size one too many", qt4, []step{up(req, 4), down(cat(put8(reply, 1, 0x22)), 6), downEnd(ending.Close)},
			[]where{{"reply/bytes-left-over", 35, "trip[0].trailing", wire.Replies, 6}, {check.RuleCutBlock, 107, "trip[1].trainType", wire.Replies, 6}}},
		{"bytes after the end marker", qt4, []step{up(req, 4), down(reply, 6), down([]byte("junk"), 8), downEnd(ending.Close)},
			[]where{{check.RuleAfterEnd, 107, "after end", wire.Replies, 8}}},
		{"departure out of range", qt4, []step{up(req, 4), down(put32(reply, 35+2+4, 86400000), 6), downEnd(ending.Close)},
			[]where{{"reply/invalid-time", 41, "trip[1].departure", wire.Replies, 6}}},
		{"qt5 trips to a qt4 request", qt4, []step{up(req, 4), down(reply5, 6), downEnd(ending.Close)},
			[]where{{"reply/corrupt-field", 13, "trip[0].trainType", wire.Replies, 6}, {"reply/corrupt-field", 52, "trip[1].trainType", wire.Replies, 6}, {"reply/corrupt-field", 91, "trip[2].trainType", wire.Replies, 6}}},
		{"reset after the end marker", qt4, []step{up(req, 4), down(reply, 6), upEnd(ending.Close), downEnd(ending.Reset)},
			[]where{{check.RuleResetAfterReply, check.NoPlace, "", wire.Replies, 0}}},
		{"open after the end marker", qt4, []step{up(req, 4), down(reply, 6), downEnd(ending.Silence)},
			[]where{{check.RuleOpenAfterReply, check.NoPlace, "", wire.Replies, 0}}},
		{"bad flag, answered", qt4, []step{up(put8(req, 45, 'Z'), 4), down(reply, 6)},
			[]where{{"request/bad-flag", 45, "request[0].flag", wire.Requests, 4}, {check.RuleAnsweredBad, 0, "", wire.Replies, 6}}},
		{"bad flag, refused", qt4, []step{up(put8(req, 45, 'Z'), 4), downEnd(ending.Close)},
			[]where{{"request/bad-flag", 45, "request[0].flag", wire.Requests, 4}}},
		{"request time out of range", qt4, []step{up(put32(req, 41, 0xFFFFFFFE), 4)},
			[]where{{"request/invalid-time", 41, "request[0].time", wire.Requests, 4}}},
		{"type not S", qt4, []step{up(put8(req, 2, 'Q'), 4)},
			[]where{{"request/type-not-s", 2, "request[0].type", wire.Requests, 4}}},
		{"request cut short, answered", qt4, []step{up(req[:10], 4), upEnd(ending.Close), down(reply, 6)},
			[]where{{check.RuleRequestCut, 10, "request[0].from", wire.Requests, 4}, {check.RuleToCutRequest, 0, "", wire.Replies, 6}}},
		{"request cut short, refused", qt4, []step{up(req[:10], 4), upEnd(ending.Close), downEnd(ending.Close)},
			[]where{{check.RuleRequestCut, 10, "request[0].from", wire.Requests, 4}}},
		{"no request, answered", qt4, []step{upEnd(ending.Close), down(reply, 6)},
			[]where{{check.RuleRequestCut, 0, "request[0].size", wire.Requests, 0}, {check.RuleToCutRequest, 0, "", wire.Replies, 6}}},
		{"two requests", qt4, []step{up(req, 4), up(req, 5), down(reply, 6)},
			[]where{{check.RuleAfterRequest, 46, "request[1]", wire.Requests, 5}}},
		{"request size 0xFFFF", qt4, []step{up([]byte{0xff, 0xff, 'S'}, 4)},
			[]where{{check.RuleSizeFFFF, 0, "request[0].size", wire.Requests, 4}}},
		{"request with a byte left over", qt4, []step{up(cat(put8(req, 1, 0x2d), []byte{0}), 4), down(reply, 6)},
			[]where{{"request/bytes-left-over", 46, "request[0].trailing", wire.Requests, 4}, {check.RuleAnsweredBad, 0, "", wire.Replies, 6}}},
		{"past the budget", check.Options{Profile: wire.Qt4, Budget: 100}, []step{up(req, 4), down(trips, 6), down(trips, 7)},
			[]where{{check.RuleBudget, 100, "", wire.Replies, 6}}},
		{"stopped at the reader's budget", qt4, []step{up(req, 4), down(trips, 6), downEnd(ending.Budget)},
			[]where{{check.RuleBudget, check.DefaultBudget, "", wire.Replies, 6}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, split := range []int{0, 1, 7} {
				_, got := run(c.o, split, c.steps...)
				if g := places(got); fmt.Sprint(g) != fmt.Sprint(c.want) {
					t.Errorf("split %d:\n got %v\nwant %v", split, g, c.want)
				}
				for _, f := range got {
					r, ok := f.Requirement()
					if !ok || r.Sentence == "" || f.Level() == 0 || f.Summary == "" {
						t.Errorf("finding %s has no requirement, level or summary in the catalog", f.Check)
					}
				}
			}
		})
	}
}

// TestSessionViews checks what a session says of each direction.
func TestSessionViews(t *testing.T) {
	req := vector(t, "qt5", "request", "berlin-muenchen-dep")
	reply := vector(t, "qt5", "reply", "berlin-muenchen-dep")
	var offsets []int64
	s, fs := run(check.Options{OnTrip: func(i int, off int64, tr *wire.Trip) { offsets = append(offsets, off) }}, 3,
		up(req, 1), down(reply, 2), down([]byte{1, 2, 3}, 3), upEnd(ending.Close), downEnd(ending.Close))
	if p, note := s.Profile(); p != wire.Qt5 || note != "detected from the request" {
		t.Errorf("profile %v (%s), want qt5 detected from the request", p, note)
	}
	if r, ok := s.FirstRequest(); !ok || r.From.String() != "Berlin" {
		t.Errorf("first request %v %v", r.String(), ok)
	}
	v := s.Reply()
	if v.Trips != 3 || !v.Ended || v.EndOffset != 117 || v.After != 3 || v.Bytes != 122 || v.How != ending.Close {
		t.Errorf("reply view %+v", v)
	}
	if fmt.Sprint(offsets) != "[0 39 78]" {
		t.Errorf("trip offsets %v", offsets)
	}
	if len(fs) != 1 || fs[0].Check != check.RuleAfterEnd {
		t.Errorf("findings %v", fs)
	}
	if u := s.Request(); u.RequestEnd != 50 || u.After != 0 || u.Fault != nil {
		t.Errorf("request view %+v", u)
	}
}

// TestSessionBounded feeds a peer that never stops: the findings are
// capped and counted, and what is decoded stops at the budget.
func TestSessionBounded(t *testing.T) {
	trip, err := wire.Encoder{Profile: wire.Qt4, AllowIllegalWrites: true, Trailing: []byte{0}}.AppendTrip(nil, &wire.Trip{Date: wire.DateOf(2026, 1, 1), Departure: wire.TimeMS(0), TrainType: wire.Str("ICE")})
	if err != nil {
		t.Fatal(err)
	}
	s := check.NewSession(check.Options{Profile: wire.Qt4})
	s.Feed(wire.Requests, vector(t, "qt4", "request", "berlin-muenchen-dep"), 1)
	for i := 0; i < 100000; i++ {
		s.Feed(wire.Replies, trip, i+2)
	}
	n := 0
	for {
		if _, ok := s.Next(); !ok {
			break
		}
		n++
	}
	// Every trip inside the budget has a byte left over; the budget is one
	// more.
	made := check.DefaultBudget/len(trip) + 1
	if n != check.DefaultMaxFindings || s.Dropped() != made-check.DefaultMaxFindings {
		t.Errorf("%d findings returned, %d dropped; want %d and %d", n, s.Dropped(), check.DefaultMaxFindings, made-check.DefaultMaxFindings)
	}
	if v := s.Reply(); !v.OverBudget || v.Bytes != int64(100000*len(trip)) {
		t.Errorf("reply view %+v", v)
	}
	allocs := testing.AllocsPerRun(10, func() { s.Feed(wire.Replies, trip, 7) })
	if allocs != 0 {
		t.Errorf("%v allocations per Feed past the budget, want 0", allocs)
	}
}

// TestCatalog checks the catalog: IDs are unique, every rule has a
// summary, and every rule that names a requirement names one that exists
// (a rule only a scenario finds names none); At makes a rule's finding
// with its summary and refuses an ID it does not have.
func TestCatalog(t *testing.T) {
	seen := map[string]bool{}
	suiteOnly := 0
	for _, r := range check.Rules() {
		if seen[r.ID] {
			t.Errorf("rule %s twice", r.ID)
		}
		seen[r.ID] = true
		if r.Summary == "" || r.Summary != strings.TrimSpace(r.Summary) {
			t.Errorf("rule %s: summary %q", r.ID, r.Summary)
		}
		if !strings.Contains(r.ID, "/") || check.Area(r.ID) == "" {
			t.Errorf("rule %s: ID is not <area>/<fault>", r.ID)
		}
		if r.Requirement == "" {
			suiteOnly++
			f := check.At(r.ID, check.NoPlace, "")
			if _, ok := f.Requirement(); ok || f.Level() != 0 {
				t.Errorf("rule %s names no requirement, but its finding has one (level %v)", r.ID, f.Level())
			}
			continue
		}
		if q, ok := check.RequirementOf(r.Requirement); !ok || q.Level == 0 || q.Sentence == "" {
			t.Errorf("rule %s: requirement %q", r.ID, r.Requirement)
		}
		f := check.At(r.ID, 7, "x")
		if f.Check != r.ID || f.Summary != r.Summary || f.Offset != 7 || f.Field != "x" {
			t.Errorf("At(%s) = %+v", r.ID, f)
		}
		if q, _ := f.Requirement(); q.ID != r.Requirement {
			t.Errorf("rule %s: finding's requirement %q, want %q", r.ID, q.ID, r.Requirement)
		}
	}
	if suiteOnly == 0 || suiteOnly == len(seen) {
		t.Errorf("%d of %d rules name no requirement", suiteOnly, len(seen))
	}
	defer func() {
		if recover() == nil {
			t.Error("At with an unknown ID did not panic")
		}
	}()
	check.At("reply/no-such-rule", 0, "")
}

// TestEndingRules: a scenario that does not accept how a connection ended
// reports "conn/ending-<how>", so every ending has its rule.
func TestEndingRules(t *testing.T) {
	for _, how := range []ending.How{ending.Close, ending.Reset, ending.Silence, ending.Error, ending.Budget} {
		r, ok := check.RuleOf("conn/ending-" + string(how))
		if !ok || !strings.Contains(r.Summary, string(how)) {
			t.Errorf("ending %s: rule %+v, %v", how, r, ok)
		}
	}
}
