package plural

import "testing"

func TestCount(t *testing.T) {
	for _, c := range []struct {
		n    int
		want string
	}{{0, "0 trips"}, {1, "1 trip"}, {2, "2 trips"}, {-1, "-1 trips"}, {1000, "1000 trips"}} {
		if got := Count(c.n, "trip", "trips"); got != c.want {
			t.Errorf("Count(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}
