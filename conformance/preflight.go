package conformance

import (
	"github.com/tripcheck/tripcheck/internal/plural"

	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/tripcheck/tripcheck/check"
	"github.com/tripcheck/tripcheck/wire"
)

// PreflightID is the ID of the result a failed preflight adds to a report.
const PreflightID = "preflight"

// preflightRequirement is the sentence the preflight checks.
const preflightRequirement = "The server MUST answer a valid request with trip blocks and the end marker (PROTOCOL.md: Reply)."

// Preflight is the verdict of the probe made before the catalog: one valid
// request (the book's example) on one connection, and what came back.
type Preflight struct {
	// OK says the reply looked like the Trip protocol: its first block came
	// whole and is a trip (in some profile) or the end marker. It says
	// nothing more of the reply; the scenarios check it.
	OK bool `json:"ok"`
	// Verdict says what came back, in a sentence: "127.0.0.1:8080 answered
	// with 'HTTP/1.1 400 Bad Request…': not the Trip protocol".
	Verdict string `json:"verdict"`
	// Finding is the fault when not OK.
	Finding *Finding `json:"finding,omitempty"`
	// refused: the server closed or reset the connection without a byte,
	// as a server that reads the request in another profile may.
	refused bool
	// Log is what the probe sent and saw, with the bytes that came (a hex
	// window of the first).
	Log        string        `json:"log,omitempty"`
	Duration   time.Duration `json:"-"`
	DurationMS float64       `json:"duration_ms"`
}

// Result is the preflight as a failed result of the run, for the reports.
func (pf *Preflight) Result(keepGoing bool) Result {
	msg := pf.Verdict
	if !keepGoing {
		msg += " (the scenarios did not run; --keep-going runs them anyway)"
	}
	r := Result{
		ID:          PreflightID,
		Area:        PreflightID,
		Level:       Must,
		Requirement: preflightRequirement,
		Status:      Fail,
		Required:    true,
		Message:     msg,
		Log:         pf.Log,
		Duration:    pf.Duration,
		DurationMS:  pf.DurationMS,
	}
	if pf.Finding != nil {
		r.Findings = []Finding{*pf.Finding}
	}
	return r
}

// preflightMax is the most the preflight reads: one block of the largest
// size, with its size field.
const preflightMax = 2 + 0xFFFE

// runPreflight sends the book's example request in profile p to target and
// reads until the first block is whole, the stream ends, timeout passes, or
// preflightMax bytes have come. The error is for what is the user's to fix
// (a name that does not resolve, a refused connection); a server that
// resets, stays silent or answers something else gets a verdict.
//
// With p 0 (--profile auto) it asks in qt4, the book's profile, and, if the
// server refuses that request without a byte (a strict qt5 server does),
// again in qt5.
func runPreflight(ctx context.Context, target string, p wire.Profile, timeout time.Duration) (*Preflight, error) {
	if p != 0 {
		return preflightOnce(ctx, target, p, timeout)
	}
	pf, err := preflightOnce(ctx, target, wire.Qt4, timeout)
	if err != nil || pf.OK || !pf.refused {
		return pf, err
	}
	pf5, err := preflightOnce(ctx, target, wire.Qt5, timeout)
	if err != nil || pf5.OK {
		return pf5, err
	}
	pf.Verdict += "; in qt5 too"
	pf.Log += pf5.Log
	pf.Duration += pf5.Duration
	pf.DurationMS += pf5.DurationMS
	return pf, nil
}

// preflightOnce is the preflight in profile p.
func preflightOnce(ctx context.Context, target string, p wire.Profile, timeout time.Duration) (*Preflight, error) {
	start := time.Now()
	deadline := start.Add(timeout)
	pf := &Preflight{}
	var log strings.Builder
	defer func() {
		pf.Duration = time.Since(start)
		pf.DurationMS = float64(pf.Duration.Microseconds()) / 1000
		pf.Log = log.String()
	}()
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var dialer net.Dialer
	c, err := dialer.DialContext(dctx, "tcp", target)
	if err != nil {
		if ctx.Err() == nil && classify(err) == EndReset {
			pf.fail(peerFinding("conn/reset"),
				"%s reset the connection as it was made", target)
			return pf, nil
		}
		return nil, fmt.Errorf("cannot connect to %s: %v", target, err)
	}
	defer c.Close()
	req := DefaultRequest()
	b, err := wire.Encoder{Profile: p}.AppendRequest(nil, &req)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(&log, "> %d bytes: %x (%s, %v)\n", len(b), b, req.String(), p)
	c.SetWriteDeadline(deadline)
	if _, err := c.Write(b); err != nil {
		how := classify(err)
		if how == EndReset {
			pf.fail(peerFinding("conn/reset"),
				"%s reset the connection before the request was sent", target)
		} else {
			pf.fail(peerFinding("conn/write-failed"),
				"%s did not take the request: %v", target, err)
		}
		return pf, nil
	}
	got, how, rerr := readFirstBlock(c, deadline)
	switch {
	case how == "":
		fmt.Fprintf(&log, "< %d bytes, the first block whole:\n%s", len(got), HexWindow(got, 0))
	case len(got) > 0:
		fmt.Fprintf(&log, "< %d bytes, then %s:\n%s", len(got), how, HexWindow(got, 0))
	default:
		fmt.Fprintf(&log, "< nothing, then %s\n", how)
	}
	pf.judge(target, got, how, rerr, timeout)
	return pf, nil
}

