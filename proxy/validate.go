package proxy

import (
	"fmt"
	"strings"
	"sync"

	"github.com/tripcheck/tripcheck/check"
	"github.com/tripcheck/tripcheck/internal/ending"
	"github.com/tripcheck/tripcheck/pcap"
	"github.com/tripcheck/tripcheck/wire"
)

// validation feeds both directions of a connection, as they pass, to the
// session checker (package check) and reports its findings as events. The
// profile is given, or the checker detects it from the first request block
// (or, failing that, the first trip block).
type validation struct {
	mu    sync.Mutex
	c     *pconn
	sess  *check.Session
	reads [3]int // reads so far, by wire.Direction: the findings' provenance
}

// maxFindings is how many findings of one connection are reported; the
// close summary counts the rest. The checker keeps no more.
const maxFindings = check.DefaultMaxFindings

func (v *validation) init(c *pconn, p wire.Profile) {
	v.c = c
	v.sess = check.NewSession(check.Options{Profile: p, MaxFindings: maxFindings})
}

// wireDir is the checker's name of a direction.
func wireDir(dir pcap.Direction) wire.Direction {
	if dir == pcap.ClientToServer {
		return wire.Requests
	}
	return wire.Replies
}

// feed takes bytes read from one side.
func (v *validation) feed(dir pcap.Direction, b []byte) {
	v.mu.Lock()
	defer v.mu.Unlock()
	wd := wireDir(dir)
	v.reads[wd]++
	v.sess.Feed(wd, b, v.reads[wd])
	v.report()
}

// closed says a side ended its stream: a FIN (ending.Close) or an RST.
func (v *validation) closed(dir pcap.Direction, how ending.How) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.sess.End(wireDir(dir), how)
	v.report()
}

// finish ends the validation when the connection is over: a side that did
// not end its stream ended when the proxy closed the connection.
func (v *validation) finish() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.sess.Request().How == "" {
		v.sess.End(wire.Requests, ending.Close)
	}
	v.report()
}

// report sends the checker's new findings as events.
func (v *validation) report() {
	for {
		f, ok := v.sess.Next()
		if !ok {
			return
		}
		dir := pcap.ClientToServer
		if f.Dir == wire.Replies {
			dir = pcap.ServerToClient
		}
		text := f.Summary
		if f.Detail != "" {
			text += ": " + f.Detail
		}
		v.c.p.event(Event{Conn: v.c.id, Kind: EventFinding, Dir: dir, Offset: max(f.Offset, 0), Field: f.Field, Err: f.Err, Text: text, Check: f.Check})
	}
}

// summary says what passed, for the close event.
func (v *validation) summary() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	up, down := v.sess.Request(), v.sess.Reply()
	p, note := v.sess.Profile()
	var parts []string
	parts = append(parts, fmt.Sprintf("profile %v (%s)", p, note))
	parts = append(parts, fmt.Sprintf("request %d bytes", up.Bytes))
	reply := fmt.Sprintf("reply %d bytes, %d trips", down.Bytes, down.Trips)
	if down.Ended {
		reply += ", end marker"
	} else {
		reply += ", no end marker"
	}
	parts = append(parts, reply)
	found := len(v.sess.Findings()) + v.sess.Dropped()
	if found == 0 {
		parts = append(parts, "no fault found")
	} else {
		parts = append(parts, fmt.Sprintf("%d faults found", found))
		if v.sess.Dropped() > 0 {
			parts[len(parts)-1] += fmt.Sprintf(" (the first %d shown)", maxFindings)
		}
	}
	return strings.Join(parts, "; ")
}
