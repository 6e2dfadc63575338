package check_test

import (
	"fmt"
	"testing"

	"github.com/tripcheck/tripcheck/check"
	"github.com/tripcheck/tripcheck/internal/ending"
	"github.com/tripcheck/tripcheck/internal/qtvectors"
	"github.com/tripcheck/tripcheck/wire"
)

// FuzzSession feeds any request and reply streams, in any split, and
// checks properties: the findings (rule, offset, field, direction) are the
// same whole and split; every finding's rule is in the catalog; the
// findings kept never pass the cap; the views count every byte fed.
func FuzzSession(f *testing.F) {
	vs, err := qtvectors.Load()
	if err != nil {
		f.Fatal(err)
	}
	for _, label := range []string{"berlin-muenchen-dep", "berlin-muenchen-arr"} {
		for _, p := range []string{"qt4", "qt5"} {
			req, ok1 := qtvectors.Find(vs, p, "request", label)
			rep, ok2 := qtvectors.Find(vs, p, "reply", label)
			if ok1 && ok2 {
				f.Add(req.Bytes, rep.Bytes, uint8(0), uint8(3))
				f.Add(req.Bytes[:7], rep.Bytes[:40], uint8(1), uint8(1))
			}
		}
	}
	f.Add([]byte{0xff, 0xff}, []byte("HTTP/1.1 200 OK\r\n"), uint8(2), uint8(5))
	f.Fuzz(func(t *testing.T, up, down []byte, how, split uint8) {
		hows := []ending.How{ending.Close, ending.Reset, ending.Silence, ending.Budget}
		end := hows[int(how)%len(hows)]
		n := int(split%16) + 1
		feed := func(step int) (*check.Session, string) {
			s := check.NewSession(check.Options{Budget: 4096})
			for _, d := range []struct {
				dir wire.Direction
				b   []byte
			}{{wire.Requests, up}, {wire.Replies, down}} {
				k := step
				if k == 0 {
					k = len(d.b) + 1
				}
				for at := 0; at < len(d.b); at += k {
					s.Feed(d.dir, d.b[at:min(at+k, len(d.b))], at/k+1)
				}
				s.End(d.dir, end)
			}
			var out string
			kept := 0
			for {
				fd, ok := s.Next()
				if !ok {
					break
				}
				kept++
				if _, ok := fd.Rule(); !ok {
					t.Fatalf("finding of no catalogued rule: %+v", fd)
				}
				out += fmt.Sprintf("%s@%d:%s:%v;", fd.Check, fd.Offset, fd.Field, fd.Dir)
			}
			if kept > check.DefaultMaxFindings {
				t.Fatalf("%d findings kept", kept)
			}
			return s, out
		}
		whole, a := feed(0)
		parts, b := feed(n)
		if a != b {
			t.Fatalf("whole and split by %d differ:\n%s\n%s", n, a, b)
		}
		if whole.Request().Bytes != int64(len(up)) || parts.Reply().Bytes != int64(len(down)) {
			t.Fatalf("bytes counted %d/%d, fed %d/%d", whole.Request().Bytes, parts.Reply().Bytes, len(up), len(down))
		}
	})
}
