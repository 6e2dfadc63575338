package livefuzz

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tripcheck/tripcheck/shape"
	"github.com/tripcheck/tripcheck/wire"
)

// The reproducer format, one "key value" line each, in this order, after
// comment lines starting with '#':
//
//	tripcheck-fuzz-repro v1
//	seed 42
//	case 1234
//	profile qt4
//	mutation odd-string+bit-flip
//	shape random-seed-7:1-16
//	verdict crash
//	detail probe: connection refused; the connection of case 1235, just after it, was refused
//	bytes 002c5300000006…
//
// The bytes are what is sent, in hex, in the shape (package shape's
// grammar). The seed and case number say where the case came from: NewCase
// gives the same bytes again.
const reproMagic = "tripcheck-fuzz-repro v1"

// ErrRepro is matched by the errors of a file that is not a reproducer.
var ErrRepro = errors.New("livefuzz: not a reproducer")

// Repro is a reproducer: a case and what it did.
type Repro struct {
	Case    Case
	Verdict Verdict
	Detail  string
}

// ReproName is the file name of a case's reproducer.
func ReproName(c *Case) string {
	return fmt.Sprintf("tripcheck-fuzz-%d-%d.repro", c.Seed, c.N)
}

// WriteRepro writes a failure as a reproducer.
func WriteRepro(w io.Writer, f *Failure) error {
	c := &f.Case
	oneLine := strings.Join(strings.Fields(f.Detail), " ")
	_, err := fmt.Fprintf(w, "# tripcheck fuzz reproducer: send it again with\n#   tripcheck fuzz --repro FILE ADDR\n%s\nseed %d\ncase %d\nprofile %v\nmutation %s\nshape %v\nverdict %v\ndetail %s\nbytes %x\n",
		reproMagic, c.Seed, c.N, c.Profile, c.Mutation, c.Shape, f.Verdict, oneLine, c.Bytes)
	return err
}

// ReadRepro reads a reproducer.
func ReadRepro(r io.Reader) (*Repro, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	keys := []string{"", "seed", "case", "profile", "mutation", "shape", "verdict", "detail", "bytes"}
	var rp Repro
	i, line := 0, 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.HasPrefix(text, "#") || (text == "" && i < len(keys)) {
			continue
		}
		if i == len(keys) {
			return nil, fmt.Errorf("%w: line %d: more after the bytes", ErrRepro, line)
		}
		if i == 0 {
			if text != reproMagic {
				return nil, fmt.Errorf("%w: line %d: want %q", ErrRepro, line, reproMagic)
			}
			i++
			continue
		}
		key, value, _ := strings.Cut(text, " ")
		if key != keys[i] {
			return nil, fmt.Errorf("%w: line %d: want %q, have %q", ErrRepro, line, keys[i], key)
		}
		var err error
		switch key {
		case "seed":
			rp.Case.Seed, err = strconv.ParseInt(value, 10, 64)
		case "case":
			rp.Case.N, err = strconv.Atoi(value)
		case "profile":
			rp.Case.Profile, err = wire.ParseProfile(value)
		case "mutation":
			rp.Case.Mutation = value
		case "shape":
			rp.Case.Shape, err = shape.Parse(value)
		case "verdict":
			rp.Verdict, err = ParseVerdict(value)
		case "detail":
			rp.Detail = value
		case "bytes":
			rp.Case.Bytes, err = hex.DecodeString(value)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %s: %v", ErrRepro, line, key, err)
		}
		i++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRepro, err)
	}
	if i < len(keys) {
		return nil, fmt.Errorf("%w: no %q line", ErrRepro, keys[i])
	}
	return &rp, nil
}
