// tripclient: the Trip Planner client of "C++ GUI Programming with Qt 4"
// (chapter 15) as a Qt 5 console program, for interoperability tests.
//
// connectToServer, sendRequest, updateTableWidget, connectionClosedByServer,
// error and closeConnection follow the book's TripPlanner; the table widget is
// replaced by lines on stdout.
//
// Usage:
//   tripclient [--host H] [--port P] [--version 4.3|5.15] [--timeout-ms N]
//              FROM TO DATE TIME FLAG
// DATE is yyyy-MM-dd (-yyyy-MM-dd before year 1), TIME is HH:mm:ss.zzz, HH:mm:ss or HH:mm, FLAG is D or A.
// "@null" sends a null QString, QDate or QTime; "" sends an empty QString.
// Defaults: --host 127.0.0.1, --port 6178, --version 4.3, --timeout-ms 10000.
//
// Output contract (a public interface of tripcheck):
//   success: one line per trip,
//              <yyyy-MM-dd> <HH:mm:ss.zzz> <duration> <changes> <trainType>
//            (an invalid or null date and a null time are printed as "@null",
//            a time past the day as "@ms(N)", the train type as UTF-8 with a
//            lone surrogate as U+FFFD), then "END <n>"; exit status 0.
//   failure: exactly one line "ERROR <reason>" and no trip line; exit status 1.
//   usage error: a message on stderr; exit status 2.
//
// Deliberate difference from the book: the book's client shows each trip as
// soon as its block has arrived. The contract forbids a partial answer, so
// trips are buffered and printed only once the 0xFFFF end marker has arrived;
// if the search fails first, none of them is printed. Like the book it does
// not check the stream status after a trip's fields: a size field smaller
// than the fields reads on into the next block, and an odd string reads as
// what QDataStream makes of it. A lone surrogate in a train type prints as
// U+FFFD, as the exec contract says.

#include <QAbstractSocket>
#include <QCoreApplication>
#include <QDataStream>
#include <QDate>
#include <QRegularExpression>
#include <QStringList>
#include <QTcpSocket>
#include <QTime>
#include <QTimer>

#include <csignal>
#include <cstdio>

class TripPlanner : public QObject
{
public:
    TripPlanner(const QString &host, quint16 port, int version,
                const QString &from, const QString &to, const QDate &date,
                const QTime &time, quint8 flag, int timeoutMs);

    void connectToServer();

private:
    void sendRequest();
    void updateTableWidget();
    void connectionClosedByServer();
    void error(QAbstractSocket::SocketError socketError);
    void closeConnection();
    void fail(const QString &reason);
    void timeout();

    QTcpSocket tcpSocket;
    quint16 nextBlockSize;

    QString host;
    quint16 port;
    int version;
    QString from;
    QString to;
    QDate date;
    QTime time;
    quint8 flag;
    int timeoutMs;

    QStringList trips; // lines buffered until the end marker
    bool finished;     // a result (trips or ERROR) has been printed
};

TripPlanner::TripPlanner(const QString &host, quint16 port, int version,
                         const QString &from, const QString &to,
                         const QDate &date, const QTime &time, quint8 flag,
                         int timeoutMs)
    : nextBlockSize(0), host(host), port(port), version(version), from(from),
      to(to), date(date), time(time), flag(flag), timeoutMs(timeoutMs),
      finished(false)
{
    connect(&tcpSocket, &QAbstractSocket::connected,
            this, &TripPlanner::sendRequest);
    connect(&tcpSocket, &QAbstractSocket::disconnected,
            this, &TripPlanner::connectionClosedByServer);
    connect(&tcpSocket, &QIODevice::readyRead,
            this, &TripPlanner::updateTableWidget);
    connect(&tcpSocket, &QAbstractSocket::errorOccurred,
            this, &TripPlanner::error);
}

void TripPlanner::connectToServer()
{
    QTimer::singleShot(timeoutMs, this, &TripPlanner::timeout);
    tcpSocket.connectToHost(host, port);
    nextBlockSize = 0;
}

