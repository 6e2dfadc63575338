package report

import (
	"testing"

	"github.com/tripcheck/tripcheck/wire"
)

// The caches of DecodeText stay bounded however many different values a
// capture holds, and a value past the bound still prints right.
func TestDecodeTextCachesBounded(t *testing.T) {
	var w DecodeText
	var b []byte
	for i := 0; i < 3*maxCached; i++ {
		d, tm := wire.DateJD(2_400_000+int64(i)), wire.TimeMS(uint32(i))
		b = w.date(b[:0], d)
		if string(b) != d.String() {
			t.Fatalf("date %v printed %q", d, b)
		}
		b = w.time(b[:0], tm)
		if string(b) != tm.String() {
			t.Fatalf("time %v printed %q", tm, b)
		}
		s := wire.Str(d.String())
		b = w.quote(b[:0], s)
		if string(b) != s.Quote() {
			t.Fatalf("string %v printed %q", s.Quote(), b)
		}
	}
	if len(w.dates) != maxCached || len(w.times) != maxCached || len(w.quoted) != maxCached {
		t.Errorf("caches hold %d dates, %d times, %d strings; want %d each", len(w.dates), len(w.times), len(w.quoted), maxCached)
	}
}
