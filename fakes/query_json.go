package fakes

import (
	"encoding/json"
	"io"
	"strconv"

	"github.com/tripcheck/tripcheck/wire"
)

// queryJSON is the output of tripcheck query --format json.
type queryJSON struct {
	Request struct {
		Profile string  `json:"profile"`
		From    *string `json:"from"`
		To      *string `json:"to"`
		Date    string  `json:"date"`
		Time    string  `json:"time"`
		Flag    string  `json:"flag"`
	} `json:"request"`
	Trips *[]JSONTrip `json:"trips,omitempty"` // absent on error
	Error string      `json:"error,omitempty"`
}

// WriteQueryJSON writes the answer to req (or, with reason set, why there is
// none) as tripcheck query --format json prints it: the request, then the
// trips in the JSON trips format of ReadTrips, or the error.
func WriteQueryJSON(w io.Writer, req *wire.Request, p wire.Profile, trips []wire.Trip, reason string) {
	var out queryJSON
	str := func(s wire.String) *string {
		if s.IsNull() {
			return nil
		}
		v := s.String()
		return &v
	}
	out.Request.Profile = p.String()
	out.Request.From, out.Request.To = str(req.From), str(req.To)
	out.Request.Date, out.Request.Time = req.Date.String(), req.Time.String()
	out.Request.Flag = string(rune(req.Flag))
	if reason != "" {
		out.Error = reason
	} else {
		js := make([]JSONTrip, len(trips))
		for i := range trips {
			js[i] = TripJSON(&trips[i])
		}
		out.Trips = &js
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil { // only plain values: cannot happen
		b = []byte(`{"error": ` + strconv.Quote(err.Error()) + `}`)
	}
	w.Write(append(b, '\n'))
}
