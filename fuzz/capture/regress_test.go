package capture

import (
	"bytes"
	"io"
	"testing"

	"github.com/tripcheck/tripcheck/pcap"
)

// Regression tests for what FuzzCapture found. Each names its input (kept
// in testdata/fuzz/FuzzCapture/ under the hash go test -fuzz gave it) and
// its cause.

// TestGapPastCapFillsToCap: found by FuzzCapture in 44 s
// (testdata/fuzz/FuzzCapture/e57d710e81f600a0). A classic pcap with two
// client segments: 6 bytes at offset 0, then 10 bytes at offset 16 777 216
// (a sequence number 2^24 ahead, within a TCP window, so held out of
// order). When the session ends, the hole between them becomes a gap; the
// gap was larger than the room left under the cap (4 096), and
// half.skipTo (pcap/stream.go) then marked the stream Truncated without
// keeping the zeros up to the cap, so Data stopped at the gap's start (6
// bytes) while Truncated said it stopped at the cap. Now the gap's zeros
// fill Data up to the cap: Data is the cap long, Contiguous stops at the
// gap, and a capped note says where keeping stopped.
func TestGapPastCapFillsToCap(t *testing.T) {
	data := []byte("\xd4ò\xa1\x02\x00\x04\x00000000000000\x01\x000000000000<\x00\x00\x00A000000000000000\b\x00E00000@\x000\x0600\xc0\x00\x02\n\xc0\x00\x02\x01\xc3P\x18\"00000000X000000000000000000000A\x00\x00\x00A000000000000000\b\x00E00000@\x000\x0600\xc0\x00\x02\n\xc0\x00\x02\x01\xc3P\x18\"10000000X000000000000000000000000000")
	r, err := pcap.NewReader(bytes.NewReader(data), opts)
	if err != nil {
		t.Fatal(err)
	}
	s, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	st := s.Up
	checkStream(t, s.Index, pcap.ClientToServer, st)
	if !st.Truncated || len(st.Data) != opts.MaxStreamBytes || st.Len != 16777227 {
		t.Errorf("client stream: %d bytes kept of %d, truncated %v; want the cap (%d) kept, truncated", len(st.Data), st.Len, st.Truncated, opts.MaxStreamBytes)
	}
	if len(st.Contiguous()) != 6 || len(st.Gaps) != 1 || st.Gaps[0].Offset != 6 || st.Gaps[0].Len != 16777210 {
		t.Errorf("client stream: %d contiguous bytes, gaps %+v; want 6, one gap 6+16777210", len(st.Contiguous()), st.Gaps)
	}
	capped := false
	for _, n := range s.Notes {
		capped = capped || n.Kind == pcap.NoteCapped
	}
	if !capped {
		t.Errorf("no %q note among %v", pcap.NoteCapped, s.Notes)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("Next after the only session: %v, want io.EOF", err)
	}
}
