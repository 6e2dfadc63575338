package wire

import (
	"encoding/binary"
	"fmt"
	"strconv"
)

// Block framing constants.
const (
	// MaxPayload is the largest payload a block may carry: the size value
	// 0xFFFF is reserved for the end marker.
	MaxPayload = 0xFFFE
	// EndMarker is the size value that ends a reply.
	EndMarker = 0xFFFF
)

// Request types and flags.
const (
	TypeSearch    = 'S' // the only request type
	FlagDeparture = 'D' // the time is a departure time
	FlagArrival   = 'A' // the time is an arrival time
)

// Request is the client's one block.
type Request struct {
	Type byte   // 'S'
	From String // departure city
	To   String // arrival city
	Date Date   // date of travel
	Time Time   // approximate time of travel
	Flag byte   // 'D' or 'A'
}

// Trip is one block of the server's reply.
type Trip struct {
	Date      Date   // departure date
	Departure Time   // departure time
	Duration  uint16 // minutes
	Changes   uint8
	TrainType String
}

// Clone returns a copy of r that owns its strings.
func (r Request) Clone() Request {
	r.From, r.To = r.From.Clone(), r.To.Clone()
	return r
}

// Clone returns a copy of t that owns its strings.
func (t Trip) Clone() Trip {
	t.TrainType = t.TrainType.Clone()
	return t
}

// Equal reports whether r and s hold the same values.
func (r *Request) Equal(s *Request) bool {
	return r.Type == s.Type && r.From.Equal(s.From) && r.To.Equal(s.To) &&
		r.Date == s.Date && r.Time == s.Time && r.Flag == s.Flag
}

// Equal reports whether t and u hold the same values.
func (t *Trip) Equal(u *Trip) bool {
	return t.Date == u.Date && t.Departure == u.Departure && t.Duration == u.Duration &&
		t.Changes == u.Changes && t.TrainType.Equal(u.TrainType)
}

func (r *Request) String() string {
	return fmt.Sprintf("request{type %s, from %s, to %s, date %s, time %s, flag %s}",
		quoteByte(r.Type), r.From.Quote(), r.To.Quote(), r.Date, r.Time, quoteByte(r.Flag))
}

func (t *Trip) String() string {
	return fmt.Sprintf("trip{date %s, departure %s, duration %d, changes %d, trainType %s}",
		t.Date, t.Departure, t.Duration, t.Changes, t.TrainType.Quote())
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf("0x%02x", c)
}

// Validate reports what in r a conforming client must not send: a type other
// than 'S' (ErrUnknownType), a flag other than 'D' or 'A' (ErrBadFlag), an odd
// string (ErrOddStringLength), a time out of range (ErrInvalidTime). Null and
// empty values are valid. The error is a *DecodeError naming the field; its
// Offset is -1, since where a field lies depends on the profile: see
// Profile.ValidateRequest, which gives it.
func (r *Request) Validate() error {
	if fe := validateRequest(0, r); fe.err != nil {
		return fe.asError("request.", -1, 0)
	}
	return nil
}

// Validate reports what in t a conforming server must not send: an odd string
// or a time out of range. The error's Offset is -1; Profile.ValidateTrip
// gives it.
func (t *Trip) Validate() error {
	if fe := validateTrip(0, t); fe.err != nil {
		return fe.asError("trip.", -1, 0)
	}
	return nil
}

// ValidateRequest is Request.Validate with the place of the fault: the
// *DecodeError's Offset is the payload offset (after the size field) of the
// first byte of the field at fault as p encodes r, as with DecodeRequest.
func (p Profile) ValidateRequest(r *Request) error {
	if fe := validateRequest(p, r); fe.err != nil {
		return fe.asError("request.", 0, 0)
	}
	return nil
}

// ValidateTrip is Trip.Validate with the place of the fault: the payload
// offset of the field at fault as p encodes t.
func (p Profile) ValidateTrip(t *Trip) error {
	if fe := validateTrip(p, t); fe.err != nil {
		return fe.asError("trip.", 0, 0)
	}
	return nil
}

// validateRequest applies the rules of Validate; the offset of the fault is
// the payload offset in profile p (meaningless for p 0, whose callers drop
// it). Faults are found in field order, so the first is the earliest.
func validateRequest(p Profile, r *Request) fieldError {
	from := 1
	to := from + r.From.WireSize()
	date := to + r.To.WireSize()
	tm := date + p.DateSize()
	flag := tm + 4
	switch {
	case r.Type != TypeSearch:
		return fieldError{field: fType, off: 0, err: ErrUnknownType, info: "type " + quoteByte(r.Type)}
	case len(r.From.raw)%2 != 0:
		return fieldError{field: fFrom, off: from, err: ErrOddStringLength}
	case len(r.To.raw)%2 != 0:
		return fieldError{field: fTo, off: to, err: ErrOddStringLength}
	case r.Time.set && !r.Time.IsValid():
		return fieldError{field: fTime, off: tm, err: ErrInvalidTime, info: r.Time.String()}
	case r.Flag != FlagDeparture && r.Flag != FlagArrival:
		return fieldError{field: fFlag, off: flag, err: ErrBadFlag, info: "flag " + quoteByte(r.Flag)}
	}
	return fieldError{}
}

