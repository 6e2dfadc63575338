package capture

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/fakes"
	"github.com/tripcheck/tripcheck/pcap"
	"github.com/tripcheck/tripcheck/shape"
	"github.com/tripcheck/tripcheck/wire"
)

// ServeOptions configure Serve.
type ServeOptions struct {
	// Timeout bounds every read and write on a connection (default 30s):
	// the request, each piece of the reply, the wait for the client to
	// close when the captured server kept the connection open.
	Timeout time.Duration
	// Once stops after each session has been served once.
	Once bool
	// Logf, if set, gets one line per connection, and the differences
	// between the request received and the captured one.
	Logf func(format string, args ...any)
}

// Serve plays the server side of captured sessions to whoever
// connects to ln: each connection gets the next session (in turn, round
// and round, or each once with o.Once). It reads the client's request (as
// many bytes as the captured one, or until the client closes), sends the
// captured reply with the captured segmentation, and ends the connection as
// the captured server did: a close, a reset, or kept open until the client
// closes. It returns when ctx is done (nil), after the last session with
// Once (nil), or on an accept error; it closes ln and waits for its
// connections.
func Serve(ctx context.Context, ln net.Listener, sessions []*pcap.Session, o ServeOptions) error {
	if len(sessions) == 0 {
		ln.Close()
		return errors.New("conformance: no session to serve")
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var stopped atomic.Bool
	go func() {
		<-ctx.Done()
		stopped.Store(true)
		ln.Close()
	}()
	var n int
	var err error
	for {
		var c net.Conn
		c, err = ln.Accept()
		if err != nil {
			if stopped.Load() {
				err = nil
			}
			break
		}
		s := sessions[n%len(sessions)]
		n++
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			serveSession(ctx, c, s, i, &o, logf)
		}(n)
		if o.Once && n == len(sessions) {
			break
		}
	}
	wg.Wait()
	cancel()
	return err
}

// serveSession plays one captured server side on c.
func serveSession(ctx context.Context, c net.Conn, s *pcap.Session, n int, o *ServeOptions, logf func(string, ...any)) {
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	p, _ := pcap.SessionProfile(s, 0)
	want := s.Up.Contiguous()
	prefix := fmt.Sprintf("conn %d from %v: session %d", n, c.RemoteAddr(), s.Index)
	// The request: as many bytes as the captured client sent.
	got := make([]byte, 0, len(want))
	buf := make([]byte, 4096)
	c.SetReadDeadline(time.Now().Add(o.Timeout))
	for len(got) < len(want) {
		k, err := c.Read(buf[:min(len(buf), len(want)-len(got))])
		got = append(got, buf[:k]...)
		if err != nil {
			break
		}
	}
	if err := conformance.Compare(want, got, p, wire.Requests); err != nil {
		var m *conformance.Mismatch
		if errors.As(err, &m) {
			head, _, _ := strings.Cut(m.Error(), "\n")
			logf("%s: the request %s (served anyway)", prefix, head)
		}
	}
	// The reply: the captured bytes, cut where the captured segments were,
	// the stream ended as the captured server ended it.
	reply := s.Down.Contiguous()
	rw := fakes.ReplyWriter{Shape: shape.Shape{At: s.Down.Cuts()}, WriteTimeout: o.Timeout}
	end := capturedEnding(s.Down)
	switch end {
	case conformance.EndReset:
		rw.Shape.Then = shape.ThenReset
	case conformance.EndClose:
		rw.Shape.Then = shape.ThenClose
	default:
		rw.Shape.Then = shape.ThenKeepOpen
	}
	if _, err := rw.Write(ctx, c, fakes.RawLayout(p, reply)); err != nil {
		logf("%s: writing the reply: %v", prefix, err)
		return
	}
	if rw.Shape.Then == shape.ThenKeepOpen {
		// The captured server kept the connection open: so do we, until
		// the client closes or the timeout.
		c.SetReadDeadline(time.Now().Add(o.Timeout))
		io.Copy(io.Discard, io.LimitReader(c, keptOpenBudget))
		end = "kept open"
	}
	logf("%s: %d request bytes, sent %d reply bytes in %d pieces, then %s", prefix, len(got), len(reply), len(s.Down.Cuts())+1, end)
}

// keptOpenBudget bounds what a client may send on a connection the
// replayed server keeps open: nothing is expected, and the read ends at
// the timeout in any case.
const keptOpenBudget = 1 << 20
