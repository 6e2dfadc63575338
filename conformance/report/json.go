package report

import (
	"encoding/json"
	"io"

	"github.com/tripcheck/tripcheck/conformance"
)

// JSON writes r as indented JSON, in the shape of the struct tags of
// [conformance.Report]:
//
//	{"suite": "server", "target": "127.0.0.1:6178", "profile": "qt5", ...,
//	 "results": [{"id": "framing/split-size", "level": "MUST",
//	              "status": "pass", "message": "", "duration_ms": 12.5, ...}],
//	 "causes": [{"id": "reply/no-end-marker", "summary": "the reply has no end marker",
//	             "scenarios": ["valid/ascii/whole"], "first": "valid/ascii/whole", "offset": 105}],
//	 "summary": {"passed": 1, "failed": 0, "skipped": 0, "flaky": 0, ...}}
//
// It writes a copy of r with the DurationMS fields filled from the
// Durations and the Summary and causes recomputed; results and causes are
// [] rather than null when there are none. Strings are written as they are (HTML characters are not
// escaped), except that bytes which are not valid UTF-8 become U+FFFD, as
// encoding/json does.
func JSON(w io.Writer, r *conformance.Report) error {
	c, err := tallied(r)
	if err != nil {
		return err
	}
	c.DurationMS = milliseconds(c.Duration)
	c.Results = make([]conformance.Result, len(r.Results))
	for i, res := range r.Results {
		res.DurationMS = milliseconds(res.Duration)
		c.Results[i] = res
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(c)
}
