// tripstream: the Trip Planner's side of the Trip protocol, as the book's
// TripPlanner speaks it over QDataStream, shared by tripclient (the console
// client) and tripgui (the window), so that both send the same request and
// read a reply the same way. What they do with a trip (a line on stdout, a
// table row) stays with each program.

#ifndef TRIPSTREAM_H
#define TRIPSTREAM_H

#include <QByteArray>
#include <QDataStream>
#include <QDate>
#include <QString>
#include <QStringList>
#include <QTime>

namespace tripstream {

// Options are the flags both clients take, with their defaults.
struct Options {
    QString host = QStringLiteral("127.0.0.1");
    quint16 port = 6178;
    int version = QDataStream::Qt_4_3;
    int timeoutMs = 10000;
};

// parseFlag reads the flag at args[*i], as --flag=value or --flag value
// (then *i moves past the value), into o: --host, --port, --version
// 4.3|5.15 or --timeout-ms. It returns what is wrong, for the usage
// message, or an empty string.
QString parseFlag(const QStringList &args, int *i, Options *o);

// usage prints msg and the usage line of program, whose flags are
// Options' and whose arguments follow them ("" for none), on stderr, and
// returns the exit status of a usage error, 2.
int usage(const char *program, const char *arguments, const QString &msg);

// stringArg is a FROM or TO as entered: "@null" is the null QString, any
// other text (also "") a non-null QString.
QString stringArg(const QString &s);

// parseDate parses [-]yyyy-MM-dd (QDate::fromString rejects the years
// before 1 that toString prints as "-0001"); the date is invalid if s is
// not one.
QDate parseDate(const QString &s);

// parseTime parses HH:mm:ss.zzz, HH:mm:ss or HH:mm; the time is invalid if
// s is none of them.
QTime parseTime(const QString &s);

// requestBlock is the book's sendRequest block: the size, 'S', from, to,
// date, time and flag, at QDataStream version.
QByteArray requestBlock(int version, const QString &from, const QString &to,
                        const QDate &date, const QTime &time, quint8 flag);

// Trip is one trip of a reply. The departure is a QTime's bytes, read raw so
// that a time past the day can be shown.
struct Trip {
    QDate date;
    quint32 departureMs = 0;
    quint16 duration = 0;
    quint8 changes = 0;
    QString trainType;
};

// ReplyReader reads a reply's blocks as the book's updateTableWidget does:
// a size, then, once the whole block is there, a trip's fields, without a
// check of the stream status (a block too short for its fields reads on
// into the next one), until the 0xFFFF end marker.
class ReplyReader
{
public:
    enum Step {
        More, // the next block has not arrived whole
        End,  // the end marker
        Read, // a trip
    };

    // With endMarker false, 0xFFFF is read as an ordinary block size (a
    // deliberately broken client).
    explicit ReplyReader(bool endMarker = true) : endMarker(endMarker) {}

    // reset forgets a block size read, for a new connection.
    void reset() { nextBlockSize = 0; }

    // next reads from in, a stream over the socket, the next step; with
    // Read, the trip is in *trip.
    Step next(QDataStream &in, Trip *trip);

    // atEnd tells whether the end marker has been read.
    bool atEnd() const { return nextBlockSize == 0xFFFF; }

private:
    bool endMarker;
    quint16 nextBlockSize = 0;
};

// dateText is a date as yyyy-MM-dd, or null for an invalid or null date.
QString dateText(const QDate &date, const QString &null);

// timeText is a QTime's wire value: null for the null time (0xFFFFFFFF),
// HH:mm:ss.zzz within the day, @ms(N) past it.
QString timeText(quint32 ms, const QString &null);

// withReplacement is s with every lone surrogate replaced by U+FFFD
// (QString::toUtf8 would write '?').
QString withReplacement(const QString &s);

} // namespace tripstream

#endif
