package contract

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/tripcheck/tripcheck/wire"
)

// WriteTable prints trips for people as the book's Trip Planner window
// shows them (`tripcheck query`'s default output): date, departure,
// arrival (the departure plus the duration, wrapping at midnight as
// QTime::addSecs does), duration in hours and minutes, changes and train
// type, then "Found n trip(s)". A null or invalid date or time shows as
// @null, as the window shows nothing there. This is not the exec
// contract's output: that is Answer.
func WriteTable(w io.Writer, trips []wire.Trip) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Date\tDeparture\tArrival\tDuration\tChanges\tTrain type")
	for i := range trips {
		t := &trips[i]
		date, dep, arr := "@null", "@null", "@null"
		if t.Date.IsValid() {
			date = t.Date.String()
		}
		if t.Departure.IsValid() {
			ms := int64(t.Departure.Wire())
			dep = clock(ms)
			arr = clock((ms + int64(t.Duration)*60_000) % 86_400_000)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d hr %d min\t%d\t%s\n",
			date, dep, arr, t.Duration/60, t.Duration%60, t.Changes, t.TrainType.String())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "Found %d trip(s)\n", len(trips))
	return err
}

// clock is hh:mm of a time of day in milliseconds.
func clock(ms int64) string {
	return fmt.Sprintf("%02d:%02d", ms/3_600_000, ms/60_000%60)
}