// validateTrip applies the rules of Trip.Validate, as validateRequest.
func validateTrip(p Profile, t *Trip) fieldError {
	dep := p.DateSize()
	train := dep + 4 + 2 + 1
	switch {
	case t.Departure.set && !t.Departure.IsValid():
		return fieldError{field: fDeparture, off: dep, err: ErrInvalidTime, info: t.Departure.String()}
	case len(t.TrainType.raw)%2 != 0:
		return fieldError{field: fTrainType, off: train, err: ErrOddStringLength}
	}
	return fieldError{}
}

// RequestSize is the payload size of r in profile p.
func (p Profile) RequestSize(r *Request) int {
	return 1 + r.From.WireSize() + r.To.WireSize() + p.DateSize() + 4 + 1
}

// TripSize is the payload size of t in profile p.
func (p Profile) TripSize(t *Trip) int {
	return p.DateSize() + 4 + 2 + 1 + t.TrainType.WireSize()
}

// Encoder writes blocks in one profile. The zero AllowIllegalWrites refuses
// what a conforming peer must not send; a conformance toolkit sets it to
// write such things on purpose.
type Encoder struct {
	Profile Profile
	// AllowIllegalWrites permits a type other than 'S', a flag other than D
	// or A, odd string lengths, times out of range, SizeDelta and Trailing.
	AllowIllegalWrites bool
	// SizeDelta is added to the size field of every block written, so that it
	// lies about the payload.
	SizeDelta int
	// Trailing is written inside every block after its last field.
	Trailing []byte
}

// AppendRequest appends r as one block (size included) to b.
func (p Profile) AppendRequest(b []byte, r *Request) ([]byte, error) {
	return Encoder{Profile: p}.AppendRequest(b, r)
}

// AppendTrip appends t as one block (size included) to b.
func (p Profile) AppendTrip(b []byte, t *Trip) ([]byte, error) {
	return Encoder{Profile: p}.AppendTrip(b, t)
}

// AppendEnd appends the end marker 0xFFFF.
func AppendEnd(b []byte) []byte { return append(b, 0xFF, 0xFF) }

// AppendRequest appends r as one block (size included) to b. On error b is
// returned unchanged.
func (e Encoder) AppendRequest(b []byte, r *Request) ([]byte, error) {
	if err := e.check(r.Validate()); err != nil {
		return b, err
	}
	start := len(b)
	b = append(b, 0, 0, r.Type)
	b = AppendString(b, r.From)
	b = AppendString(b, r.To)
	b = e.Profile.AppendDate(b, r.Date)
	b = AppendTime(b, r.Time)
	b = append(b, r.Flag)
	return e.finish(b, start)
}

// AppendTrip appends t as one block (size included) to b. On error b is
// returned unchanged.
func (e Encoder) AppendTrip(b []byte, t *Trip) ([]byte, error) {
	if err := e.check(t.Validate()); err != nil {
		return b, err
	}
	start := len(b)
	b = append(b, 0, 0)
	b = e.Profile.AppendDate(b, t.Date)
	b = AppendTime(b, t.Departure)
	b = binary.BigEndian.AppendUint16(b, t.Duration)
	b = append(b, t.Changes)
	b = AppendString(b, t.TrainType)
	return e.finish(b, start)
}

func (e Encoder) check(invalid error) error {
	if !e.Profile.Valid() {
		return fmt.Errorf("%w %v", ErrUnknownProfile, e.Profile)
	}
	if e.AllowIllegalWrites {
		return nil
	}
	if invalid != nil {
		return fmt.Errorf("%w: %w", ErrIllegalWrite, invalid)
	}
	if e.SizeDelta != 0 || len(e.Trailing) != 0 {
		return fmt.Errorf("%w: size delta %d, %d trailing bytes", ErrIllegalWrite, e.SizeDelta, len(e.Trailing))
	}
	return nil
}

// finish adds the trailing bytes and writes the size field at b[start:].
func (e Encoder) finish(b []byte, start int) ([]byte, error) {
	b = append(b, e.Trailing...)
	n := len(b) - start - 2
	if n > MaxPayload {
		return b[:start], fmt.Errorf("%w: %d bytes", ErrBlockTooLarge, n)
	}
	size := n + e.SizeDelta
	if size < 0 || size > 0xFFFF {
		return b[:start], fmt.Errorf("%w: size %d does not fit a quint16", ErrIllegalWrite, size)
	}
	binary.BigEndian.PutUint16(b[start:], uint16(size))
	return b, nil
}

