// Package qtvectors reads testdata/vectors/qt-vectors.txt, the Trip
// encodings written by real QDataStream, and turns the comment that documents
// each line into wire values, so that tests check every line by its name
// against what the comment says.
package qtvectors

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"

	"github.com/tripcheck/tripcheck/wire"
)

// Vector is one line of the file.
type Vector struct {
	Profile string // qt4, qt5 or qt6 as written in the file
	Kind    string // qstring, qdate, qtime, request, trip, end, reply, decode
	Label   string
	Bytes   []byte
	Comment string // the text after "# <profile> <kind> <label>: "
	Line    int
}

// Name is "<profile>/<kind>/<label>", unique in the file.
func (v Vector) Name() string { return v.Profile + "/" + v.Kind + "/" + v.Label }

// WireProfile is the wire profile of the line: qt6 lines use Qt5's layout.
func (v Vector) WireProfile() wire.Profile {
	p, err := wire.ParseProfile(v.Profile)
	if err != nil {
		panic(err) // Parse accepts only the three names
	}
	return p
}

// Path is the file's path in this repository.
func Path() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "vectors", "qt-vectors.txt")
}

// Load reads the repository's vector file.
func Load() ([]Vector, error) {
	b, err := os.ReadFile(Path())
	if err != nil {
		return nil, err
	}
	return Parse(b)
}

// Parse reads the vector format: "<profile> <kind> <label> <hex>" lines, each
// after a "# <profile> <kind> <label>: <comment>" line.
func Parse(b []byte) ([]Vector, error) {
	var out []Vector
	seen := map[string]bool{}
	comment := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			comment = line
			continue
		}
		f := strings.Split(line, " ")
		if len(f) != 4 {
			return nil, fmt.Errorf("line %d: want 4 fields, have %d", n, len(f))
		}
		if f[0] != "qt4" && f[0] != "qt5" && f[0] != "qt6" {
			return nil, fmt.Errorf("line %d: profile %q", n, f[0])
		}
		raw, err := hex.DecodeString(f[3])
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", n, err)
		}
		v := Vector{Profile: f[0], Kind: f[1], Label: f[2], Bytes: raw, Line: n}
		prefix := "# " + f[0] + " " + f[1] + " " + f[2] + ": "
		if !strings.HasPrefix(comment, prefix) {
			return nil, fmt.Errorf("line %d: %s has no comment line before it", n, v.Name())
		}
		v.Comment = strings.TrimPrefix(comment, prefix)
		if seen[v.Name()] {
			return nil, fmt.Errorf("line %d: %s twice", n, v.Name())
		}
		seen[v.Name()] = true
		out = append(out, v)
		comment = ""
	}
	return out, sc.Err()
}

// Find returns the vector with the given profile, kind and label.
func Find(vs []Vector, profile, kind, label string) (Vector, bool) {
	for _, v := range vs {
		if v.Profile == profile && v.Kind == kind && v.Label == label {
			return v, true
		}
	}
	return Vector{}, false
}

// Lookup loads the repository's vector file and finds one vector in it.
func Lookup(profile, kind, label string) (Vector, error) {
	vs, err := Load()
	if err != nil {
		return Vector{}, err
	}
	v, ok := Find(vs, profile, kind, label)
	if !ok {
		return Vector{}, fmt.Errorf("no vector %s %s %s", profile, kind, label)
	}
	return v, nil
}

var (
	reUnitsQuoted = regexp.MustCompile(`^"(.*)" \((\d+) UTF-16 units\)$`)
	reUnitsHex    = regexp.MustCompile(`^UTF-16 \[([0-9a-f ]*)\] \((\d+) units\)$`)
	reRepeat      = regexp.MustCompile(`^'(.)' x (\d+) \((\d+) UTF-16 units\)$`)
	reDate        = regexp.MustCompile(`^(-?\d{4,}-\d\d-\d\d) \(jd=(-?\d+)\)$`)
	reTime        = regexp.MustCompile(`^(\d\d:\d\d:\d\d\.\d\d\d) \(ms=(\d+)\)$`)
	reTimeInvalid = regexp.MustCompile(`^invalid QTime \(msecsSinceStartOfDay\(\)=(-?\d+)\)$`)
)

