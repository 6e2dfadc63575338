package pcap

import (
	"errors"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tripcheck/tripcheck/wire"
)

func TestDecode(t *testing.T) {
	req, reply := exchange(t)
	describe := func(d *Decoded) []string {
		var out []string
		for _, m := range d.Messages {
			s := m.Dir.String() + " " + m.Kind.String() + "@" + itoa(m.Packet)
			if m.Err != nil {
				s += " err"
			}
			out = append(out, s)
		}
		for _, f := range d.Faults {
			s := f.Dir.String() + " fault@" + itoa(f.Packet)
			if errors.Is(f.Err, wire.ErrNoEndMarker) {
				s += " no end marker"
			}
			if errors.Is(f.Err, wire.ErrTruncated) {
				s += " truncated"
			}
			out = append(out, s)
		}
		return out
	}
	lying := append([]byte(nil), reply...)
	lying[1]-- // trip[0] one byte short
	for _, tc := range []struct {
		name string
		up   [][]byte
		down [][]byte
		want []string
	}{
		{"whole", [][]byte{req}, [][]byte{reply[:35], reply[35:]}, []string{
			"client→server request@4", "server→client trip@5", "server→client trip@6", "server→client trip@6", "server→client end@6"}},
		{"no end marker", [][]byte{req}, [][]byte{reply[:len(reply)-2]}, []string{
			"client→server request@4", "server→client trip@5", "server→client trip@5", "server→client trip@5", "server→client fault@5 no end marker"}},
		{"cut inside a trip", [][]byte{req}, [][]byte{reply[:50]}, []string{
			"client→server request@4", "server→client trip@5", "server→client fault@5 truncated"}},
		{"size one short", [][]byte{req}, [][]byte{lying}, []string{
			"client→server request@4", "server→client trip@5 err", "server→client fault@5 truncated"}},
		{"request cut", [][]byte{req[:9]}, nil, []string{"client→server fault@4 truncated"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ss, _ := sessions(t, record(t, conv{client: client4, server: server4, up: tc.up, down: tc.down}), Options{})
			d := Decode(ss[0], 0)
			if d.Profile != wire.Qt4 || d.ProfileNote != "detected from the request" && tc.name != "request cut" {
				t.Errorf("profile %v (%s)", d.Profile, d.ProfileNote)
			}
			if diff := cmp.Diff(tc.want, describe(d)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
