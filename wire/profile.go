package wire

import "fmt"

// Profile is a QDataStream layout of the Trip fields. Only QDate differs.
type Profile uint8

const (
	// Qt4 is QDataStream Qt_4_0 … Qt_4_9 (the book's Qt_4_3): QDate is a
	// quint32 Julian Day, and 0 is null.
	Qt4 Profile = 4
	// Qt5 is QDataStream Qt_5_0 and later, Qt 6 included: QDate is a qint64
	// Julian Day, and math.MinInt64 is null.
	Qt5 Profile = 5
)

// Profiles returns the profiles, oldest first (a new slice each call).
func Profiles() []Profile { return []Profile{Qt4, Qt5} }

// String returns "qt4" or "qt5".
func (p Profile) String() string {
	switch p {
	case Qt4:
		return "qt4"
	case Qt5:
		return "qt5"
	}
	return fmt.Sprintf("Profile(%d)", uint8(p))
}

// Valid reports whether p is Qt4 or Qt5.
func (p Profile) Valid() bool { return p == Qt4 || p == Qt5 }

// DateSize is the number of bytes of a QDate: 4 in Qt4, 8 in Qt5.
func (p Profile) DateSize() int {
	if p == Qt4 {
		return 4
	}
	return 8
}

// QDataStreamVersion is the QDataStream::Version the profile is named after:
// Qt_4_3 (9) for Qt4, Qt_5_15 (19) for Qt5.
func (p Profile) QDataStreamVersion() int {
	if p == Qt4 {
		return 9
	}
	return 19
}

// ParseProfile reads "qt4" or "qt5"; "qt6" is Qt5, whose layout Qt 6 keeps.
func ParseProfile(s string) (Profile, error) {
	switch s {
	case "qt4":
		return Qt4, nil
	case "qt5", "qt6":
		return Qt5, nil
	}
	return 0, fmt.Errorf("%w %q (want qt4 or qt5)", ErrUnknownProfile, s)
}
