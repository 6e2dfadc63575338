package fakes

// glibcRand is glibc's srand/rand: the additive feedback generator of
// random(3) with its default 128-byte state (TYPE_3, degree 31, separation 3),
// as glibc's srandom_r and random_r write it. The book's server seeds it with
// std::srand and draws with std::rand; reproducing it exactly is what makes
// the fake's replies equal the book's byte for byte.
//
// The zero value is not seeded; call seed first. A glibcRand is a value of a
// few words, so that each reply has its own without sharing or allocation.
type glibcRand struct {
	state [31]int32
	f, r  int // indexes of glibc's fptr and rptr
}

// seed is srand(seed): glibc's __srandom_r for TYPE_3.
func (g *glibcRand) seed(seed uint32) {
	if seed == 0 {
		seed = 1 // glibc: "we must make sure the seed is not 0"
	}
	g.state[0] = int32(seed)
	word := int32(seed)
	for i := 1; i < len(g.state); i++ {
		// glibc computes state[i] = (16807 * state[i-1]) % 2147483647
		// without overflowing 31 bits (Schrage's method), on a signed
		// 32-bit word; hi and lo are long int there, hence int64 here.
		hi := int64(word) / 127773
		lo := int64(word) % 127773
		word = int32(16807*lo - 2836*hi)
		if word < 0 {
			word += 2147483647
		}
		g.state[i] = word
	}
	g.f, g.r = 3, 0
	for range 10 * len(g.state) { // glibc discards 310 outputs
		g.next()
	}
}

// next is rand(): glibc's __random_r for TYPE_3.
func (g *glibcRand) next() int32 {
	val := uint32(g.state[g.f]) + uint32(g.state[g.r])
	g.state[g.f] = int32(val)
	g.f++
	g.r++
	if g.f == len(g.state) {
		g.f = 0
	} else if g.r == len(g.state) {
		g.r = 0
	}
	return int32(val >> 1)
}
