// tripserver: the Trip Server of "C++ GUI Programming with Qt 4" (chapter 15),
// ported to Qt 5 with as few changes as possible, for interoperability tests.
//
// TripServer and ClientSocket below are the book's classes. The differences:
//   - incomingConnection takes a qintptr (Qt 5) instead of an int (Qt 4);
//   - the QDataStream version is a command-line choice (the book hard-codes
//     QDataStream::Qt_4_3), so the same code also speaks the qt5 profile;
//   - signals are connected with the Qt 5 pointer-to-member syntax, so the
//     program builds without moc;
//   - main() parses flags, prints the bound address and quits on SIGTERM/SIGINT.
// The book's leniency is kept on purpose: no timeout, no check of the flag or
// of the stream status, exactly one block read per connection.
//
// Usage: tripserver [--port N] [--listen-address ADDR] [--version 4.3|5.15]
// On start it prints one line, "listening on ADDR:PORT", and flushes stdout.

#include <QCoreApplication>
#include <QDataStream>
#include <QDate>
#include <QHostAddress>
#include <QSocketNotifier>
#include <QString>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTime>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/socket.h>
#include <unistd.h>

static int streamVersion = QDataStream::Qt_4_3;

class ClientSocket : public QTcpSocket
{
public:
    explicit ClientSocket(QObject *parent = nullptr);

private:
    void readClient();
    void generateRandomTrip(const QString &from, const QString &to,
                            const QDate &date, const QTime &time);

    quint16 nextBlockSize;
};

ClientSocket::ClientSocket(QObject *parent)
    : QTcpSocket(parent)
{
    connect(this, &QIODevice::readyRead, this, &ClientSocket::readClient);
    connect(this, &QAbstractSocket::disconnected, this, &QObject::deleteLater);

    nextBlockSize = 0;
}

void ClientSocket::readClient()
{
    QDataStream in(this);
    in.setVersion(streamVersion);

    if (nextBlockSize == 0) {
        if (bytesAvailable() < qint64(sizeof(quint16)))
            return;
        in >> nextBlockSize;
    }

    if (bytesAvailable() < nextBlockSize)
        return;

    quint8 requestType;
    QString from;
    QString to;
    QDate date;
    QTime time;
    quint8 flag;

    in >> requestType;
    if (requestType == 'S') {
        in >> from >> to >> date >> time >> flag;

        std::srand(from.length() * 3600 + to.length() * 60
                   + time.hour());
        int numTrips = std::rand() % 8;
        for (int i = 0; i < numTrips; ++i)
            generateRandomTrip(from, to, date, time);

        QDataStream out(this);
        out << quint16(0xFFFF);
    }

    close();
}

void ClientSocket::generateRandomTrip(const QString & /* from */,
        const QString & /* to */, const QDate &date, const QTime &time)
{
    QByteArray block;
    QDataStream out(&block, QIODevice::WriteOnly);
    out.setVersion(streamVersion);
    quint16 duration = std::rand() % 200;
    out << quint16(0) << date << time << duration << quint8(1)
        << QString("InterCity");
    out.device()->seek(0);
    out << quint16(block.size() - sizeof(quint16));
    write(block);
}

class TripServer : public QTcpServer
{
public:
    explicit TripServer(QObject *parent = nullptr) : QTcpServer(parent) {}

protected:
    void incomingConnection(qintptr socketId) override;
};

void TripServer::incomingConnection(qintptr socketId)
{
    ClientSocket *socket = new ClientSocket(this);
    socket->setSocketDescriptor(socketId);
}

// Self-pipe: the signal handler only writes a byte; the event loop quits.
static int signalFds[2] = {-1, -1};

static void onSignal(int)
{
    char c = 1;
    ssize_t n = ::write(signalFds[0], &c, 1);
    (void)n;
}

static int usage(const char *msg)
{
    std::fprintf(stderr, "tripserver: %s\n"
                 "usage: tripserver [--port N] [--listen-address ADDR] "
                 "[--version 4.3|5.15]\n", msg);
    return 2;
}

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);

    quint16 port = 6178;
    QString listenAddress = QStringLiteral("127.0.0.1");
    for (int i = 1; i < argc; ++i) {
        QString arg = QString::fromUtf8(argv[i]);
        QString value;
        int eq = arg.indexOf('=');
        if (arg.startsWith("--") && eq > 0) {
            value = arg.mid(eq + 1);
            arg = arg.left(eq);
        } else if (arg == "--port" || arg == "--listen-address"
                   || arg == "--version") {
            if (i + 1 >= argc)
                return usage("missing value for flag");
            value = QString::fromUtf8(argv[++i]);
        }
        if (arg == "--port") {
            bool ok = false;
            uint p = value.toUInt(&ok);
            if (!ok || p > 65535)
                return usage("bad --port");
            port = quint16(p);
        } else if (arg == "--listen-address") {
            listenAddress = value;
        } else if (arg == "--version") {
            if (value == "4.3")
                streamVersion = QDataStream::Qt_4_3;
            else if (value == "5.15")
                streamVersion = QDataStream::Qt_5_15;
            else
                return usage("--version must be 4.3 or 5.15");
        } else {
            return usage("unknown argument");
        }
    }

    QHostAddress address;
    if (!address.setAddress(listenAddress))
        return usage("bad --listen-address");

    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, signalFds) != 0) {
        std::perror("tripserver: socketpair");
        return 2;
    }
    QSocketNotifier notifier(signalFds[1], QSocketNotifier::Read);
    QObject::connect(&notifier, &QSocketNotifier::activated,
                     &app, &QCoreApplication::quit);
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = onSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    TripServer server;
    if (!server.listen(address, port)) {
        std::fprintf(stderr, "tripserver: listen: %s\n",
                     server.errorString().toLocal8Bit().constData());
        return 2;
    }
    QHostAddress bound = server.serverAddress();
    QString host = bound.toString();
    if (bound.protocol() == QAbstractSocket::IPv6Protocol)
        host = "[" + host + "]";
    std::printf("listening on %s:%u\n", host.toUtf8().constData(),
                unsigned(server.serverPort()));
    std::fflush(stdout);

    return app.exec();
}
