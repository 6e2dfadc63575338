package conformance

import (
	"fmt"
	"net"
	"strings"
	"unicode/utf8"

	"github.com/tripcheck/tripcheck/internal/script"
	"github.com/tripcheck/tripcheck/wire"
)

// Feedback tells the person at a client, in listen mode, what a scenario
// served and what a correct client shows now, so that they can judge it
// then and not from the final report.
type Feedback struct {
	ID     string // the scenario
	Served string // what tripcheck sent: "7 trips in qt4 (247 bytes), one write per block, then close"
	Expect string // what a correct client shows: "a list of 7 trips and no error"
	Next   string // the scenario the next search gets, "" after the last
	// Skipped says why the scenario skipped after the search came, before
	// a reply; Served is then "nothing".
	Skipped string
}

func (f Feedback) String() string {
	s := fmt.Sprintf("scenario %s served %s: your client should show %s now", f.ID, f.Served, f.Expect)
	if f.Skipped != "" {
		s = fmt.Sprintf("scenario %s skipped (%s) and served nothing: your client should show %s now", f.ID, f.Skipped, f.Expect)
	}
	if f.Next != "" {
		s += fmt.Sprintf("; the next search (a second press of Search too) gets scenario %s", f.Next)
	}
	return s
}

// tell gives the person the feedback of a served reply, in listen mode.
func (s *clientScript) tell(rep *servedReply, spec serveSpec) {
	su := s.suite
	if !su.listen() || su.feedback == nil {
		return
	}
	f := Feedback{ID: s.sc.ID, Served: rep.what, Expect: expectation(rep, spec), Next: su.next(s.sc.ID)}
	su.feedback(f)
}

// tellSkip gives the person the feedback of a scenario that skipped after
// their search came and before any reply: the connection closes.
func (s *clientScript) tellSkip(why string) {
	su := s.suite
	if !su.listen() || su.feedback == nil || s.cur == nil || s.cur.conn == nil || s.cur.reply != nil {
		return
	}
	su.feedback(Feedback{ID: s.sc.ID, Served: "nothing", Skipped: why,
		Expect: "an error (the connection closed without a reply)", Next: su.next(s.sc.ID)})
}

// next is the scenario after id in the run, or "".
func (su *clientSuite) next(id string) string {
	n := su.index[id] + 1
	for other, i := range su.index {
		if i == n {
			return other
		}
	}
	return ""
}

// expectation says what a correct client shows after a reply.
func expectation(rep *servedReply, spec serveSpec) string {
	n := len(rep.trips)
	switch {
	case spec.stall:
		return "an error, once it gives up waiting, and no trip"
	case spec.otherProfile:
		return fmt.Sprintf("an error, or the %d trips as sent", n)
	case rep.complete:
		return fmt.Sprintf("a list of %d trips and no error", n)
	}
	return "an error and no trip (never a part of the answer)"
}

// shortText is a name for a prompt: quoted, @null for the null string, and
// a long one shortened with its length.
func shortText(s wire.String) string {
	if s.IsNull() {
		return "@null"
	}
	t := s.String()
	if n := utf8.RuneCountInString(t); n > 24 {
		r := []rune(t)
		return fmt.Sprintf("%q… (%d characters)", string(r[:12]), n)
	}
	return fmt.Sprintf("%q", t)
}

// shortSearch is the search of a prompt, short, null written @null
// throughout.
func shortSearch(r *wire.Request) string {
	return fmt.Sprintf("from %s to %s on %v at %v, flag %c", shortText(r.From), shortText(r.To), r.Date, r.Time, r.Flag)
}

// sameSearch requires, in listen mode, that the search made is the one the
// scenario asked for: a request check of another search would pass without
// testing what it is about, so it skips, saying which fields differ.
func sameSearch(logf func(string, ...any), r *clientRun) error {
	a, d := &r.asked, &r.decoded
	var diff []string
	if !a.From.Equal(d.From) {
		diff = append(diff, fmt.Sprintf("from %s, not %s", shortText(d.From), shortText(a.From)))
	}
	if !a.To.Equal(d.To) {
		diff = append(diff, fmt.Sprintf("to %s, not %s", shortText(d.To), shortText(a.To)))
	}
	if a.Date != d.Date {
		diff = append(diff, fmt.Sprintf("date %v, not %v", d.Date, a.Date))
	}
	if a.Time != d.Time {
		diff = append(diff, fmt.Sprintf("time %v, not %v", d.Time, a.Time))
	}
	if a.Flag != d.Flag {
		diff = append(diff, fmt.Sprintf("flag %c, not %c", d.Flag, a.Flag))
	}
	if len(diff) > 0 {
		return script.Skip("the search made is not the one asked (" + strings.Join(diff, "; ") + "): this check needs that search")
	}
	logf("the search made is the one asked: %s", shortSearch(a))
	return nil
}

// execListener is where a client run in exec mode connects: the fixed
// listener if there is one, else a new one on a free port.
func (su *clientSuite) execListener() (net.Listener, error) {
	if su.ln != nil {
		return su.ln, nil
	}
	return net.Listen("tcp", "127.0.0.1:0")
}
