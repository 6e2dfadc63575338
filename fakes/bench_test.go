package fakes

// Figures for the README. Run them side by side with
//
//	go test -run '^$' -bench . -benchtime 3s ./fakes/
//
// BenchmarkThroughput compares the fake with a bare Go server that only
// reads the request block and writes a fixed reply: requests/s ("req/s")
// at 1, 64 and 512 clients, one request per connection, client and server
// in this process. BenchmarkHold holds 10 000 open connections and reports
// the memory each costs. BenchmarkSlowClients reports the p99 latency of
// requests with 1 000 slow clients present and with none.

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/wire"
)

// bareServer accepts, reads one request block, writes a fixed reply and
// closes: the least a Trip server can do, to compare the fake with.
type bareServer struct {
	ln    net.Listener
	reply []byte
	wg    sync.WaitGroup
}

func newBareServer(tb testing.TB, reply []byte) *bareServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &bareServer{ln: ln, reply: reply}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			s.wg.Add(1)
			go s.serve(c)
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *bareServer) serve(c net.Conn) {
	defer s.wg.Done()
	defer c.Close()
	c.SetDeadline(time.Now().Add(DefaultTimeout))
	var buf [512]byte
	if _, err := io.ReadFull(c, buf[:2]); err != nil {
		return
	}
	n := int(binary.BigEndian.Uint16(buf[:2]))
	if n > len(buf) {
		return
	}
	if _, err := io.ReadFull(c, buf[:n]); err != nil {
		return
	}
	c.Write(s.reply)
}

// BenchmarkThroughput: requests per second of the fake and of the bare
// server, at 1, 64 and 512 concurrent clients.
func BenchmarkThroughput(b *testing.B) {
	reply := vector(b, "qt4", "reply", "berlin-muenchen-dep")
	req := vector(b, "qt4", "request", "berlin-muenchen-dep")
	for _, c := range []int{1, 64, 512} {
		for _, server := range []string{"fake", "bare"} {
			b.Run(server+"/c="+strconv.Itoa(c), func(b *testing.B) {
				var addr string
				if server == "fake" {
					addr = startServer(b).Addr()
				} else {
					addr = newBareServer(b, reply).ln.Addr().String()
				}
				b.SetBytes(int64(len(req) + len(reply)))
				b.ReportAllocs()
				b.ResetTimer()
				res, err := Load(context.Background(), LoadConfig{Addr: addr, Concurrency: c, Requests: b.N, Timeout: netTimeout})
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				if res.OK != b.N {
					b.Fatalf("%d of %d answered; errors %v %v", res.OK, b.N, res.Errors, res.ErrorSamples)
				}
				b.ReportMetric(res.RequestsPerSecond(), "req/s")
				b.ReportMetric(float64(res.Latency.P99)/float64(time.Millisecond), "p99-ms")
			})
		}
	}
}

// raiseFileLimit makes room for n more open files, or says why it cannot.
func raiseFileLimit(n uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Cur >= n {
		return nil
	}
	want := lim
	want.Cur = n
	if want.Max < n {
		want.Max = n // only a privileged process may
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		return errors.New("open files limited to " + strconv.FormatUint(lim.Cur, 10) +
			" (hard " + strconv.FormatUint(lim.Max, 10) + "), " + strconv.FormatUint(n, 10) + " needed: " + err.Error())
	}
	return nil
}

