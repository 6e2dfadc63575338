package fakes

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/tripcheck/tripcheck/wire"
)

// bookCase is one line of testdata/book-lenient.txt: what the book's own
// server answered to a malformed request.
type bookCase struct {
	profile, label string
	request, reply []byte
}

func bookLenientCases(t *testing.T) []bookCase {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "book-lenient.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []bookCase
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		fs := strings.Fields(line)
		if len(fs) != 4 {
			t.Fatalf("book-lenient.txt: %q", line)
		}
		c := bookCase{profile: fs[0], label: fs[1]}
		if c.request, err = hex.DecodeString(fs[2]); err != nil {
			t.Fatal(err)
		}
		if fs[3] != "-" {
			if c.reply, err = hex.DecodeString(fs[3]); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, c)
	}
	if len(out) < 20 {
		t.Fatalf("book-lenient.txt: only %d cases", len(out))
	}
	return out
}

// In lenient mode the fake answers malformed requests exactly as the book's
// own server did (odd strings, strings past the block, fields cut short,
// bad flags, out-of-range times, bytes left over).
func TestLenientLikeTheBook(t *testing.T) {
	cases := bookLenientCases(t)
	servers := map[string]*Server{}
	for _, p := range wire.Profiles() {
		servers[p.String()] = startServer(t, WithProfile(p), WithLenient())
	}
	for _, c := range cases {
		t.Run(c.profile+"/"+c.label, func(t *testing.T) {
			got, err := exchange(t, servers[c.profile].Addr(), c.request)
			if err != nil && !errors.Is(err, syscall.ECONNRESET) {
				t.Fatal(err)
			}
			if !bytes.Equal(got, c.reply) {
				t.Errorf("reply\n got %x\nwant %x (the book's)", got, c.reply)
			}
		})
	}
}

// The strict fake (the default) answers none of the requests the book is
// lenient with, logs why, and goes on serving.
func TestStrictRejects(t *testing.T) {
	var logs logBuffer
	servers := map[string]*Server{}
	for _, p := range wire.Profiles() {
		servers[p.String()] = startServer(t, WithProfile(p), WithLogger(logs.logger()))
	}
	want := map[string]string{
		"date-cut":      "past-end",
		"flag-0":        "bad-flag",
		"flag-Z":        "bad-flag",
		"flag-cut":      "past-end",
		"from-only":     "past-end",
		"from-past-end": "past-end",
		"odd-from":      "odd-string-length",
		"odd-to":        "odd-string-length",
		"size0":         "past-end",
		"time-86400000": "invalid-time",
		"time-cut":      "past-end",
		"time-fffffffe": "invalid-time",
		"trailing-3":    "trailing-bytes",
		"type-only":     "past-end",
	}
	cases := bookLenientCases(t)
	for _, c := range cases {
		t.Run(c.profile+"/"+c.label, func(t *testing.T) {
			if _, ok := want[c.label]; !ok {
				t.Fatalf("no expected reason for %s", c.label)
			}
			got, err := exchange(t, servers[c.profile].Addr(), c.request)
			if err != nil && !errors.Is(err, syscall.ECONNRESET) {
				t.Fatal(err)
			}
			if len(got) != 0 {
				t.Errorf("reply %x, want none", got)
			}
		})
	}
	// The servers still serve.
	for _, p := range wire.Profiles() {
		req := vector(t, p.String(), "request", "berlin-muenchen-dep")
		got, err := exchange(t, servers[p.String()].Addr(), req)
		if err != nil || !bytes.Equal(got, vector(t, p.String(), "reply", "berlin-muenchen-dep")) {
			t.Errorf("%v: after bad requests: reply %x, %v", p, got, err)
		}
	}
	for _, s := range servers {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	reasons := map[string]int{}
	for _, l := range logs.lines(t) {
		if l["outcome"] == OutcomeRejected {
			reasons[l["reason"].(string)]++
			if l["err"] == nil {
				t.Errorf("rejected without an error: %v", l)
			}
		}
	}
	wantReasons := map[string]int{}
	for _, c := range cases {
		wantReasons[want[c.label]]++
	}
	if len(reasons) != len(wantReasons) {
		t.Errorf("reasons logged %v, want %v", reasons, wantReasons)
	}
	for r, n := range wantReasons {
		if reasons[r] != n {
			t.Errorf("reason %s logged %d times, want %d (all: %v)", r, reasons[r], n, reasons)
		}
	}
}

// Requests that both modes close without a reply, each with its reason in
// the log.
func TestRejectedInBothModes(t *testing.T) {
	good := vector(t, "qt4", "request", "berlin-muenchen-dep")
	notSearch := bytes.Clone(good)
	notSearch[2] = 'X'
	cases := []struct {
		name   string
		send   []byte
		reason string
	}{
		{"unknown-type", notSearch, "unknown-type"},
		{"reserved-size", []byte{0xFF, 0xFF}, "reserved-size"},
		{"reserved-size-and-more", append([]byte{0xFF, 0xFF}, good...), "reserved-size"},
		{"truncated-size", good[:1], "truncated"},
		{"truncated-payload", good[:len(good)-3], "truncated"},
		{"nothing", nil, "no-request"},
	}
	for _, mode := range []string{"strict", "lenient"} {
		t.Run(mode, func(t *testing.T) {
			var logs logBuffer
			opts := []Option{WithLogger(logs.logger())}
			if mode == "lenient" {
				opts = append(opts, WithLenient())
			}
			s := startServer(t, opts...)
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					conn := dial(t, s.Addr())
					if _, err := conn.Write(c.send); err != nil {
						t.Fatal(err)
					}
					if err := conn.CloseWrite(); err != nil { // the end of the request stream
						t.Fatal(err)
					}
					got, err := readAll(conn)
					if err != nil && !errors.Is(err, syscall.ECONNRESET) {
						t.Fatal(err)
					}
					if len(got) != 0 {
						t.Errorf("reply %x, want none", got)
					}
				})
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			lines := logs.lines(t)
			if len(lines) != len(cases) {
				t.Fatalf("%d log lines, want %d: %v", len(lines), len(cases), lines)
			}
			byConn := map[float64]map[string]any{}
			for _, l := range lines {
				byConn[l["conn"].(float64)] = l
			}
			for i, c := range cases {
				l := byConn[float64(i+1)] // connections are numbered in accept order
				if l["reason"] != c.reason || l["msg"] != "conn" || l["peer"] == "" {
					t.Errorf("%s: log line %v, want reason %s", c.name, l, c.reason)
				}
			}
		})
	}
}

// Exactly one request is read, whatever the split: random cuts from a
// printed seed, cuts at every offset, and the request followed by more
// bytes in the same write.
func TestRequestAnySplit(t *testing.T) {
	s := startServer(t)
	req := vector(t, "qt4", "request", "emoji-koeln-9999")
	want := vector(t, "qt4", "reply", "emoji-koeln-9999")
	seed := rand.Int64()
	t.Logf("seed %d", seed)
	shapes := []string{"random-seed-" + strconv.FormatInt(seed, 10) + ":1-5", "bytes-1", "bytes-3"}
	for off := 1; off < len(req); off++ {
		shapes = append(shapes, "split-at-"+strconv.Itoa(off))
	}
	for _, sh := range shapes {
		if got := exchangeShaped(t, s.Addr(), req, sh); !bytes.Equal(got, want) {
			t.Errorf("%s: reply\n got %x\nwant %x", sh, got, want)
		}
	}
}
