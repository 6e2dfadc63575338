// Package splitmix is the SplitMix64 generator (Steele, Lea, Flood 2014),
// the one source of seeded random numbers in the module: write shapes,
// fuzz cases and generated trips. It is fixed here rather than taken from
// math/rand so that a printed seed replays the same run on any Go version.
package splitmix

// Source is a SplitMix64 generator; its value is its state, so a seed
// converted to Source is a generator ready to use. The zero value is the
// generator seeded with 0. A Source is not safe for concurrent use.
type Source uint64

// Next advances s and returns its next 64 random bits.
func (s *Source) Next() uint64 {
	*s += 0x9e3779b97f4a7c15
	z := uint64(*s)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
