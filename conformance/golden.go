package conformance

import (
	"fmt"

	"github.com/tripcheck/tripcheck/fakes"
	"github.com/tripcheck/tripcheck/wire"
)

// GoldenBook is the book's server's reply to r in profile p: the reference
// for --golden book. The book echoes the date and time as it read them, so
// the request goes through the codec first (a qt4 Julian Day 0 reads back
// null).
func GoldenBook(p wire.Profile, r *wire.Request) ([]byte, error) {
	b, err := wire.Encoder{Profile: p, AllowIllegalWrites: true}.AppendRequest(nil, r)
	if err != nil {
		return nil, err
	}
	var read wire.Request
	if err := p.DecodeRequest(b[2:], &read); err != nil {
		return nil, fmt.Errorf("the book's server would read this request as corrupt: %v", err)
	}
	var out []byte
	for _, t := range (fakes.Book{}).Trips(&read) {
		if out, err = p.AppendTrip(out, &t); err != nil {
			return nil, err
		}
	}
	return wire.AppendEnd(out), nil
}

// Golden returns the reference --golden NAME names; "book" is the only one.
func Golden(name string) (GoldenFunc, bool) {
	if name == "book" {
		return GoldenBook, true
	}
	return nil, false
}