// timeText is a QTime's wire value as the exec contract prints it: @null for
// the null time (0xFFFFFFFF), HH:mm:ss.zzz within the day, @ms(N) past it
// (where the book's window shows an empty time).
static QString timeText(quint32 ms)
{
    if (ms == 0xFFFFFFFFu)
        return QStringLiteral("@null");
    if (ms >= 86400000u)
        return QStringLiteral("@ms(%1)").arg(ms);
    return QTime::fromMSecsSinceStartOfDay(int(ms)).toString(QStringLiteral("HH:mm:ss.zzz"));
}

// withReplacement is s with every lone surrogate replaced by U+FFFD, as the
// exec contract prints it (QString::toUtf8 would write '?').
static QString withReplacement(const QString &s)
{
    QString out;
    out.reserve(s.size());
    for (int i = 0; i < s.size(); ++i) {
        const QChar c = s.at(i);
        if (c.isHighSurrogate() && i + 1 < s.size() && s.at(i + 1).isLowSurrogate()) {
            out += c;
            out += s.at(++i);
        } else if (c.isSurrogate()) {
            out += QChar(0xFFFD);
        } else {
            out += c;
        }
    }
    return out;
}

void TripPlanner::sendRequest()
{
    QByteArray block;
    QDataStream out(&block, QIODevice::WriteOnly);
    out.setVersion(version);
    out << quint16(0) << quint8('S') << from << to << date << time;
    out << flag;
    out.device()->seek(0);
    out << quint16(block.size() - sizeof(quint16));
    tcpSocket.write(block);
}

void TripPlanner::updateTableWidget()
{
    if (finished)
        return;

    QDataStream in(&tcpSocket);
    in.setVersion(version);

    forever {
        if (nextBlockSize == 0) {
            if (tcpSocket.bytesAvailable() < qint64(sizeof(quint16)))
                break;
            in >> nextBlockSize;
        }

        if (nextBlockSize == 0xFFFF) {
            finished = true;
            QByteArray output;
            for (const QString &line : trips)
                output += line.toUtf8() + '\n';
            output += "END " + QByteArray::number(trips.size()) + '\n';
            std::fwrite(output.constData(), 1, size_t(output.size()), stdout);
            std::fflush(stdout);
            closeConnection();
            QCoreApplication::exit(0);
            break;
        }

        if (tcpSocket.bytesAvailable() < nextBlockSize)
            break;

        QDate date;
        quint32 departureMs; // a QTime's bytes, read raw to print one out of range
        quint16 duration;
        quint8 changes;
        QString trainType;

        // As the book: no check of the stream status; a block too short
        // for its fields reads on into the next one.
        in >> date >> departureMs >> duration >> changes >> trainType;

        trips << QStringLiteral("%1 %2 %3 %4 %5")
                     .arg(date.isValid()
                              ? date.toString(QStringLiteral("yyyy-MM-dd"))
                              : QStringLiteral("@null"))
                     .arg(timeText(departureMs))
                     .arg(duration)
                     .arg(changes)
                     .arg(withReplacement(trainType));

        nextBlockSize = 0;
    }
}

void TripPlanner::connectionClosedByServer()
{
    // Blocks that arrived together with the close may still be buffered.
    updateTableWidget();
    if (nextBlockSize != 0xFFFF)
        fail(QStringLiteral("connection closed by server"));
    closeConnection();
}

void TripPlanner::error(QAbstractSocket::SocketError socketError)
{
    if (finished)
        return;
    switch (socketError) {
    case QAbstractSocket::RemoteHostClosedError:
        connectionClosedByServer();
        return;
    case QAbstractSocket::ConnectionRefusedError:
        fail(QStringLiteral("connection refused"));
        break;
    case QAbstractSocket::HostNotFoundError:
        fail(QStringLiteral("host not found: ") + host);
        break;
    default:
        fail(tcpSocket.errorString());
        break;
    }
    closeConnection();
}

void TripPlanner::closeConnection()
{
    tcpSocket.close();
}

void TripPlanner::timeout()
{
    fail(QStringLiteral("timeout after %1 ms").arg(timeoutMs));
    closeConnection();
}