// rss is the process's resident set in bytes, from /proc/self/status, or
// 0 where there is none.
func rss() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// BenchmarkHold: 10 000 connections open at once, each having sent half a
// request, held by the fake; what each costs the server's process in
// memory (Go heap and stacks, and resident set), and the latency of one
// request served meanwhile. The client ends are held by a child process
// (this test binary again, see TestHoldHelper), so that neither process
// needs more than about 10 000 open files.
func BenchmarkHold(b *testing.B) {
	const n = 10_000
	if err := raiseFileLimit(n + 1000); err != nil {
		b.Skip("cannot hold 10 000 connections: " + err.Error())
	}
	for range b.N {
		var reading atomic.Int64
		all := make(chan struct{})
		s := startServer(b, WithTimeout(10*time.Minute), WithGrace(time.Minute), WithConnState(func(c ConnInfo) {
			if c.Phase == PhaseReading && reading.Add(1) == n {
				close(all)
			}
		}))
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		rssBefore := rss()
		goroutinesBefore := runtime.NumGoroutine()

		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		child := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHoldHelper$")
		child.Env = append(os.Environ(), holdEnv+"="+s.Addr()+","+strconv.Itoa(n))
		stdin, err := child.StdinPipe()
		if err != nil {
			b.Fatal(err)
		}
		stdout, err := child.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		child.Stderr = os.Stderr
		if err := child.Start(); err != nil {
			b.Fatal(err)
		}
		ready := bufio.NewScanner(stdout)
		for ready.Scan() && !strings.HasPrefix(ready.Text(), "hold-ready") {
		}
		select {
		case <-all:
		case <-time.After(time.Minute):
			b.Fatalf("the server took only %d of %d connections", reading.Load(), n)
		}
		opened := time.Since(start)

		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		rssAfter := rss()
		goroutines := runtime.NumGoroutine() - goroutinesBefore

		t0 := time.Now()
		trips, err := Query(context.Background(), s.Addr(), DefaultRequest(), wire.Qt4, netTimeout)
		if err != nil || len(trips) != 3 {
			b.Fatalf("query while holding %d connections: %v", n, err)
		}
		queryLatency := time.Since(t0)

		stdin.Close() // the child closes its connections and exits
		if err := child.Wait(); err != nil {
			b.Errorf("hold helper: %v", err)
		}
		cancel()
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		heap := int64(after.HeapInuse+after.StackInuse) - int64(before.HeapInuse+before.StackInuse)
		b.ReportMetric(float64(heap)/n, "heap+stack-B/conn")
		b.ReportMetric(float64(rssAfter-rssBefore)/n, "rss-B/conn")
		b.ReportMetric(float64(goroutines)/n, "goroutines/conn")
		b.ReportMetric(float64(opened)/float64(time.Millisecond), "open-10k-ms")
		b.ReportMetric(float64(queryLatency)/float64(time.Millisecond), "query-ms")
	}
}

// holdEnv tells TestHoldHelper what to do: "ADDR,N".
const holdEnv = "TRIPCHECK_FAKES_HOLD"

// TestHoldHelper is the child process of BenchmarkHold, and skips
// otherwise: it opens N connections to ADDR, sends half a request on each,
// prints "hold-ready", and holds them until its stdin ends (or 5 minutes).
func TestHoldHelper(t *testing.T) {
	spec := os.Getenv(holdEnv)
	if spec == "" {
		t.Skip("the child process of BenchmarkHold")
	}
	addr, count, _ := strings.Cut(spec, ",")
	n, err := strconv.Atoi(count)
	if err != nil {
		t.Fatal(err)
	}
	if err := raiseFileLimit(uint64(n) + 1000); err != nil {
		t.Fatal(err)
	}
	half := vector(t, "qt4", "request", "berlin-muenchen-dep")[:20]
	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64) // do not overflow the listen queue
	errs := make(chan error, n)
	for i := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := net.DialTimeout("tcp", addr, netTimeout)
			if err == nil {
				c.SetWriteDeadline(time.Now().Add(netTimeout))
				_, err = c.Write(half)
			}
			if err != nil {
				errs <- err
				return
			}
			conns[i] = c
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatalf("%d connections failed, the first: %v", len(errs)+1, err)
	}
	os.Stdout.WriteString("hold-ready\n")
	done := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
	}
	for _, c := range conns {
		c.Close()
	}
}

// BenchmarkSlowClients: the p99 latency of requests from 64 clients, with
// 1 000 slow connections present (each has sent half a request and
// stalls) and with none.
func BenchmarkSlowClients(b *testing.B) {
	for _, slow := range []int{0, 1000} {
		b.Run("slow="+strconv.Itoa(slow), func(b *testing.B) {
			if err := raiseFileLimit(uint64(2*slow + 2000)); err != nil {
				b.Skip(err.Error())
			}
			s := startServer(b, WithTimeout(10*time.Minute))
			b.ReportAllocs()
			b.ResetTimer()
			res, err := Load(context.Background(), LoadConfig{Addr: s.Addr(), Concurrency: 64, Requests: b.N, Slow: slow, Timeout: netTimeout})
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if res.OK != b.N || res.SlowOpened != slow || res.SlowClosed != 0 {
				b.Fatalf("%d of %d answered, %d slow held, %d closed; errors %v", res.OK, b.N, res.SlowOpened, res.SlowClosed, res.Errors)
			}
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
			b.ReportMetric(ms(res.Latency.P50), "p50-ms")
			b.ReportMetric(ms(res.Latency.P99), "p99-ms")
			b.ReportMetric(ms(res.Latency.Max), "max-ms")
			b.ReportMetric(res.RequestsPerSecond(), "req/s")
		})
	}
}
