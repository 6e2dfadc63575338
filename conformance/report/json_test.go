package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tripcheck/tripcheck/conformance"
)

func TestJSONKeys(t *testing.T) {
	r := sample()
	var b bytes.Buffer
	if err := JSON(&b, r); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, b.String())
	}
	for _, tc := range []struct {
		path string
		want any
	}{
		{"suite", "server"},
		{"target", "127.0.0.1:6178"},
		{"profile", "qt5"},
		{"profile_note", "detected"},
		{"seed", 42.0},
		{"strict", false},
		{"started", "2025-03-01T09:30:00Z"},
		{"duration_ms", 1314.0},
		{"summary.passed", 3.0},
		{"summary.failed", 4.0},
		{"summary.skipped", 1.0},
		{"summary.failed_required", 2.0},
		{"summary.unexpected_passes", 1.0},
		{"results.0.id", "framing/split-size"},
		{"results.0.level", "MUST"},
		{"results.0.status", "pass"},
		{"results.0.message", ""},
		{"results.0.duration_ms", 12.0},
		{"results.1.id", "framing/end-marker"},
		{"results.1.status", "fail"},
		{"results.1.required", true},
		{"results.1.message", "no reply in 2s"},
		{"results.1.log", "> send request (27 bytes)\n\n< 0 bytes\n"},
		{"results.1.duration_ms", 2500.0},
		{"results.3.level", "SHOULD"},
		{"results.3.required", false},
		{"results.5.expected_failure", true},
		{"results.6.status", "skip"},
		{"results.6.message", "needs --golden book"},
		// NUL and ESC survive as JSON escapes; invalid UTF-8 becomes U+FFFD.
		{"results.7.message", "got \x1b[31mred\x00\ufffd"},
		{"results.7.log", "line\r\nbell\a\n"},
	} {
		if v, ok := lookup(got, tc.path); !ok {
			t.Errorf("%s: missing", tc.path)
		} else if !cmp.Equal(v, tc.want) {
			t.Errorf("%s = %#v, want %#v", tc.path, v, tc.want)
		}
	}
	if n := len(got["results"].([]any)); n != len(r.Results) {
		t.Errorf("%d results, want %d", n, len(r.Results))
	}
	// The caller's report is not modified.
	if diff := cmp.Diff(sample(), r); diff != "" {
		t.Errorf("JSON modified the report (-before +after):\n%s", diff)
	}
}

// lookup follows a dotted path of keys and indexes through decoded JSON.
func lookup(v any, path string) (any, bool) {
	for key := range strings.SplitSeq(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[key]; !ok {
				return nil, false
			}
		case []any:
			i := 0
			for _, c := range key {
				i = i*10 + int(c-'0')
			}
			if i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

func TestJSONRoundTrip(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, sample()); err != nil {
		t.Fatal(err)
	}
	// conformance.Level has no UnmarshalText, so the report is compared as
	// decoded JSON: JSON must write what encoding/json writes for the report
	// with its Summary tallied and its DurationMS fields filled.
	want := sample()
	want.Tally()
	want.DurationMS = 1314
	for i := range want.Results {
		want.Results[i].DurationMS = float64(want.Results[i].Duration.Microseconds()) / 1000
	}
	wantJSON, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var got, wantMap map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(wantJSON, &wantMap); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantMap, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestJSONEdges(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, &conformance.Report{Suite: "client"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"results": []`) {
		t.Errorf("no results should be written as [], got:\n%s", b.String())
	}
	b.Reset()
	r := &conformance.Report{Results: []conformance.Result{{ID: "a/<b>&c", Status: conformance.Pass}}}
	if err := JSON(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"id": "a/<b>&c"`) {
		t.Errorf("HTML characters should be written as they are, got:\n%s", b.String())
	}
	if err := JSON(&b, nil); err == nil {
		t.Error("JSON(nil report) = nil error")
	}
}