void TripPlanner::fail(const QString &reason)
{
    if (finished)
        return;
    finished = true;
    QByteArray line = "ERROR " + reason.simplified().toUtf8() + '\n';
    std::fwrite(line.constData(), 1, size_t(line.size()), stdout);
    std::fflush(stdout);
    QCoreApplication::exit(1);
}

static int usage(const QString &msg)
{
    std::fprintf(stderr,
                 "tripclient: %s\n"
                 "usage: tripclient [--host H] [--port P] [--version 4.3|5.15] "
                 "[--timeout-ms N] FROM TO DATE TIME FLAG\n",
                 msg.toUtf8().constData());
    return 2;
}

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    std::signal(SIGPIPE, SIG_IGN);

    QString host = QStringLiteral("127.0.0.1");
    quint16 port = 6178;
    int version = QDataStream::Qt_4_3;
    int timeoutMs = 10000;
    QStringList positional;

    // Arguments are taken as UTF-8 whatever the locale.
    bool flagsDone = false;
    for (int i = 1; i < argc; ++i) {
        QString arg = QString::fromUtf8(argv[i]);
        if (flagsDone || !arg.startsWith("--")) {
            positional << arg;
            continue;
        }
        if (arg == "--") {
            flagsDone = true;
            continue;
        }
        QString value;
        int eq = arg.indexOf('=');
        if (eq > 0) {
            value = arg.mid(eq + 1);
            arg = arg.left(eq);
        } else {
            if (i + 1 >= argc)
                return usage("missing value for " + arg);
            value = QString::fromUtf8(argv[++i]);
        }
        bool ok = false;
        if (arg == "--host") {
            host = value;
        } else if (arg == "--port") {
            uint p = value.toUInt(&ok);
            if (!ok || p == 0 || p > 65535)
                return usage("bad --port " + value);
            port = quint16(p);
        } else if (arg == "--version") {
            if (value == "4.3")
                version = QDataStream::Qt_4_3;
            else if (value == "5.15")
                version = QDataStream::Qt_5_15;
            else
                return usage("--version must be 4.3 or 5.15");
        } else if (arg == "--timeout-ms") {
            timeoutMs = value.toInt(&ok);
            if (!ok || timeoutMs <= 0)
                return usage("bad --timeout-ms " + value);
        } else {
            return usage("unknown flag " + arg);
        }
    }
    if (positional.size() != 5)
        return usage("want 5 arguments: FROM TO DATE TIME FLAG");

    const QString null = QStringLiteral("@null");
    QString from = positional[0] == null ? QString() : positional[0];
    QString to = positional[1] == null ? QString() : positional[1];
    // An empty argument is an empty, non-null QString.
    if (positional[0].isEmpty())
        from = QLatin1String("");
    if (positional[1].isEmpty())
        to = QLatin1String("");

    QDate date;
    if (positional[2] != null) {
        // QDate::fromString rejects years before 1, which toString prints
        // as "-0001"; parse [-]yyyy-MM-dd by hand so the two agree.
        QRegularExpressionMatch m =
            QRegularExpression(QStringLiteral("^(-?\\d{4,9})-(\\d\\d)-(\\d\\d)$"))
                .match(positional[2]);
        if (m.hasMatch())
            date = QDate(m.captured(1).toInt(), m.captured(2).toInt(),
                         m.captured(3).toInt());
        if (!date.isValid())
            return usage("bad DATE " + positional[2] + " (want yyyy-MM-dd)");
    }
    QTime time;
    if (positional[3] != null) {
        const char *formats[] = {"HH:mm:ss.zzz", "HH:mm:ss", "HH:mm"};
        for (const char *format : formats) {
            time = QTime::fromString(positional[3], QLatin1String(format));
            if (time.isValid())
                break;
        }
        if (!time.isValid())
            return usage("bad TIME " + positional[3]
                         + " (want HH:mm:ss.zzz or HH:mm)");
    }
    quint8 flag;
    if (positional[4] == "D")
        flag = 'D';
    else if (positional[4] == "A")
        flag = 'A';
    else
        return usage("bad FLAG " + positional[4] + " (want D or A)");

    TripPlanner planner(host, port, version, from, to, date, time, flag,
                        timeoutMs);
    planner.connectToServer();
    return app.exec();
}
