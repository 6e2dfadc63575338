package fakes

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The first rand() values after srand(1), as glibc gives them (and as
// every C programmer has seen).
func TestGlibcRandSrand1(t *testing.T) {
	want := []int32{1804289383, 846930886, 1681692777, 1714636915, 1957747793}
	var g glibcRand
	g.seed(1)
	for i, w := range want {
		if got := g.next(); got != w {
			t.Errorf("srand(1): rand() #%d = %d, want %d", i+1, got, w)
		}
	}
}

// goldenRand reads testdata/glibc-rand.txt, made by glibc itself (see the
// file's header): seed → the first rand() values.
func goldenRand(t *testing.T) map[uint32][]int32 {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "glibc-rand.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[uint32][]int32{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		seed, vals, err := parseRandLine(line)
		if err != nil {
			t.Fatalf("glibc-rand.txt:%d: %v", n, err)
		}
		out[seed] = vals
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) < 40 {
		t.Fatalf("glibc-rand.txt: only %d seeds", len(out))
	}
	return out
}

// parseRandLine reads "SEED v1 v2 ...".
func parseRandLine(line string) (uint32, []int32, error) {
	f := strings.Fields(line)
	if len(f) < 2 {
		return 0, nil, fmt.Errorf("short line %q", line)
	}
	seed, err := strconv.ParseUint(f[0], 10, 32)
	if err != nil {
		return 0, nil, err
	}
	vals := make([]int32, len(f)-1)
	for i, s := range f[1:] {
		v, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return 0, nil, err
		}
		vals[i] = int32(v)
	}
	return uint32(seed), vals, nil
}

func TestGlibcRandGolden(t *testing.T) {
	for seed, want := range goldenRand(t) {
		var g glibcRand
		g.seed(seed)
		ref := newRefRand(seed)
		for i, w := range want {
			got, r := g.next(), ref.next()
			if got != w || r != w {
				t.Errorf("srand(%d): rand() #%d = %d (reference %d), glibc %d", seed, i+1, got, r, w)
				break
			}
		}
	}
}

// refRand is an independent reference of glibc's rand for tests, written
// from the mathematics (Peter Selinger, "The GLIBC pseudo-random number
// generator") rather than from glibc's code, as one long sequence:
//
//	r[0] = seed; r[i] = 16807·r[i-1] mod (2^31-1) for i in 1…30, in 64-bit
//	arithmetic (not Schrage's method); r[i] = r[i-31] for i in 31…33;
//	r[i] = r[i-3] + r[i-31] mod 2^32 from 34 on; rand() #k = r[k+343] >> 1.
type refRand struct {
	r []uint32
}

func newRefRand(seed uint32) *refRand {
	if seed == 0 {
		seed = 1
	}
	const m = 2147483647
	r := make([]uint32, 31, 31+310+64)
	r[0] = seed
	x := int64(int32(seed)) % m // glibc works on the seed as a signed 32-bit word
	if x < 0 {
		x += m
	}
	for i := 1; i < 31; i++ {
		x = x * 16807 % m
		r[i] = uint32(x)
	}
	r = append(r, r[0], r[1], r[2])
	ref := &refRand{r: r}
	for range 310 { // r[34] … r[343]
		ref.step()
	}
	return ref
}

func (g *refRand) step() uint32 {
	n := len(g.r)
	v := g.r[n-31] + g.r[n-3]
	g.r = append(g.r, v)
	if len(g.r) > 4096 {
		g.r = append(g.r[:0], g.r[len(g.r)-31:]...)
	}
	return v
}

func (g *refRand) next() int32 { return int32(g.step() >> 1) }

// glibcProgram builds testdata/glibc_rand.c, or skips the test when there
// is no C compiler.
func glibcProgram(t *testing.T) string {
	t.Helper()
	bin, ok := buildGlibc(t)
	if !ok {
		t.Skip("gcc not found: the comparison with the C library is skipped (testdata/glibc-rand.txt still pins it)")
	}
	return bin
}

// buildGlibc builds testdata/glibc_rand.c into the test's temporary
// directory; ok is false when there is no C compiler.
func buildGlibc(t *testing.T) (bin string, ok bool) {
	t.Helper()
	cc, err := exec.LookPath("gcc")
	if err != nil {
		return "", false
	}
	bin = filepath.Join(t.TempDir(), "glibc_rand")
	out, err := exec.Command(cc, "-O2", "-o", bin, filepath.Join("testdata", "glibc_rand.c")).CombinedOutput()
	if err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	return bin, true
}

// glibcSequences runs the C program for seeds and returns n values each.
func glibcSequences(t *testing.T, bin string, n int, seeds []uint32) map[uint32][]int32 {
	t.Helper()
	var in strings.Builder
	for _, s := range seeds {
		fmt.Fprintln(&in, s)
	}
	cmd := exec.Command(bin, strconv.Itoa(n))
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("glibc_rand: %v", err)
	}
	got := map[uint32][]int32{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		seed, vals, err := parseRandLine(line)
		if err != nil {
			t.Fatal(err)
		}
		got[seed] = vals
	}
	return got
}

// With a C compiler at hand, compare with the machine's own glibc on
// seeds drawn from a printed seed.
func TestGlibcRandAgainstC(t *testing.T) {
	bin := glibcProgram(t)
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	seeds := []uint32{0, 1, 1 << 31, 1<<32 - 1}
	for range 500 {
		seeds = append(seeds, rng.Uint32())
	}
	want := glibcSequences(t, bin, 40, seeds)
	for _, s := range seeds {
		var g glibcRand
		g.seed(s)
		for i, w := range want[s] {
			if got := g.next(); got != w {
				t.Fatalf("srand(%d): rand() #%d = %d, glibc %d", s, i+1, got, w)
			}
		}
	}
}
