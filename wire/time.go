package wire

import (
	"encoding/binary"
	"fmt"
	"strconv"
)

// msPerDay is the number of milliseconds in a day; QTime values are below it.
const msPerDay = 86_400_000

// nullTime is how QDataStream writes a null or invalid QTime.
const nullTime = 0xFFFFFFFF

// Time is a QTime as it travels: null, or a quint32 count of milliseconds
// since midnight. Values of 86 400 000 or more (other than the null value
// 0xFFFFFFFF) are invalid but not null: QDataStream reads them without error.
// The zero value is the null time, as QTime() is.
type Time struct {
	ms  uint32
	set bool // false: null
}

// NullTime returns the null QTime (the zero Time).
func NullTime() Time { return Time{} }

// TimeMS returns the time whose wire value is ms. TimeMS(0xFFFFFFFF) is the
// null time; values from 86 400 000 up are invalid, non-null times.
func TimeMS(ms uint32) Time {
	if ms == nullTime {
		return Time{}
	}
	return Time{ms: ms, set: true}
}

// TimeOf returns h:m:s.ms, or the null time where that is not a time of day
// (24:00, 12:60), as QTime(h, m, s, ms) does.
func TimeOf(h, m, s, ms int) Time {
	if h < 0 || h > 23 || m < 0 || m > 59 || s < 0 || s > 59 || ms < 0 || ms > 999 {
		return Time{}
	}
	return Time{ms: uint32(((h*60+m)*60+s)*1000 + ms), set: true}
}

// IsNull reports whether t is the null time.
func (t Time) IsNull() bool { return !t.set }

// IsValid is QTime::isValid: not null and less than a day.
func (t Time) IsValid() bool { return t.set && t.ms < msPerDay }

// Wire is the quint32 QDataStream carries: 0xFFFFFFFF for null.
func (t Time) Wire() uint32 {
	if !t.set {
		return nullTime
	}
	return t.ms
}

// Hour is QTime::hour(): -1 for a null or invalid time.
func (t Time) Hour() int {
	if !t.IsValid() {
		return -1
	}
	return int(t.ms / 3_600_000)
}

// String is HH:mm:ss.zzz, "@null" for the null time, and "@ms(N)" for an
// invalid one.
func (t Time) String() string {
	if !t.set {
		return "@null"
	}
	if !t.IsValid() {
		return "@ms(" + strconv.FormatUint(uint64(t.ms), 10) + ")"
	}
	ms := t.ms
	return fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3_600_000, ms/60_000%60, ms/1000%60, ms%1000)
}

// ParseTime reads HH:mm, HH:mm:ss or HH:mm:ss.zzz, "@null", or "@ms(N)".
func ParseTime(s string) (Time, error) {
	if s == "@null" {
		return Time{}, nil
	}
	var ms uint32
	if n, err := fmt.Sscanf(s, "@ms(%d)", &ms); err == nil && n == 1 && s == "@ms("+strconv.FormatUint(uint64(ms), 10)+")" {
		return TimeMS(ms), nil
	}
	var h, m, sec, milli int
	ok := false
	switch len(s) {
	case 5:
		ok = s[2] == ':' && scanInts(s, &h, 0, 2, &m, 3, 5)
	case 8:
		ok = s[2] == ':' && s[5] == ':' && scanInts(s, &h, 0, 2, &m, 3, 5) && scanInts(s, &sec, 6, 8, nil, 0, 0)
	case 12:
		ok = s[2] == ':' && s[5] == ':' && s[8] == '.' && scanInts(s, &h, 0, 2, &m, 3, 5) && scanInts(s, &sec, 6, 8, &milli, 9, 12)
	}
	if !ok {
		return Time{}, fmt.Errorf("wire: time %q: want HH:mm[:ss[.zzz]] or @null", s)
	}
	t := TimeOf(h, m, sec, milli)
	if t.IsNull() {
		return Time{}, fmt.Errorf("wire: time %q is not a time of day", s)
	}
	return t, nil
}

func scanInts(s string, a *int, i, j int, b *int, k, l int) bool {
	v, err := strconv.Atoi(s[i:j])
	if err != nil || v < 0 {
		return false
	}
	*a = v
	if b == nil {
		return true
	}
	w, err := strconv.Atoi(s[k:l])
	if err != nil || w < 0 {
		return false
	}
	*b = w
	return true
}

// AppendTime appends a QTime: its quint32 wire value.
func AppendTime(b []byte, t Time) []byte {
	return binary.BigEndian.AppendUint32(b, t.Wire())
}

// ReadTime reads a QTime at b[off:] as QDataStream does. Cut short, it reads
// as 00:00:00.000 with ErrPastEnd, and the offset is len(b).
func ReadTime(b []byte, off int) (Time, int, error) {
	if off < 0 || len(b)-off < 4 {
		return Time{set: true}, len(b), ErrPastEnd
	}
	return TimeMS(binary.BigEndian.Uint32(b[off:])), off + 4, nil
}

// AppendUint8 appends a quint8.
func AppendUint8(b []byte, v uint8) []byte { return append(b, v) }

// ReadUint8 reads a quint8 at b[off:]; cut short, 0 with ErrPastEnd.
func ReadUint8(b []byte, off int) (uint8, int, error) {
	if off < 0 || off >= len(b) {
		return 0, len(b), ErrPastEnd
	}
	return b[off], off + 1, nil
}

// AppendUint16 appends a big-endian quint16.
func AppendUint16(b []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(b, v) }

// ReadUint16 reads a big-endian quint16 at b[off:]; cut short, 0 with
// ErrPastEnd.
func ReadUint16(b []byte, off int) (uint16, int, error) {
	if off < 0 || len(b)-off < 2 {
		return 0, len(b), ErrPastEnd
	}
	return binary.BigEndian.Uint16(b[off:]), off + 2, nil
}

// AppendUint32 appends a big-endian quint32.
func AppendUint32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }

// ReadUint32 reads a big-endian quint32 at b[off:]; cut short, 0 with
// ErrPastEnd.
func ReadUint32(b []byte, off int) (uint32, int, error) {
	if off < 0 || len(b)-off < 4 {
		return 0, len(b), ErrPastEnd
	}
	return binary.BigEndian.Uint32(b[off:]), off + 4, nil
}

// AppendInt64 appends a big-endian two's complement qint64.
func AppendInt64(b []byte, v int64) []byte { return binary.BigEndian.AppendUint64(b, uint64(v)) }

// ReadInt64 reads a big-endian qint64 at b[off:]; cut short, 0 with
// ErrPastEnd.
func ReadInt64(b []byte, off int) (int64, int, error) {
	if off < 0 || len(b)-off < 8 {
		return 0, len(b), ErrPastEnd
	}
	return int64(binary.BigEndian.Uint64(b[off:])), off + 8, nil
}
