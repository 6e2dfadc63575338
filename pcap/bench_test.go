package pcap

import (
	"bytes"
	"io"
	"net/netip"
	"testing"
	"time"
)

// synth writes n Trip sessions, a few of them open at a time, as the
// reference server and client exchange them: the request in one packet,
// each trip block and the end marker in one packet each.
func synth(tb testing.TB, w io.Writer, n int) (packets int) {
	tb.Helper()
	req, reply := exchange(tb)
	var blocks [][]byte
	for off := 0; off < len(reply); {
		size := int(reply[off])<<8 | int(reply[off+1])
		end := off + 2 + size
		if size == 0xffff {
			end = off + 2
		}
		blocks = append(blocks, reply[off:end])
		off = end
	}
	pw, err := NewWriter(w)
	if err != nil {
		tb.Fatal(err)
	}
	now := t0
	tick := func() time.Time { now = now.Add(10 * time.Microsecond); return now }
	server := netip.MustParseAddrPort("10.0.0.2:6178")
	for i := 0; i < n; i++ {
		client := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 16), byte(i >> 8)}), uint16(1024+i%60000))
		c, err := pw.Conn(client, server, tick())
		if err != nil {
			tb.Fatal(err)
		}
		c.Data(ClientToServer, req, tick())
		for _, b := range blocks {
			c.Data(ServerToClient, b, tick())
		}
		c.Close(ServerToClient, tick())
		c.Close(ClientToServer, tick())
		packets += 3 + 1 + len(blocks) + 4
	}
	if err := pw.Flush(); err != nil {
		tb.Fatal(err)
	}
	return packets
}

func BenchmarkReader(b *testing.B) {
	var buf bytes.Buffer
	packets := synth(b, &buf, 20000)
	file := buf.Bytes()
	b.SetBytes(int64(len(file)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := NewReader(bytes.NewReader(file), Options{})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 20000 {
			b.Fatalf("%d sessions", n)
		}
	}
	b.ReportMetric(float64(packets)*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}

// BenchmarkDecode is the work of tripcheck pcap decode without the output:
// records, reassembly, and every block decoded with wire.
func BenchmarkDecode(b *testing.B) {
	var buf bytes.Buffer
	packets := synth(b, &buf, 20000)
	file := buf.Bytes()
	b.SetBytes(int64(len(file)))
	b.ReportAllocs()
	b.ResetTimer()
	var d Decoded
	for i := 0; i < b.N; i++ {
		r, err := NewReader(bytes.NewReader(file), Options{})
		if err != nil {
			b.Fatal(err)
		}
		for {
			s, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			d.Decode(s, 0)
		}
	}
	b.ReportMetric(float64(packets)*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}

func BenchmarkPacketReader(b *testing.B) {
	var buf bytes.Buffer
	packets := synth(b, &buf, 20000)
	file := buf.Bytes()
	b.SetBytes(int64(len(file)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pr, err := NewPacketReader(bytes.NewReader(file))
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := pr.Next(); err != nil {
				break
			}
		}
	}
	b.ReportMetric(float64(packets)*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}
