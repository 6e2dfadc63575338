package capture

import (
	"bytes"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/tripcheck/tripcheck/pcap"
)

// gfcDir is the subset of github.com/dvyukov/go-fuzz-corpus that package
// tripfuzz embeds (Apache-2.0; its README.md and LICENSE are there).
const gfcDir = "../tripfuzz/testdata/go-fuzz-corpus"

// TestForeignCaptures: capture reading survives every input of
// go-fuzz-corpus (gopacket-dns, tls, http2, gzip, zip, ...) read as a
// capture file, by port and by content, with FuzzCapture's checks: typed
// errors, streams within the limits, bounded memory. And as the bytes
// of a Trip connection's two sides in a capture that pcap.Writer writes,
// each is reassembled exactly, whatever it holds.
func TestForeignCaptures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(gfcDir, "*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 800 {
		t.Fatalf("%d files in %s, want at least 800", len(files), gfcDir)
	}
	client := netip.MustParseAddrPort("192.0.2.10:50000")
	server := netip.MustParseAddrPort("192.0.2.1:6178")
	step := 1
	if testing.Short() {
		step = 8 // -short: every 8th file
	}
	for i := 0; i < len(files); i += step {
		f := files[i]
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name, _ := filepath.Rel(gfcDir, f)
		t.Run(name, func(t *testing.T) {
			checkCapture(t, false, b)
			checkCapture(t, true, b)
			if len(b) == 0 || len(b) > opts.MaxStreamBytes {
				return
			}
			c := exchange(t, client, server, b, b, nil, false)
			checkCapture(t, false, c)
			checkCapture(t, true, c)
			r, err := pcap.NewReader(bytes.NewReader(c), opts)
			if err != nil {
				t.Fatal(err)
			}
			s, err := r.Next()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(s.Up.Data, b) || !bytes.Equal(s.Down.Data, b) || !s.Up.Complete() || !s.Down.Complete() {
				t.Errorf("as a connection's bytes: client %d bytes (complete %v), server %d (complete %v), want %d", len(s.Up.Data), s.Up.Complete(), len(s.Down.Data), s.Down.Complete(), len(b))
			}
			if _, err := r.Next(); err != io.EOF {
				t.Errorf("Next after the only session: %v", err)
			}
		})
	}
}
