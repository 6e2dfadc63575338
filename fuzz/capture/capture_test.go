// Package capture holds the fuzz target of capture reading (package pcap),
// apart from the wire targets in ../: pcap brings gopacket, whose coverage
// counters would slow every target that shared a test binary with it. It
// has test files only.
package capture

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/pcap"
	"github.com/tripcheck/tripcheck/wire"
)

// Small limits, so that the fuzzer reaches them.
var opts = pcap.Options{MaxStreamBytes: 4096, MaxOpen: 8, MaxBuffered: 16 << 10, IdleTimeout: time.Minute}

// pcapSentinels are the errors of pcap's file layer.
var pcapSentinels = []error{pcap.ErrFormat, pcap.ErrTruncatedFile, pcap.ErrRecordTooLarge, pcap.ErrCorrupt}

// fileError asserts that err is a *pcap.FileError of one of pcap's
// sentinels.
func fileError(t *testing.T, what string, err error) *pcap.FileError {
	t.Helper()
	var fe *pcap.FileError
	if !errors.As(err, &fe) {
		t.Fatalf("%s: %v (%T), want a *pcap.FileError", what, err, err)
	}
	for _, s := range pcapSentinels {
		if errors.Is(err, s) {
			return fe
		}
	}
	t.Fatalf("%s: %v matches none of pcap's sentinels", what, err)
	return nil
}

// FuzzCapture reads any bytes as a capture, by port or (anyPort) by
// content, and checks: errors are typed; the sessions' streams stay within
// the limits (bounded memory) and their segments, gaps and cuts describe
// their bytes consistently; the packet count agrees with the record layer
// alone; the Trip decoders take every reassembled stream with typed errors;
// and memory allocated stays bounded by the input.
func FuzzCapture(f *testing.F) {
	f.Fuzz(func(t *testing.T, anyPort bool, data []byte) { checkCapture(t, anyPort, data) })
}

