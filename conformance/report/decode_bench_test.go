package report_test

import (
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/conformance/report"
	"github.com/tripcheck/tripcheck/pcap"
	"github.com/tripcheck/tripcheck/wire"
)

// benchCapture is n sessions of the book's exchange: a request, three
// trips and the end marker, one packet each.
func benchCapture(b *testing.B, n int) (file []byte, packets int) {
	b.Helper()
	r := wire.Request{Type: 'S', From: wire.Str("Berlin"), To: wire.Str("München"), Date: wire.DateOf(2026, 11, 25), Time: wire.TimeOf(9, 0, 0, 0), Flag: 'D'}
	req, err := wire.Qt4.AppendRequest(nil, &r)
	if err != nil {
		b.Fatal(err)
	}
	var blocks [][]byte
	for i := 0; i < 3; i++ {
		t := wire.Trip{Date: r.Date, Departure: wire.TimeOf(9, 10*i, 0, 0), Duration: uint16(44 + i), Changes: 1, TrainType: wire.Str("InterCity")}
		blk, err := wire.Qt4.AppendTrip(nil, &t)
		if err != nil {
			b.Fatal(err)
		}
		blocks = append(blocks, blk)
	}
	blocks = append(blocks, wire.AppendEnd(nil))
	cw := newCaptureWriter(b, "10.0.0.2:6178", 10*time.Microsecond)
	for i := 0; i < n; i++ {
		cw.exchange(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), uint16(1024+i%60000)), req, blocks...)
		packets += 3 + 1 + len(blocks) + 4
	}
	return cw.bytes(), packets
}

// BenchmarkDecodeText is `pcap decode`'s work with the text writer, beside
// the same decoding without output (the floor) and with the JSON writer,
// in one run.
func BenchmarkDecodeText(b *testing.B) {
	file, packets := benchCapture(b, 5000)
	for _, bc := range []struct {
		name  string
		write func(w io.Writer) func(*pcap.Session, *pcap.Decoded)
	}{
		{"decode-only", func(io.Writer) func(*pcap.Session, *pcap.Decoded) { return func(*pcap.Session, *pcap.Decoded) {} }},
		{"text", func(w io.Writer) func(*pcap.Session, *pcap.Decoded) {
			var tw report.DecodeText
			return func(s *pcap.Session, d *pcap.Decoded) { w.Write(tw.Session(s, d)) }
		}},
		{"json", func(w io.Writer) func(*pcap.Session, *pcap.Decoded) {
			jw := report.NewDecodeJSON(w)
			return func(s *pcap.Session, d *pcap.Decoded) { jw.Session(s, d) }
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(file)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				eachSession(b, file, bc.write(io.Discard))
			}
			b.ReportMetric(float64(packets)*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
		})
	}
}
