package fakes

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/tripcheck/tripcheck/wire"
)

// A Generator says which trips the server sends for a request.
//
// Trips is called from many connections at once, so it must be safe for
// concurrent use. req and the strings in it are valid only during the call
// (Clone them to keep them). The server reads the result and does not
// modify it, so a Generator may return the same slice every time.
type Generator interface {
	Trips(req *wire.Request) []wire.Trip
}

// Book is the book's server: srand(BookSeed(req)), rand()%8 trips, each
// of rand()%200 minutes with 1 change on an "InterCity", dated and timed as
// the request was read. It is the default Generator.
type Book struct{}

// interCity is the book's train type.
var interCity = wire.Str("InterCity")

// Trips returns the book's trips for req.
func (Book) Trips(req *wire.Request) []wire.Trip {
	var g glibcRand
	g.seed(BookSeed(req))
	trips := make([]wire.Trip, g.next()%8)
	for i := range trips {
		trips[i] = wire.Trip{
			Date:      req.Date,
			Departure: req.Time,
			Duration:  uint16(g.next() % 200),
			Changes:   1,
			TrainType: interCity,
		}
	}
	return trips
}

// BookSeed is the book's srand argument, from.length()*3600 +
// to.length()*60 + time.hour(), in UTF-16 code units and with hour -1 for a
// null or invalid time, as the unsigned int srand takes: the all-null request
// seeds 4294967295.
func BookSeed(req *wire.Request) uint32 {
	return uint32(req.From.Len())*3600 + uint32(req.To.Len())*60 + uint32(int32(req.Time.Hour()))
}

// Static is a Generator that answers every request with the same trips.
// Static(nil) answers with none.
type Static []wire.Trip

// Trips returns s, whatever the request.
func (s Static) Trips(*wire.Request) []wire.Trip { return s }

// JSONTrip is one trip in the JSON trips format of ReadTrips, `serve --trips`
// and `query --format json`:
//
//	{"date": "2026-11-25", "departure": "09:00:00.000", "duration": 44,
//	 "changes": 1, "trainType": "InterCity"}
//
// date is yyyy-MM-dd (-yyyy-MM-dd before year 1), "@null" for the null date
// or "@jd(N)" for a raw Julian Day outside QDate's range; departure is
// HH:mm, HH:mm:ss or HH:mm:ss.zzz, "@null" for the null time or "@ms(N)" for
// an out-of-range value N; duration (minutes, 0 … 65535) and changes
// (0 … 255) default to 0; trainType is a string, "" for the empty QString,
// or null for the null QString. date, departure and trainType must be
// present. JSON cannot carry a lone UTF-16 surrogate (encoding/json turns
// one into U+FFFD); use a Static generator for those.
type JSONTrip struct {
	Date      string  `json:"date"`
	Departure string  `json:"departure"`
	Duration  uint16  `json:"duration"`
	Changes   uint8   `json:"changes"`
	TrainType *string `json:"trainType"`
}

// TripJSON returns t in the JSON trips format.
func TripJSON(t *wire.Trip) JSONTrip {
	j := JSONTrip{Date: t.Date.String(), Departure: t.Departure.String(), Duration: t.Duration, Changes: t.Changes}
	if !t.TrainType.IsNull() {
		s := t.TrainType.String()
		j.TrainType = &s
	}
	return j
}

// Trip converts j to a wire.Trip.
func (j *JSONTrip) Trip() (wire.Trip, error) {
	d, err := wire.ParseDate(j.Date)
	if err != nil {
		return wire.Trip{}, err
	}
	tm, err := wire.ParseTime(j.Departure)
	if err != nil {
		return wire.Trip{}, err
	}
	t := wire.Trip{Date: d, Departure: tm, Duration: j.Duration, Changes: j.Changes}
	if j.TrainType != nil {
		t.TrainType = wire.Str(*j.TrainType)
	}
	return t, nil
}

// ErrTripsFormat is matched by the errors of ReadTrips.
var ErrTripsFormat = errors.New("fakes: bad trips file")

// ReadTrips reads a JSON list of trips in the format of JSONTrip. Unknown
// fields are an error, and so is a missing date, departure or trainType.
func ReadTrips(r io.Reader) (Static, error) {
	var raw []json.RawMessage
	dec := json.NewDecoder(r)
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTripsFormat, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: more than one JSON value", ErrTripsFormat)
	}
	trips := make(Static, 0, len(raw))
	for i, obj := range raw {
		t, err := decodeJSONTrip(obj)
		if err != nil {
			return nil, fmt.Errorf("%w: trip[%d]: %w", ErrTripsFormat, i, err)
		}
		trips = append(trips, t)
	}
	return trips, nil
}

// LoadTrips reads a trips file with ReadTrips.
func LoadTrips(path string) (Static, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	trips, err := ReadTrips(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return trips, nil
}

func decodeJSONTrip(obj json.RawMessage) (wire.Trip, error) {
	var present map[string]json.RawMessage
	if err := json.Unmarshal(obj, &present); err != nil {
		return wire.Trip{}, err
	}
	for _, name := range []string{"date", "departure", "trainType"} {
		if _, ok := present[name]; !ok {
			return wire.Trip{}, fmt.Errorf("no %q", name)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(obj))
	dec.DisallowUnknownFields()
	var j JSONTrip
	if err := dec.Decode(&j); err != nil {
		return wire.Trip{}, err
	}
	return j.Trip()
}

// checkTrips reports a trip that no encoder can write in profile p: one whose
// block would be larger than the protocol allows.
func checkTrips(trips []wire.Trip, p wire.Profile) error {
	for i := range trips {
		if n := p.TripSize(&trips[i]); n > wire.MaxPayload {
			return fmt.Errorf("trip[%d]: %w: %d bytes in %v", i, wire.ErrBlockTooLarge, n, p)
		}
	}
	return nil
}