// checkCapture is FuzzCapture's property, for one input.
func checkCapture(t *testing.T, anyPort bool, data []byte) {
	o := opts
	if anyPort {
		o.Port = pcap.AnyPort
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	records, recErr := countRecords(data)
	r, err := pcap.NewReader(bytes.NewReader(data), o)
	if err != nil {
		fileError(t, "NewReader", err)
		if recErr == nil || recErr == io.EOF {
			t.Fatalf("NewReader: %v, but the record layer read the header", err)
		}
		return
	}
	seen := map[int]bool{}
	sessions := 0
	var last error
	for {
		s, err := r.Next()
		if err != nil {
			last = err
			break
		}
		sessions++
		if sessions > 1+int(r.Stats().Packets) {
			t.Fatalf("%d sessions from %d packets", sessions, r.Stats().Packets)
		}
		if seen[s.Index] || s.Index < 1 {
			t.Fatalf("session index %d twice or below 1", s.Index)
		}
		seen[s.Index] = true
		checkSession(t, s, r.Stats().Packets)
	}
	if last != io.EOF {
		fe := fileError(t, "Next", last)
		if errors.Is(last, pcap.ErrTruncatedFile) {
			t.Fatalf("Next: %v: a file cut short ends the capture, with a note", last)
		}
		if again, _ := r.Next(); again != nil {
			t.Fatalf("Next after %v: %v, want the same error", last, again)
		}
		_ = fe
	}
	if got := r.Stats().Packets; got != records {
		t.Fatalf("the reader read %d packets, the record layer %d (%v)", got, records, recErr)
	}
	if r.Stats().Sessions != sessions {
		t.Fatalf("Stats().Sessions %d, %d handed out", r.Stats().Sessions, sessions)
	}
	runtime.ReadMemStats(&after)
	gzipped := len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b
	if alloc := after.TotalAlloc - before.TotalAlloc; !gzipped && alloc > 32<<20+uint64(64*len(data)) {
		t.Fatalf("reading %d bytes allocated %d MiB", len(data), alloc>>20)
	}
}

// countRecords reads the records with the file layer alone.
func countRecords(data []byte) (int64, error) {
	pr, err := pcap.NewPacketReader(bytes.NewReader(data))
	if err != nil {
		return 0, err
	}
	var n int64
	for {
		p, err := pr.Next()
		if err != nil {
			return n, err
		}
		n++
		if p.Num != n || len(p.Data) > pcap.MaxRecord {
			return n, errors.New("record numbering")
		}
	}
}

func checkSession(t *testing.T, s *pcap.Session, packets int64) {
	t.Helper()
	if s.Up == nil || s.Down == nil {
		t.Fatalf("session %d: a nil stream", s.Index)
	}
	if s.FirstPacket < 1 || s.FirstPacket > s.LastPacket || s.LastPacket > packets || s.Packets < 1 || int64(s.Packets) > packets {
		t.Fatalf("session %d: packets %d–%d (%d) of %d", s.Index, s.FirstPacket, s.LastPacket, s.Packets, packets)
	}
	if len(s.Notes) > 64 || s.NotesDropped < 0 {
		t.Fatalf("session %d: %d notes kept, %d dropped", s.Index, len(s.Notes), s.NotesDropped)
	}
	for _, n := range s.Notes {
		if n.Packet < 0 || n.Packet > packets || n.Text == "" {
			t.Fatalf("session %d: note %v", s.Index, n)
		}
	}
	for _, dir := range []pcap.Direction{pcap.ClientToServer, pcap.ServerToClient} {
		st := s.Stream(dir)
		checkStream(t, s.Index, dir, st)
		// The Trip decoders take any reassembled stream, with typed errors.
		wdir := wire.Requests
		if dir == pcap.ServerToClient {
			wdir = wire.Replies
		}
		for _, p := range wire.Profiles() {
			decodeStream(t, p, wdir, st.Contiguous())
		}
	}
}

func checkStream(t *testing.T, idx int, dir pcap.Direction, st *pcap.Stream) {
	t.Helper()
	n := int64(len(st.Data))
	// Data stops short of Len at the cap (Truncated), or at a gap that runs
	// to the end: bytes before a FIN that the capture lost are a gap, not
	// zeros in Data (found by FuzzCapture, testdata/fuzz/FuzzCapture/d4e110e1262d270c).
	trailingGap := len(st.Gaps) > 0 && st.Gaps[len(st.Gaps)-1].Offset == n && st.Gaps[len(st.Gaps)-1].Offset+st.Gaps[len(st.Gaps)-1].Len == st.Len
	if n > int64(opts.MaxStreamBytes) || st.Len < n || st.Truncated && n != int64(opts.MaxStreamBytes) || n < st.Len && !st.Truncated && !trailingGap {
		t.Fatalf("session %d %v: %d bytes kept of %d (cap %d), truncated %v, gaps %+v", idx, dir, n, st.Len, opts.MaxStreamBytes, st.Truncated, st.Gaps)
	}
	c := st.Contiguous()
	if int64(len(c)) > n || !bytes.Equal(c, st.Data[:len(c)]) {
		t.Fatalf("session %d %v: Contiguous is not a prefix of Data", idx, dir)
	}
	var end int64
	for _, g := range st.Gaps {
		if g.Offset < end || g.Len <= 0 || g.Offset+g.Len > st.Len {
			t.Fatalf("session %d %v: gap %+v after %d, stream %d bytes", idx, dir, g, end, st.Len)
		}
		end = g.Offset + g.Len
	}
	end = 0
	for _, sg := range st.Segments {
		if sg.Offset < end || sg.Len <= 0 || sg.Packet < 1 {
			t.Fatalf("session %d %v: segment %+v after %d", idx, dir, sg, end)
		}
		end = sg.End()
		if got, ok := st.PacketAt(sg.Offset); !ok || got != sg {
			t.Fatalf("session %d %v: PacketAt(%d) = %+v, %v; want %+v", idx, dir, sg.Offset, got, ok, sg)
		}
	}
	prev := 0
	for _, cut := range st.Cuts() {
		if cut <= prev || cut >= len(c) {
			t.Fatalf("session %d %v: cut %d after %d, %d contiguous bytes", idx, dir, cut, prev, len(c))
		}
		prev = cut
	}
	if st.Closed() != (st.FIN.Seen() || st.RST.Seen()) {
		t.Fatalf("session %d %v: Closed", idx, dir)
	}
}

// decodeStream decodes a reassembled stream: errors must be wire's typed
// ones, and offsets inside the stream.
func decodeStream(t *testing.T, p wire.Profile, dir wire.Direction, b []byte) {
	t.Helper()
	d := wire.NewDecoder(p, dir)
	d.Feed(b)
	for {
		var m wire.Message
		err := d.Next(&m)
		if err == wire.ErrNeedMore {
			err = d.Close()
		}
		if err == nil {
			if m.Kind == 0 {
				return // closed cleanly
			}
			continue
		}
		var de *wire.DecodeError
		if !errors.As(err, &de) || de.Offset < 0 || de.Offset > int64(len(b)) {
			t.Fatalf("%v %v stream of %d bytes: %v", p, dir, len(b), err)
		}
		if errors.Is(err, wire.ErrPastEnd) || errors.Is(err, wire.ErrOddStringLength) || errors.Is(err, wire.ErrTrailingBytes) {
			continue
		}
		return
	}
}
