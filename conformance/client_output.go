package conformance

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/tripcheck/tripcheck/check"
	"github.com/tripcheck/tripcheck/contract"
	"github.com/tripcheck/tripcheck/wire"
)

// printedLines splits a client's stdout into lines (contract.Lines).
func printedLines(b []byte) []string { return contract.Lines(b) }

// showLines shows printed lines for a report (contract.Show).
func showLines(lines []string) string { return contract.Show(lines) }

// outputFinding is the finding of a broken rule of the exec contract's
// output: its Check is "output/<rule>", and a wrong line names its trip.
func outputFinding(v *contract.Violation) Finding {
	if v.Rule == contract.WrongTrip {
		return check.At(v.Rule.Check(), noPlace, fmt.Sprintf("trip[%d]", v.Trip))
	}
	return peerFinding(v.Rule.Check())
}

// checkSuccess requires the printed answer of a complete reply
// (contract.CheckAnswer). reply, if not nil, shows the bytes of the trip a
// wrong line stands for.
func checkSuccess(lines []string, code int, want []wire.Trip, reply *servedReply) error {
	v := contract.CheckAnswer(lines, code, want)
	if v == nil {
		return nil
	}
	msg := v.Msg
	if i := v.Trip; v.Rule == contract.WrongTrip && i < len(want) && reply != nil && i < len(reply.tripAt) {
		off := reply.tripAt[i]
		msg += fmt.Sprintf("\n    trip[%d] as sent, at byte %d of the reply (%v):\n%s", i, off, reply.profile, strings.TrimRight(HexWindow(reply.bytes, off), "\n"))
	}
	return fault(outputFinding(v), "%s", msg)
}

// checkFailure requires the printed result of a failed search
// (contract.CheckFailed): whole are the trips sent, in order, whose blocks
// went out entire.
func checkFailure(lines []string, code int, what string, whole []wire.Trip) error {
	if v := contract.CheckFailed(lines, code, what, whole); v != nil {
		return fault(outputFinding(v), "%s", v.Msg)
	}
	return nil
}

// hexSnippet shows at most n bytes of b in hex.
func hexSnippet(b []byte, n int) string {
	if len(b) <= n {
		return fmt.Sprintf("%x", b)
	}
	return fmt.Sprintf("%x… (%d bytes)", b[:n], len(b))
}

// cleanReason makes a peer's text safe for a one-line log.
func cleanReason(b []byte) string {
	return strconv.Quote(string(bytes.TrimSpace(b)))
}
