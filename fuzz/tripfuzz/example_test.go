package tripfuzz_test

import (
	"fmt"

	"github.com/tripcheck/tripcheck/fuzz/tripfuzz"
	"github.com/tripcheck/tripcheck/wire"
)

// decodeReplies is a reply decoder with a common bug: it takes a stream
// that ends at a block boundary as a whole reply, end marker or not.
func decodeReplies(stream []byte) ([]wire.Trip, error) {
	d := wire.NewDecoder(wire.Qt4, wire.Replies)
	d.Feed(stream)
	var trips []wire.Trip
	for {
		var m wire.Message
		switch err := d.Next(&m); {
		case err == wire.ErrNeedMore:
			return trips, nil // the bug: return trips, d.Close()
		case err != nil:
			return trips, err
		case m.Kind == wire.KindTrip:
			trips = append(trips, m.Trip.Clone())
		}
	}
}

// In a fuzz test of your module, tripfuzz.Replies(f, wire.Qt4,
// decodeReplies) fuzzes the decoder; here CheckReplies runs the comparison
// over the seeds alone, and the first one that tells the decoder from wire
// says where.
func Example() {
	for _, s := range tripfuzz.ReplySeeds() {
		if m := tripfuzz.CheckReplies(wire.Qt4, s.Bytes, decodeReplies); m != nil {
			fmt.Printf("seed %s:\n%v\n", s.Name, m)
			return
		}
	}
	// Output:
	// seed qt4-trip-intercity-0900-123:
	// end at offset 35: got no error (1 trip), want an error, cut short (wire: stream ended before the end marker in end at offset 35)
}
