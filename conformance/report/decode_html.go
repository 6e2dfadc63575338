package report

import (
	"fmt"
	"time"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/pcap"
)

// NewCaptureSession is s, decoded as d, for [CaptureHTML]: `pcap decode
// --html`'s page.
func NewCaptureSession(s *pcap.Session, d *pcap.Decoded) CaptureSession {
	return CaptureSession{
		Title:   fmt.Sprintf("session %d: %v → %v", s.Index, s.Client, s.Server),
		Profile: d.Profile,
		Notes: []string{
			fmt.Sprintf("%s, +%s, %d packets (%d–%d), %s", s.First.UTC().Format("2006-01-02 15:04:05.000000"),
				s.Last.Sub(s.First).Round(time.Microsecond), s.Packets, s.FirstPacket, s.LastPacket, s.End),
			fmt.Sprintf("profile %v (%s)", d.Profile, d.ProfileNote),
		},
		Wire: conformance.SessionWire(s),
	}
}
