package splitmix_test

import (
	"testing"

	"github.com/tripcheck/tripcheck/internal/splitmix"
)

// TestSource pins the generator to the reference outputs of SplitMix64, so
// that a seed means the same thing here as in any other implementation.
func TestSource(t *testing.T) {
	tests := []struct {
		name string
		seed uint64
		want []uint64
	}{
		{"seed 0", 0, []uint64{0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f}},
		{"seed 1234567", 1234567, []uint64{6457827717110365317, 3203168211198807973, 9817491932198370423, 4593380528125082431, 16408922859458223821}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := splitmix.Source(tt.seed)
			for i, want := range tt.want {
				if got := g.Next(); got != want {
					t.Errorf("output %d = %#x, want %#x", i, got, want)
				}
			}
		})
	}
}
