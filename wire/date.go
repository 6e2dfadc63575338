package wire

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
)

// Date is a QDate: null, or a Julian Day Number (1970-01-01 is 2440588) on
// the proleptic Gregorian calendar, without a year 0 (1 BC is year -1). The
// zero value is the null date, as QDate() is.
type Date struct {
	jd  int64
	set bool // false: null
}

// The range of Julian Days QDate holds as valid (Qt 5 and 6).
const (
	minJD = -784350574879
	maxJD = 784354017364
)

// nullJD is what QDate::toJulianDay returns for a null date, and what Qt5
// writes.
const nullJD = math.MinInt64

// NullDate returns the null QDate (the zero Date).
func NullDate() Date { return Date{} }

// DateJD returns the date with Julian Day jd. It is not null even where jd
// is 0 (which a Qt4 stream cannot tell from null) or out of QDate's range.
// DateJD(math.MinInt64) is the null date, as it reads back from Qt5.
func DateJD(jd int64) Date {
	if jd == nullJD {
		return Date{}
	}
	return Date{jd: jd, set: true}
}

// DateOf returns the date y-m-d, or the null date where y-m-d is not a date
// (month 13, 2026-02-30, year 0), as QDate(y, m, d) does.
func DateOf(y, m, d int) Date {
	if !validCivil(y, m, d) {
		return Date{}
	}
	return Date{jd: julianDay(int64(y), m, d), set: true}
}

// IsNull reports whether d is the null date.
func (d Date) IsNull() bool { return !d.set }

// IsValid is QDate::isValid: not null and within QDate's range.
func (d Date) IsValid() bool { return d.set && d.jd >= minJD && d.jd <= maxJD }

// JD is QDate::toJulianDay: the Julian Day, or math.MinInt64 for null.
func (d Date) JD() int64 {
	if !d.set {
		return nullJD
	}
	return d.jd
}

// Civil returns the year, month and day (year < 0 for BC; no year 0). It is
// 0, 0, 0 for the null date.
func (d Date) Civil() (year int64, month, day int) {
	if !d.set {
		return 0, 0, 0
	}
	return civil(d.jd)
}

// String is yyyy-MM-dd ("-0001-12-31" for 1 BC), "@null" for the null date,
// and "@jd(N)" for a Julian Day outside QDate's valid range.
func (d Date) String() string {
	if !d.set {
		return "@null"
	}
	if !d.IsValid() {
		return "@jd(" + strconv.FormatInt(d.jd, 10) + ")"
	}
	y, m, dd := civil(d.jd)
	sign := ""
	if y < 0 {
		sign, y = "-", -y
	}
	return fmt.Sprintf("%s%04d-%02d-%02d", sign, y, m, dd)
}

// ParseDate reads yyyy-MM-dd (with a leading '-' for BC), "@null", or
// "@jd(N)". A string that names no date (2026-02-30) is an error.
func ParseDate(s string) (Date, error) {
	if s == "@null" {
		return Date{}, nil
	}
	var jd int64
	if n, err := fmt.Sscanf(s, "@jd(%d)", &jd); err == nil && n == 1 && s == "@jd("+strconv.FormatInt(jd, 10)+")" {
		return DateJD(jd), nil
	}
	neg := false
	t := s
	if len(t) > 0 && t[0] == '-' {
		neg, t = true, t[1:]
	}
	if len(t) < 10 || t[len(t)-3] != '-' || t[len(t)-6] != '-' {
		return Date{}, fmt.Errorf("wire: date %q: want yyyy-MM-dd or @null", s)
	}
	y, err1 := strconv.ParseInt(t[:len(t)-6], 10, 64)
	m, err2 := strconv.Atoi(t[len(t)-5 : len(t)-3])
	dd, err3 := strconv.Atoi(t[len(t)-2:])
	if err1 != nil || err2 != nil || err3 != nil || y > math.MaxInt32 {
		return Date{}, fmt.Errorf("wire: date %q: want yyyy-MM-dd or @null", s)
	}
	if neg {
		y = -y
	}
	if !validCivil(int(y), m, dd) {
		return Date{}, fmt.Errorf("wire: date %q is not a date", s)
	}
	return Date{jd: julianDay(y, m, dd), set: true}, nil
}

// floorDiv is division rounding toward minus infinity, as Qt's floordiv.
func floorDiv(a, b int64) int64 {
	if a < 0 {
		a -= b - 1
	}
	return a / b
}

// julianDay is QDate's julianDayFromDate.
func julianDay(year int64, month, day int) int64 {
	if year < 0 {
		year++ // no year 0
	}
	a := floorDiv(int64(14-month), 12)
	y := year + 4800 - a
	m := int64(month) + 12*a - 3
	return int64(day) + floorDiv(153*m+2, 5) + 365*y + floorDiv(y, 4) - floorDiv(y, 100) + floorDiv(y, 400) - 32045
}

// civil is QDate's getDateFromJulianDay.
func civil(jd int64) (year int64, month, day int) {
	a := jd + 32044
	b := floorDiv(4*a+3, 146097)
	c := a - floorDiv(146097*b, 4)
	d := floorDiv(4*c+3, 1461)
	e := c - floorDiv(1461*d, 4)
	m := floorDiv(5*e+2, 153)
	day = int(e - floorDiv(153*m+2, 5) + 1)
	month = int(m + 3 - 12*floorDiv(m, 10))
	year = 100*b + d - 4800 + floorDiv(m, 10)
	if year <= 0 {
		year-- // no year 0
	}
	return year, month, day
}

func isLeap(y int) bool {
	if y < 1 {
		y++ // 1 BC is leap, like 4 AD
	}
	return y%4 == 0 && (y%100 != 0 || y%400 == 0)
}

func validCivil(y, m, d int) bool {
	if y == 0 || m < 1 || m > 12 || d < 1 {
		return false
	}
	days := [...]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m-1]
	if m == 2 && isLeap(y) {
		days = 29
	}
	return d <= days
}

// AppendDate appends a QDate in profile p. Qt4 writes the Julian Day cut to
// 32 bits and the null date as 0; Qt5 writes the qint64 Julian Day and the
// null date as math.MinInt64. Like QDataStream, it writes without error a Qt4
// date that reads back as another (Julian Day 0 reads back null).
func (p Profile) AppendDate(b []byte, d Date) []byte {
	if p == Qt4 {
		var v uint32
		if d.set {
			v = uint32(d.jd)
		}
		return binary.BigEndian.AppendUint32(b, v)
	}
	return binary.BigEndian.AppendUint64(b, uint64(d.JD()))
}

// ReadDate reads a QDate at b[off:] as QDataStream does in profile p. In Qt4,
// 0 is null. Cut short, it reads as Julian Day 0 (null in Qt4, a valid date in
// Qt5) with ErrPastEnd, and the offset is len(b).
func (p Profile) ReadDate(b []byte, off int) (Date, int, error) {
	n := p.DateSize()
	if off < 0 || len(b)-off < n {
		if p == Qt4 {
			return Date{}, len(b), ErrPastEnd
		}
		return Date{jd: 0, set: true}, len(b), ErrPastEnd
	}
	if p == Qt4 {
		v := binary.BigEndian.Uint32(b[off:])
		if v == 0 {
			return Date{}, off + 4, nil
		}
		return Date{jd: int64(v), set: true}, off + 4, nil
	}
	return DateJD(int64(binary.BigEndian.Uint64(b[off:]))), off + 8, nil
}