// String reads a QString as the comments describe one.
func String(s string) (wire.String, error) {
	switch s {
	case "null QString()":
		return wire.NullString(), nil
	case `empty QString("")`:
		return wire.Str(""), nil
	}
	if m := reUnitsQuoted.FindStringSubmatch(s); m != nil {
		v := wire.Str(m[1])
		if strconv.Itoa(v.Len()) != m[2] {
			return v, fmt.Errorf("%q: %d units, comment says %s", s, v.Len(), m[2])
		}
		return v, nil
	}
	if m := reUnitsHex.FindStringSubmatch(s); m != nil {
		var units []uint16
		for _, h := range strings.Fields(m[1]) {
			u, err := strconv.ParseUint(h, 16, 16)
			if err != nil {
				return wire.String{}, err
			}
			units = append(units, uint16(u))
		}
		if strconv.Itoa(len(units)) != m[2] {
			return wire.String{}, fmt.Errorf("%q: unit count", s)
		}
		return wire.StrUnits(units), nil
	}
	if m := reRepeat.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[2])
		return wire.Str(strings.Repeat(m[1], n)), nil
	}
	return wire.String{}, fmt.Errorf("qtvectors: no QString in %q", s)
}

// Date reads a QDate as the comments describe one, and checks that the
// civil date written beside the Julian Day is wire's rendering of it.
func Date(s string) (wire.Date, error) {
	if s == "null QDate()" {
		return wire.NullDate(), nil
	}
	m := reDate.FindStringSubmatch(s)
	if m == nil {
		return wire.Date{}, fmt.Errorf("qtvectors: no QDate in %q", s)
	}
	jd, err := strconv.ParseInt(m[2], 10, 64)
	if err != nil {
		return wire.Date{}, err
	}
	d := wire.DateJD(jd)
	if d.String() != m[1] {
		return d, fmt.Errorf("qtvectors: jd %d is %s in wire, %s in Qt", jd, d, m[1])
	}
	return d, nil
}

// Time reads a QTime as the comments describe one.
func Time(s string) (wire.Time, error) {
	if s == "null QTime()" {
		return wire.NullTime(), nil
	}
	if m := reTime.FindStringSubmatch(s); m != nil {
		ms, _ := strconv.ParseUint(m[2], 10, 32)
		t := wire.TimeMS(uint32(ms))
		if t.String() != m[1] {
			return t, fmt.Errorf("qtvectors: ms %d is %s in wire, %s in Qt", ms, t, m[1])
		}
		return t, nil
	}
	if m := reTimeInvalid.FindStringSubmatch(s); m != nil {
		ms, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			return wire.Time{}, err
		}
		return wire.TimeMS(uint32(int32(ms))), nil
	}
	return wire.Time{}, fmt.Errorf("qtvectors: no QTime in %q", s)
}

// Fields splits "a=1; b=2; c=3 bytes" into a map.
func Fields(s string) map[string]string {
	m := map[string]string{}
	for _, f := range strings.Split(s, "; ") {
		k, v, ok := strings.Cut(f, "=")
		if ok {
			m[k] = v
		}
	}
	return m
}

// Request reads a request comment into a wire.Request and the block length
// it gives.
func Request(comment string) (wire.Request, int, error) {
	f := Fields(comment)
	var r wire.Request
	var errs []error
	var err error
	r.Type = wire.TypeSearch
	r.From, err = String(f["from"])
	errs = append(errs, err)
	r.To, err = String(f["to"])
	errs = append(errs, err)
	r.Date, err = Date(f["date"])
	errs = append(errs, err)
	r.Time, err = Time(f["time"])
	errs = append(errs, err)
	flag, err := strconv.Unquote(f["flag"])
	errs = append(errs, err)
	if len(flag) == 1 {
		r.Flag = flag[0]
	}
	n, err := blockLen(f["block"])
	errs = append(errs, err)
	return r, n, errors.Join(errs...)
}

