package fakes

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tripcheck/tripcheck/wire"
)

func TestReadTrips(t *testing.T) {
	in := `[
	  {"date": "2026-11-25", "departure": "09:00", "duration": 44, "changes": 1, "trainType": "InterCity"},
	  {"date": "@null", "departure": "@null", "trainType": null},
	  {"date": "-0001-12-31", "departure": "23:59:59.999", "duration": 65535, "changes": 255, "trainType": ""},
	  {"date": "@jd(0)", "departure": "@ms(86400000)", "trainType": "ICE 🚆"}
	]`
	got, err := ReadTrips(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := Static{
		{Date: wire.DateOf(2026, 11, 25), Departure: wire.TimeOf(9, 0, 0, 0), Duration: 44, Changes: 1, TrainType: wire.Str("InterCity")},
		{},
		{Date: wire.DateOf(-1, 12, 31), Departure: wire.TimeOf(23, 59, 59, 999), Duration: 65535, Changes: 255, TrainType: wire.Str("")},
		{Date: wire.DateJD(0), Departure: wire.TimeMS(86_400_000), TrainType: wire.Str("ICE 🚆")},
	}
	if len(got) != len(want) {
		t.Fatalf("%d trips, want %d", len(got), len(want))
	}
	for i := range want {
		if !got[i].Equal(&want[i]) {
			t.Errorf("trip %d: %v, want %v", i, &got[i], &want[i])
		}
		// TripJSON is the inverse.
		j := TripJSON(&got[i])
		back, err := j.Trip()
		if err != nil || !back.Equal(&got[i]) {
			t.Errorf("trip %d: TripJSON → Trip: %v, %v", i, &back, err)
		}
	}
	if got, err := ReadTrips(strings.NewReader(" [ ] ")); err != nil || got == nil || len(got) != 0 {
		t.Errorf("empty list: %v, %v", got, err)
	}
}

func TestReadTripsErrors(t *testing.T) {
	for name, in := range map[string]string{
		"not-json":         `[{`,
		"not-a-list":       `{"date": "@null"}`,
		"two-values":       `[] []`,
		"no-date":          `[{"departure": "09:00", "trainType": "x"}]`,
		"no-departure":     `[{"date": "2026-11-25", "trainType": "x"}]`,
		"no-train-type":    `[{"date": "2026-11-25", "departure": "09:00"}]`,
		"unknown-field":    `[{"date": "2026-11-25", "departure": "09:00", "trainType": "x", "platform": 3}]`,
		"bad-date":         `[{"date": "2026-02-30", "departure": "09:00", "trainType": "x"}]`,
		"bad-time":         `[{"date": "2026-11-25", "departure": "24:00", "trainType": "x"}]`,
		"duration-too-big": `[{"date": "2026-11-25", "departure": "09:00", "duration": 65536, "trainType": "x"}]`,
		"changes-negative": `[{"date": "2026-11-25", "departure": "09:00", "changes": -1, "trainType": "x"}]`,
		"train-type-num":   `[{"date": "2026-11-25", "departure": "09:00", "trainType": 7}]`,
	} {
		if _, err := ReadTrips(strings.NewReader(in)); !errors.Is(err, ErrTripsFormat) {
			t.Errorf("%s: %v, want ErrTripsFormat", name, err)
		}
	}
}

func TestLoadTrips(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trips.json")
	if err := os.WriteFile(path, []byte(`[{"date": "2026-11-25", "departure": "09:00", "trainType": "RE"}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := LoadTrips(path)
	if err != nil || len(got) != 1 || got[0].TrainType.String() != "RE" {
		t.Errorf("%v, %v", got, err)
	}
	if _, err := LoadTrips(filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
