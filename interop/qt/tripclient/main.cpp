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
#include <QStringList>
#include <QTcpSocket>
#include <QTime>
#include <QTimer>

#include <csignal>
#include <cstdio>

#include "tripstream.h"

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
    tripstream::ReplyReader reply;

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
    : host(host), port(port), version(version), from(from),
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
    reply.reset();
}

void TripPlanner::sendRequest()
{
    tcpSocket.write(tripstream::requestBlock(version, from, to, date, time, flag));
}

void TripPlanner::updateTableWidget()
{
    if (finished)
        return;

    QDataStream in(&tcpSocket);
    in.setVersion(version);

    const QString null = QStringLiteral("@null");
    forever {
        tripstream::Trip trip;
        tripstream::ReplyReader::Step step = reply.next(in, &trip);
        if (step == tripstream::ReplyReader::More)
            break;

        if (step == tripstream::ReplyReader::End) {
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

        trips << QStringLiteral("%1 %2 %3 %4 %5")
                     .arg(tripstream::dateText(trip.date, null))
                     .arg(tripstream::timeText(trip.departureMs, null))
                     .arg(trip.duration)
                     .arg(trip.changes)
                     .arg(tripstream::withReplacement(trip.trainType));
    }
}

void TripPlanner::connectionClosedByServer()
{
    // Blocks that arrived together with the close may still be buffered.
    updateTableWidget();
    if (!reply.atEnd())
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
    return tripstream::usage("tripclient", " FROM TO DATE TIME FLAG", msg);
}

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    std::signal(SIGPIPE, SIG_IGN);

    tripstream::Options o;
    QStringList positional;

    // Arguments are taken as UTF-8 whatever the locale.
    QStringList args;
    for (int i = 0; i < argc; ++i)
        args << QString::fromUtf8(argv[i]);
    bool flagsDone = false;
    for (int i = 1; i < args.size(); ++i) {
        const QString &arg = args[i];
        if (flagsDone || !arg.startsWith("--")) {
            positional << arg;
            continue;
        }
        if (arg == "--") {
            flagsDone = true;
            continue;
        }
        QString wrong = tripstream::parseFlag(args, &i, &o);
        if (!wrong.isEmpty())
            return usage(wrong);
    }
    if (positional.size() != 5)
        return usage("want 5 arguments: FROM TO DATE TIME FLAG");

    const QString null = QStringLiteral("@null");
    QString from = tripstream::stringArg(positional[0]);
    QString to = tripstream::stringArg(positional[1]);

    QDate date;
    if (positional[2] != null) {
        date = tripstream::parseDate(positional[2]);
        if (!date.isValid())
            return usage("bad DATE " + positional[2] + " (want yyyy-MM-dd)");
    }
    QTime time;
    if (positional[3] != null) {
        time = tripstream::parseTime(positional[3]);
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

    TripPlanner planner(o.host, o.port, o.version, from, to, date, time, flag,
                        o.timeoutMs);
    planner.connectToServer();
    return app.exec();
}