// Trip reads a trip comment into a wire.Trip and the block length it gives.
func Trip(comment string) (wire.Trip, int, error) {
	f := Fields(comment)
	var t wire.Trip
	var errs []error
	var err error
	t.Date, err = Date(f["date"])
	errs = append(errs, err)
	t.Departure, err = Time(f["departure"])
	errs = append(errs, err)
	d, err := strconv.ParseUint(f["duration"], 10, 16)
	errs = append(errs, err)
	c, err := strconv.ParseUint(f["changes"], 10, 8)
	errs = append(errs, err)
	t.Duration, t.Changes = uint16(d), uint8(c)
	t.TrainType, err = String(f["trainType"])
	errs = append(errs, err)
	n, err := blockLen(f["block"])
	errs = append(errs, err)
	return t, n, errors.Join(errs...)
}

func blockLen(s string) (int, error) {
	return strconv.Atoi(strings.TrimSuffix(s, " bytes"))
}

// Reply is what a reply comment says.
type Reply struct {
	Request string // the label of the request it answers
	Seed    uint32 // the srand argument
	FromLen int
	ToLen   int
	Hour    int
	Trips   int
	Bytes   int
}

var reReply = regexp.MustCompile(`^book algorithm for request '([^']+)': srand\((\d+)\) \(from\.length\(\)=(\d+), to\.length\(\)=(\d+), time\.hour\(\)=(-?\d+)\); (\d+) trip\(s\) then 0xFFFF; (\d+) bytes$`)

// ParseReply reads a reply comment.
func ParseReply(comment string) (Reply, error) {
	m := reReply.FindStringSubmatch(comment)
	if m == nil {
		return Reply{}, fmt.Errorf("qtvectors: not a reply comment: %q", comment)
	}
	seed, _ := strconv.ParseUint(m[2], 10, 32)
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
	return Reply{Request: m[1], Seed: uint32(seed), FromLen: atoi(m[3]), ToLen: atoi(m[4]), Hour: atoi(m[5]), Trips: atoi(m[6]), Bytes: atoi(m[7])}, nil
}

// Decode is what a decode comment says: the type read, the value as the
// comment writes it, and the QDataStream status.
type Decode struct {
	Type   string // QString, QDate, QTime
	Value  string
	Status string // Ok, ReadPastEnd, ReadCorruptData
}

var reDecode = regexp.MustCompile(`^these bytes read as (QString|QDate|QTime): reads as (.*), status (Ok|ReadPastEnd|ReadCorruptData)$`)

// ParseDecode reads a decode comment.
func ParseDecode(comment string) (Decode, error) {
	m := reDecode.FindStringSubmatch(comment)
	if m == nil {
		return Decode{}, fmt.Errorf("qtvectors: not a decode comment: %q", comment)
	}
	return Decode{Type: m[1], Value: m[2], Status: m[3]}, nil
}

// Field is what a qstring, qdate or qtime comment says: the value written
// and the value read back with its status.
type Field struct {
	Written string
	Read    string
	Status  string
	Hour    string // qtime only: hour() of the value written
}

var reField = regexp.MustCompile(`^(.*?)(?:, hour\(\)=(-?\d+))?; reads back as (.*), status (Ok|ReadPastEnd|ReadCorruptData)$`)

// ParseField reads a qstring, qdate or qtime comment.
func ParseField(comment string) (Field, error) {
	m := reField.FindStringSubmatch(comment)
	if m == nil {
		return Field{}, fmt.Errorf("qtvectors: not a field comment: %q", comment)
	}
	return Field{Written: m[1], Hour: m[2], Read: m[3], Status: m[4]}, nil
}
