package capture_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/conformance/capture"
	"github.com/tripcheck/tripcheck/pcap"
)

// collect is a ResultSink that keeps what it gets.
type collect struct {
	begun   int
	results []conformance.Result
}

func (c *collect) Begin(*conformance.Report)  { c.begun++ }
func (c *collect) Add(res conformance.Result) { c.results = append(c.results, res) }

// TestCheckCaptureSink: with a Sink, Check hands over every result it
// would have kept, in the same order, and returns a Streamed report without
// results whose Summary counts them, failures included.
func TestCheckCaptureSink(t *testing.T) {
	for _, name := range []string{"lo-ethernet.pcapng", "bad-size-plus-one.pcapng", "bad-flag-answered.pcapng"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("..", "..", "testdata", "captures", name)
			o := capture.CheckOptions{Strict: true, Capture: pcap.Options{Port: pcap.AnyPort}}
			read := func(o capture.CheckOptions) *conformance.Report {
				f, err := os.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				rep, _, err := capture.Check(context.Background(), f, o)
				if err != nil {
					t.Fatal(err)
				}
				return rep
			}
			whole := read(o)
			var c collect
			o.Sink = &c
			streamed := read(o)
			if c.begun != 1 || !streamed.Streamed || len(streamed.Results) != 0 {
				t.Errorf("begun %d, streamed %v, %d results kept", c.begun, streamed.Streamed, len(streamed.Results))
			}
			// A finding's Err is a value of its own in each run: equal when it says the same.
			sameErr := cmp.Comparer(func(a, b error) bool { return fmt.Sprint(a) == fmt.Sprint(b) })
			if d := cmp.Diff(whole.Results, c.results, sameErr); d != "" {
				t.Errorf("results (-kept +streamed):\n%s", d)
			}
			if whole.Summary != streamed.Summary || whole.OK() != streamed.OK() {
				t.Errorf("summary %+v (OK %v), streamed %+v (OK %v)", whole.Summary, whole.OK(), streamed.Summary, streamed.OK())
			}
			if len(c.results) == 0 {
				t.Error("no results")
			}
		})
	}
}