// readFirstBlock reads from c until the bytes hold a whole first block, the
// stream ends, or deadline passes; preflightMax bytes at most. how is
// "" when the block came whole.
func readFirstBlock(c net.Conn, deadline time.Time) ([]byte, Ending, error) {
	got := make([]byte, 0, 4096)
	buf := make([]byte, 16<<10)
	for {
		if size, ok := wire.Announced(got); ok && len(got) >= wire.BlockLen(size) {
			return got, "", nil
		}
		c.SetReadDeadline(deadline)
		n, err := c.Read(buf[:min(len(buf), preflightMax-len(got))])
		got = append(got, buf[:n]...)
		if err != nil {
			return got, classify(err), err
		}
	}
}

func (pf *Preflight) fail(f Finding, format string, args ...any) {
	pf.OK = false
	pf.Finding = &f
	pf.Verdict = fmt.Sprintf(format, args...)
}

// judge gives the verdict on what came back.
func (pf *Preflight) judge(target string, got []byte, how Ending, err error, timeout time.Duration) {
	if len(got) == 0 {
		switch how {
		case EndSilence:
			pf.fail(peerFinding("conn/silent"),
				"%s sent nothing within %v of a valid request: no reply", target, timeout)
		case EndClose:
			pf.refused = true
			pf.fail(peerFinding("conn/closed"),
				"%s closed the connection without a reply to a valid request", target)
		case EndReset:
			pf.refused = true
			pf.fail(peerFinding("conn/reset"),
				"%s reset the connection without a reply to a valid request", target)
		default:
			pf.fail(peerFinding("conn/read-failed"),
				"%s: reading the reply failed: %v", target, err)
		}
		return
	}
	size, _ := wire.Announced(got)
	if how == "" {
		// The first block came whole.
		if size == wire.EndMarker {
			pf.OK, pf.Verdict = true, fmt.Sprintf("%s answered with the end marker (no trips)", target)
			return
		}
		if p, ok := wire.LooksLikeTrip(got[2:wire.BlockLen(size)]); ok {
			pf.OK, pf.Verdict = true, fmt.Sprintf("%s answered with a trip block (%v layout)", target, p)
			return
		}
	}
	notTrip := check.At("reply/not-trip", 0, "")
	switch {
	case isText(got):
		pf.fail(notTrip, "%s answered with %s: not the Trip protocol", target, quoteBytes(got))
		return
	case how == "":
		pf.fail(notTrip, "%s answered with %s: the block at offset 0 announces %d bytes, which are no trip in qt4 or qt5: not the Trip protocol",
			target, quoteBytes(got), size)
		return
	}
	cut := fmt.Sprintf("the block at offset 0 announces %d bytes; %d of them came", size, len(got)-2)
	if len(got) < 2 {
		cut = "1 of the 2 bytes of the first block's size came"
	}
	if how == EndSilence {
		pf.fail(check.At("reply/stalled", int64(len(got)), ""),
			"%s answered with %s and stalled: %s within %v, no whole block", target, quoteBytes(got), cut, timeout)
		return
	}
	pf.fail(check.At("reply/cut", int64(len(got)), ""),
		"%s answered with %s, then the stream ended (%s): %s, no whole block", target, quoteBytes(got), how, cut)
}

// isText reports whether b reads as text: printable ASCII, tabs and line
// ends, as a line-based protocol (HTTP, SMTP, a shell) answers.
func isText(b []byte) bool {
	b = b[:min(len(b), 256)]
	for _, c := range b {
		if (c < 0x20 || c > 0x7e) && c != '\r' && c != '\n' && c != '\t' {
			return false
		}
	}
	return len(b) > 0
}

// quoteBytes shows the start of b: the first line quoted for text ("'HTTP/1.1
// 400 Bad Request…'"), else the first bytes in hex ("5 bytes (ff fe 00 00
// 53)").
func quoteBytes(b []byte) string {
	if isText(b) {
		line, _, _ := strings.Cut(string(b), "\n")
		line = strings.TrimRight(line, "\r")
		more := len(line) < len(b)
		if len(line) > 60 {
			line, more = line[:60], true
		}
		if more {
			line += "…"
		}
		return "'" + line + "'"
	}
	n := min(len(b), 8)
	hex := fmt.Sprintf("% x", b[:n])
	if n < len(b) {
		hex += " …"
	}
	return fmt.Sprintf("%s (%s)", plural.Count(len(b), "byte", "bytes"), hex)
}