// Field indexes, for error paths without allocation.
const (
	fNone = iota
	fType
	fFrom
	fTo
	fDate
	fTime
	fFlag
	fDeparture
	fDuration
	fChanges
	fTrainType
	fTrailing
)

var fieldNames = [...]string{"", "type", "from", "to", "date", "time", "flag", "departure", "duration", "changes", "trainType", "trailing"}

// fieldError is a payload fault before it is given a path and stream offset.
type fieldError struct {
	field int
	off   int // in the payload
	err   error
	need  int    // bytes the field needed from off, for the detail
	info  string // the detail of a validation fault: "flag 'X'"
}

// asError makes the *DecodeError of f in a message whose fields are named
// after prefix ("request.", "trip[2]."), whose payload starts at stream
// offset base; payloadLen is for the detail. An offset of -1 stays -1.
func (f fieldError) asError(prefix string, base int64, payloadLen int) *DecodeError {
	off := base + int64(f.off)
	if base < 0 {
		off = -1
	}
	return &DecodeError{Field: prefix + fieldNames[f.field], Offset: off, Err: f.err, Detail: f.detail(payloadLen)}
}

func (f fieldError) detail(payloadLen int) string {
	switch {
	case f.info != "":
		return f.info
	case f.err == ErrTrailingBytes:
		return strconv.Itoa(payloadLen-f.off) + " bytes"
	case f.need > 0:
		return "needs " + strconv.Itoa(f.need) + " bytes, " + strconv.Itoa(payloadLen-f.off) + " left"
	}
	return ""
}

// stringNeed says how many bytes from off the string there wants, as far as
// can be told.
func stringNeed(b []byte, off int) int {
	if len(b)-off < 4 {
		return 4
	}
	return 4 + int(binary.BigEndian.Uint32(b[off:]))
}

func (p Profile) decodeRequest(b []byte, r *Request) (fe fieldError) {
	var err error
	off := 0
	if r.Type, off, err = ReadUint8(b, off); err != nil {
		return fieldError{field: fType, off: 0, err: err, need: 1}
	}
	at := off
	if r.From, off, err = ReadString(b, off); err != nil {
		return fieldError{field: fFrom, off: at, err: err, need: stringNeed(b, at)}
	}
	at = off
	if r.To, off, err = ReadString(b, off); err != nil {
		return fieldError{field: fTo, off: at, err: err, need: stringNeed(b, at)}
	}
	at = off
	if r.Date, off, err = p.ReadDate(b, off); err != nil {
		return fieldError{field: fDate, off: at, err: err, need: p.DateSize()}
	}
	at = off
	if r.Time, off, err = ReadTime(b, off); err != nil {
		return fieldError{field: fTime, off: at, err: err, need: 4}
	}
	at = off
	if r.Flag, off, err = ReadUint8(b, off); err != nil {
		return fieldError{field: fFlag, off: at, err: err, need: 1}
	}
	if off != len(b) {
		return fieldError{field: fTrailing, off: off, err: ErrTrailingBytes, need: 0}
	}
	return fieldError{}
}

func (p Profile) decodeTrip(b []byte, t *Trip) (fe fieldError) {
	var err error
	off := 0
	if t.Date, off, err = p.ReadDate(b, off); err != nil {
		return fieldError{field: fDate, off: 0, err: err, need: p.DateSize()}
	}
	at := off
	if t.Departure, off, err = ReadTime(b, off); err != nil {
		return fieldError{field: fDeparture, off: at, err: err, need: 4}
	}
	at = off
	if t.Duration, off, err = ReadUint16(b, off); err != nil {
		return fieldError{field: fDuration, off: at, err: err, need: 2}
	}
	at = off
	if t.Changes, off, err = ReadUint8(b, off); err != nil {
		return fieldError{field: fChanges, off: at, err: err, need: 1}
	}
	at = off
	if t.TrainType, off, err = ReadString(b, off); err != nil {
		return fieldError{field: fTrainType, off: at, err: err, need: stringNeed(b, at)}
	}
	if off != len(b) {
		return fieldError{field: fTrailing, off: off, err: ErrTrailingBytes, need: 0}
	}
	return fieldError{}
}

// DecodeRequest decodes a request payload (without its size field) into r.
// Strings in r alias payload. Errors are *DecodeError with payload offsets;
// on ErrTrailingBytes r is complete.
func (p Profile) DecodeRequest(payload []byte, r *Request) error {
	if fe := p.decodeRequest(payload, r); fe.err != nil {
		return fe.asError("request.", 0, len(payload))
	}
	return nil
}

// DecodeTrip decodes a trip payload (without its size field) into t. The
// train type aliases payload. Errors are *DecodeError with payload offsets;
// on ErrTrailingBytes t is complete.
func (p Profile) DecodeTrip(payload []byte, t *Trip) error {
	if fe := p.decodeTrip(payload, t); fe.err != nil {
		return fe.asError("trip.", 0, len(payload))
	}
	return nil
}
