// Package plural counts things in English for messages and reports:
// Count(1, "trip", "trips") is "1 trip", Count(3, "trip", "trips") is
// "3 trips". It is the one copy the suites, the reports, the exec contract's
// judge and tripfuzz share.
package plural

import "strconv"

// Count returns n and the word for n of them: one when n is 1, else many.
func Count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
