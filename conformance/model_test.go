package conformance_test

import (
	"encoding/json"
	"testing"

	"github.com/tripcheck/tripcheck/conformance"
)

func TestLevelText(t *testing.T) {
	for _, l := range []conformance.Level{conformance.Must, conformance.Should} {
		b, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		var back conformance.Level
		if err := json.Unmarshal(b, &back); err != nil || back != l {
			t.Errorf("%s: read back %v, %v", b, back, err)
		}
	}
	var l conformance.Level
	if err := json.Unmarshal([]byte(`"MAY"`), &l); err == nil {
		t.Error("MAY accepted")
	}
}
