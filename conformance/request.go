package conformance

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/tripcheck/tripcheck/fakes"
	"github.com/tripcheck/tripcheck/wire"
)

// DefaultRequest is the request scenarios send unless told otherwise:
// fakes.DefaultRequest, the book's example (Berlin to München on
// 2026-11-25, departing 09:00), as a value to change.
func DefaultRequest() wire.Request {
	return *fakes.DefaultRequest()
}

// fieldsHelp documents the field=value arguments of commands that build a
// request.
const fieldsHelp = `fields, each key=value, over the default request (Berlin to München,
2026-11-25, 09:00, D):
  type=S | type=0x58          request type, a character or a byte in hex
  from=TEXT | to=TEXT          city names; from= (nothing) is the empty string,
                               from=@null the null string,
                               from=@repeat(x,300) 300 times "x"
  from-hex=HEX | to-hex=HEX    raw UTF-16 bytes, not checked (odd lengths too)
  date=2026-11-25 | date=-0001-12-31 | date=@null | date=@jd(N)
  time=09:00 | time=09:00:00.000 | time=@null | time=@ms(86400000)
  flag=D | flag=A | flag=0x5a`

// ParseRequestFields applies key=value arguments to r.
func ParseRequestFields(r *wire.Request, args []string) error {
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return fmt.Errorf("%q is not key=value", a)
		}
		var err error
		switch k {
		case "type":
			r.Type, err = parseByte(v)
		case "flag":
			r.Flag, err = parseByte(v)
		case "from":
			r.From, err = parseString(v)
		case "to":
			r.To, err = parseString(v)
		case "from-hex", "to-hex":
			var raw []byte
			raw, err = hex.DecodeString(v)
			if k == "from-hex" {
				r.From = wire.StrRaw(raw)
			} else {
				r.To = wire.StrRaw(raw)
			}
		case "date":
			r.Date, err = wire.ParseDate(v)
		case "time":
			r.Time, err = wire.ParseTime(v)
		default:
			return fmt.Errorf("unknown field %q", k)
		}
		if err != nil {
			return fmt.Errorf("%s: %v", k, err)
		}
	}
	return nil
}

func parseByte(v string) (byte, error) {
	if len(v) == 1 {
		return v[0], nil
	}
	if strings.HasPrefix(v, "0x") {
		n, err := strconv.ParseUint(v[2:], 16, 8)
		return byte(n), err
	}
	return 0, fmt.Errorf("want one character or 0xNN, have %q", v)
}

func parseString(v string) (wire.String, error) {
	if v == "@null" {
		return wire.NullString(), nil
	}
	if strings.HasPrefix(v, "@repeat(") && strings.HasSuffix(v, ")") {
		s, n, ok := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(v, "@repeat("), ")"), ",")
		count, err := strconv.Atoi(n)
		if !ok || err != nil || count < 0 || count > 40000 {
			return wire.String{}, fmt.Errorf("want @repeat(TEXT,N), have %q", v)
		}
		return wire.Str(strings.Repeat(s, count)), nil
	}
	return wire.Str(v), nil
}
