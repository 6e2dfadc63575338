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
//
// A client's reproducer (a reply case) has its own first line, and the
// search the client was given after the profile, as the exec contract's
// arguments (a string quoted as in Go, or @null):
//
//	tripcheck-fuzz-client-repro v1
//	seed 42
//	case 7
//	profile qt4
//	search "Berlin" @null 2026-11-25 12:00:00.000 D
//	mutation cut-block
//	…
const (
	reproMagic       = "tripcheck-fuzz-repro v1"
	clientReproMagic = "tripcheck-fuzz-client-repro v1"
)

// ErrRepro is matched by the errors of a file that is not a reproducer.
var ErrRepro = errors.New("livefuzz: not a reproducer")

// Repro is a reproducer: a case and what it did.
type Repro struct {
	Case    Case
	Verdict Verdict
	Detail  string
	// Search is the search a client was given: set for a client's
	// reproducer (a reply case), nil for a server's.
	Search *wire.Request
}

// ReplyCase is the reply case of a client's reproducer.
func (rp *Repro) ReplyCase() ReplyCase {
	c := ReplyCase{Case: rp.Case}
	if rp.Search != nil {
		c.Search = *rp.Search
	}
	return c
}

// ReproName is the file name of a case's reproducer.
func ReproName(c *Case) string {
	return fmt.Sprintf("tripcheck-fuzz-%d-%d.repro", c.Seed, c.N)
}

// ClientReproName is the file name of a reply case's reproducer.
func ClientReproName(c *ReplyCase) string {
	return fmt.Sprintf("tripcheck-fuzz-client-%d-%d.repro", c.Seed, c.N)
}

// WriteClientRepro writes a client's failure as a reproducer.
func WriteClientRepro(w io.Writer, f *ClientFailure) error {
	c := &f.Case
	oneLine := strings.Join(strings.Fields(f.Outcome.Detail), " ")
	_, err := fmt.Fprintf(w, "# tripcheck fuzz reproducer of a client: run it again with\n#   tripcheck fuzz --exec TEMPLATE --repro FILE\n%s\nseed %d\ncase %d\nprofile %v\nsearch %s\nmutation %s\nshape %v\nverdict %v\ndetail %s\nbytes %x\n",
		clientReproMagic, c.Seed, c.N, c.Profile, searchText(&c.Search), c.Mutation, c.Shape, f.Outcome.Verdict, oneLine, c.Bytes)
	return err
}

// parseSearch reads a search as searchText writes it.
func parseSearch(s string) (*wire.Request, error) {
	r := &wire.Request{Type: wire.TypeSearch}
	for _, dst := range []*wire.String{&r.From, &r.To} {
		s = strings.TrimLeft(s, " ")
		if rest, ok := strings.CutPrefix(s, "@null"); ok {
			*dst, s = wire.NullString(), rest
			continue
		}
		q, err := strconv.QuotedPrefix(s)
		if err != nil {
			return nil, fmt.Errorf("want a quoted string or @null: %v", err)
		}
		v, _ := strconv.Unquote(q)
		*dst, s = wire.Str(v), s[len(q):]
	}
	f := strings.Fields(s)
	if len(f) != 3 {
		return nil, fmt.Errorf("want FROM TO DATE TIME FLAG")
	}
	var err error
	if r.Date, err = wire.ParseDate(f[0]); err != nil {
		return nil, err
	}
	if r.Time, err = wire.ParseTime(f[1]); err != nil {
		return nil, err
	}
	if f[2] != "D" && f[2] != "A" {
		return nil, fmt.Errorf("flag %q: want D or A", f[2])
	}
	r.Flag = f[2][0]
	return r, nil
}

// WriteRepro writes a failure as a reproducer.
func WriteRepro(w io.Writer, f *Failure) error {
	c := &f.Case
	oneLine := strings.Join(strings.Fields(f.Detail), " ")
	_, err := fmt.Fprintf(w, "# tripcheck fuzz reproducer: send it again with\n#   tripcheck fuzz --repro FILE ADDR\n%s\nseed %d\ncase %d\nprofile %v\nmutation %s\nshape %v\nverdict %v\ndetail %s\nbytes %x\n",
		reproMagic, c.Seed, c.N, c.Profile, c.Mutation, c.Shape, f.Verdict, oneLine, c.Bytes)
	return err
}

// ReadRepro reads a reproducer, a server's or a client's.
func ReadRepro(r io.Reader) (*Repro, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	keys := []string{"", "seed", "case", "profile", "mutation", "shape", "verdict", "detail", "bytes"}
	clientKeys := []string{"", "seed", "case", "profile", "search", "mutation", "shape", "verdict", "detail", "bytes"}
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
			switch text {
			case reproMagic:
			case clientReproMagic:
				keys = clientKeys
			default:
				return nil, fmt.Errorf("%w: line %d: want %q or %q", ErrRepro, line, reproMagic, clientReproMagic)
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
		case "search":
			rp.Search, err = parseSearch(value)
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
