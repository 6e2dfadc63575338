package main

import (
	"fmt"
	"io"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/conformance/report"
	"github.com/tripcheck/tripcheck/pcap"
)

// writeHTML writes the HTML report of rep to file (--html), if one is
// asked for.
func writeHTML(rep *conformance.Report, file string) error {
	if file == "" {
		return nil
	}
	if err := report.WriteFile(file, func(w io.Writer) error { return report.HTML(w, rep) }); err != nil {
		return usageError("--html: %v", err)
	}
	return nil
}

// maxHTMLSessions is the most sessions pcap decode --html draws: each
// keeps its bounded trace until the page is written.
const maxHTMLSessions = 500

// htmlSessions collects the sessions pcap decode draws with --html.
type htmlSessions struct {
	file     string // --html; "" draws nothing
	sessions []report.CaptureSession
	more     int // sessions past maxHTMLSessions, not drawn
}

// add keeps s, decoded as d, for the page.
func (h *htmlSessions) add(s *pcap.Session, d *pcap.Decoded) {
	if h.file == "" {
		return
	}
	if len(h.sessions) >= maxHTMLSessions {
		h.more++
		return
	}
	h.sessions = append(h.sessions, report.NewCaptureSession(s, d))
}

// write writes the page of the sessions of capture path.
func (h *htmlSessions) write(path string) error {
	if h.file == "" {
		return nil
	}
	meta := map[string]string{"Capture": path}
	if h.more > 0 {
		meta["Sessions"] = fmt.Sprintf("the first %d drawn, %d more not drawn", len(h.sessions), h.more)
	}
	err := report.WriteFile(h.file, func(w io.Writer) error {
		return report.CaptureHTML(w, "tripcheck pcap decode: "+path, meta, h.sessions)
	})
	if err != nil {
		return usageError("--html: %v", err)
	}
	return nil
}
