// tripgui: the Trip Planner window of "C++ GUI Programming with Qt 4"
// (chapter 15) as a Qt 5 Widgets program, for checking a GUI client with the
// client suite (see tripgui-shim and gui_test.go).
//
// connectToServer, sendRequest, updateTableWidget, connectionClosedByServer,
// error and closeConnection follow the book's TripPlanner: a form (From, To,
// Date, Time, Departure/Arrival), a Search button, a table of trips and a
// status line. Like the book it connects to 127.0.0.1:6178, adds each trip to
// the table as soon as its block has arrived, keeps the complete trips when
// the server closes before the end marker, does not check the stream status
// after a trip's fields, and shows "Found N trip(s)" or "Error: ..." in the
// status line.
//
// Usage:
//   tripgui [--host H] [--port P] [--version 4.3|5.15] [--timeout-ms N]
// TRIPGUI_ADDR=host:port in the environment overrides the address too.
// Defaults: --host 127.0.0.1, --port 6178, --version 4.3, --timeout-ms 10000.
//
// Where it differs from the book's window, so that every value the suite
// sends and serves can be entered and read back:
//   - From and To are line edits, not combo boxes of 13 cities; Date and Time
//     are line edits (yyyy-MM-dd, HH:mm:ss.zzz); "@null" enters a null value.
//   - The table shows the date as yyyy-MM-dd, the time as HH:mm:ss.zzz (the
//     book: the locale's date and hh:mm), the duration in minutes (the book:
//     hh:mm), a null date or time as an empty cell, a time past the day as
//     @ms(N) (the book: empty), a lone surrogate as U+FFFD and U+0000 as
//     U+2400 (accessibility, over D-Bus, cannot carry U+0000).
//   - A search gives up after --timeout-ms without a byte from the server
//     (the book waits for ever).
//
// Deliberately broken variants for tests, by TRIPGUI_BREAK:
//   ignore-end  the 0xFFFF end marker is read as an ordinary block size;
//   cut-ok      a close before the end marker shows "Found N trip(s)".

#include <QAbstractSocket>
#include <QApplication>
#include <QDataStream>
#include <QDate>
#include <QDialog>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRadioButton>
#include <QTableWidget>
#include <QTcpSocket>
#include <QTime>
#include <QTimer>
#include <QVBoxLayout>

#include <csignal>

#include "tripstream.h"

class TripPlanner : public QDialog
{
public:
    TripPlanner(const QString &host, quint16 port, int version, int timeoutMs,
                const QString &broken);

private:
    void connectToServer();
    void sendRequest();
    void updateTableWidget();
    void stopSearch();
    void connectionClosedByServer();
    void error(QAbstractSocket::SocketError socketError);
    void closeConnection();
    void fail(const QString &reason);
    void timeout();
    bool readForm(QString *from, QString *to, QDate *date, QTime *time);

    QLineEdit *fromLineEdit;
    QLineEdit *toLineEdit;
    QLineEdit *dateLineEdit;
    QLineEdit *timeLineEdit;
    QRadioButton *departureRadioButton;
    QRadioButton *arrivalRadioButton;
    QPushButton *searchButton;
    QPushButton *stopButton;
    QTableWidget *tableWidget;
    QLabel *statusLabel;

    QTcpSocket tcpSocket;
    QTimer timer;
    tripstream::ReplyReader reply;
    bool searching;

    QString host;
    quint16 port;
    int version;
    int timeoutMs;
    QString broken;

    QString from;
    QString to;
    QDate date;
    QTime time;
};

TripPlanner::TripPlanner(const QString &host, quint16 port, int version,
                         int timeoutMs, const QString &broken)
    : reply(broken != QLatin1String("ignore-end")), searching(false),
      host(host), port(port), version(version), timeoutMs(timeoutMs),
      broken(broken)
{
    setWindowTitle(tr("Trip Planner"));

    fromLineEdit = new QLineEdit(QStringLiteral("Berlin"));
    fromLineEdit->setAccessibleName(QStringLiteral("From"));
    toLineEdit = new QLineEdit(QStringLiteral("M\u00fcnchen"));
    toLineEdit->setAccessibleName(QStringLiteral("To"));
    dateLineEdit = new QLineEdit(QDate::currentDate().toString(Qt::ISODate));
    dateLineEdit->setAccessibleName(QStringLiteral("Date"));
    timeLineEdit = new QLineEdit(QStringLiteral("09:00:00.000"));
    timeLineEdit->setAccessibleName(QStringLiteral("Time"));
    departureRadioButton = new QRadioButton(tr("Departure"));
    departureRadioButton->setChecked(true);
    arrivalRadioButton = new QRadioButton(tr("Arrival"));
    searchButton = new QPushButton(tr("Search"));
    searchButton->setDefault(true);
    stopButton = new QPushButton(tr("Stop"));
    stopButton->setEnabled(false);

    tableWidget = new QTableWidget(0, 5);
    tableWidget->setAccessibleName(QStringLiteral("Trips"));
    tableWidget->setHorizontalHeaderLabels(
        {tr("Date"), tr("Departure"), tr("Duration"), tr("Changes"),
         tr("Train type")});
    tableWidget->horizontalHeader()->setStretchLastSection(true);
    tableWidget->setEditTriggers(QAbstractItemView::NoEditTriggers);

    statusLabel = new QLabel(tr("Ready"));
    // The status line's accessible name is its text (so that assistive
    // technology hears of each change); the description names it.
    statusLabel->setAccessibleDescription(QStringLiteral("Status"));

    QGridLayout *form = new QGridLayout;
    const QString labels[] = {tr("&From:"), tr("&To:"), tr("D&ate:"),
                              tr("T&ime:")};
    QLineEdit *edits[] = {fromLineEdit, toLineEdit, dateLineEdit,
                          timeLineEdit};
    for (int i = 0; i < 4; ++i) {
        QLabel *label = new QLabel(labels[i]);
        label->setBuddy(edits[i]);
        form->addWidget(label, i, 0);
        form->addWidget(edits[i], i, 1);
    }
    QHBoxLayout *flags = new QHBoxLayout;
    flags->addWidget(departureRadioButton);
    flags->addWidget(arrivalRadioButton);
    form->addLayout(flags, 4, 1);
    QVBoxLayout *buttons = new QVBoxLayout;
    buttons->addWidget(searchButton);
    buttons->addWidget(stopButton);
    buttons->addStretch();
    QHBoxLayout *top = new QHBoxLayout;
    top->addLayout(form);
    top->addLayout(buttons);
    QVBoxLayout *main = new QVBoxLayout(this);
    main->addLayout(top);
    main->addWidget(tableWidget);
    main->addWidget(statusLabel);
    resize(560, 420);

    connect(searchButton, &QPushButton::clicked,
            this, &TripPlanner::connectToServer);
    connect(stopButton, &QPushButton::clicked,
            this, &TripPlanner::stopSearch);
    connect(&tcpSocket, &QAbstractSocket::connected,
            this, &TripPlanner::sendRequest);
    connect(&tcpSocket, &QAbstractSocket::disconnected,
            this, &TripPlanner::connectionClosedByServer);
    // Queued: the accessibility bridge may run a nested event loop while a
    // row is added, and a socket does not emit readyRead again while its
    // slot runs, so bytes arriving then would wait for the next ones.
    connect(&tcpSocket, &QIODevice::readyRead,
            this, &TripPlanner::updateTableWidget, Qt::QueuedConnection);
    connect(&tcpSocket, &QAbstractSocket::errorOccurred,
            this, &TripPlanner::error);
    timer.setSingleShot(true);
    connect(&timer, &QTimer::timeout, this, &TripPlanner::timeout);
}

// readForm reads the form into a request; on a value it cannot send it
// shows why in the status line and returns false.
bool TripPlanner::readForm(QString *from, QString *to, QDate *date,
                           QTime *time)
{
    const QString null = QStringLiteral("@null");
    *from = tripstream::stringArg(fromLineEdit->text());
    *to = tripstream::stringArg(toLineEdit->text());
    *date = QDate();
    if (dateLineEdit->text() != null) {
        *date = tripstream::parseDate(dateLineEdit->text());
        if (!date->isValid()) {
            statusLabel->setText(tr("Error: bad date (want yyyy-MM-dd)"));
            return false;
        }
    }
    *time = QTime();
    if (timeLineEdit->text() != null) {
        *time = tripstream::parseTime(timeLineEdit->text());
        if (!time->isValid()) {
            statusLabel->setText(tr("Error: bad time (want HH:mm:ss.zzz)"));
            return false;
        }
    }
    return true;
}

void TripPlanner::connectToServer()
{
    if (searching)
        return;
    if (!readForm(&from, &to, &date, &time))
        return;
    tableWidget->setRowCount(0);
    searching = true;
    searchButton->setEnabled(false);
    stopButton->setEnabled(true);
    statusLabel->setText(tr("Connecting to server..."));
    reply.reset();
    timer.start(timeoutMs);
    tcpSocket.connectToHost(host, port);
}

void TripPlanner::sendRequest()
{
    quint8 flag = arrivalRadioButton->isChecked() ? 'A' : 'D';
    tcpSocket.write(tripstream::requestBlock(version, from, to, date, time, flag));
    statusLabel->setText(tr("Sending request..."));
}

// shown is a train type as the table shows it: a lone surrogate as U+FFFD,
// U+0000 as U+2400 (D-Bus strings, which carry the table to assistive
// technology, cannot hold U+0000).
static QString shown(const QString &s)
{
    return tripstream::withReplacement(s).replace(QChar(0), QChar(0x2400));
}

void TripPlanner::updateTableWidget()
{
    if (!searching)
        return;
    // The timeout counts silence: a long reply that keeps coming is read.
    timer.start(timeoutMs);

    QDataStream in(&tcpSocket);
    in.setVersion(version);

    forever {
        int row = tableWidget->rowCount();

        tripstream::Trip trip;
        tripstream::ReplyReader::Step step = reply.next(in, &trip);
        if (step == tripstream::ReplyReader::More)
            break;

        if (step == tripstream::ReplyReader::End) {
            closeConnection();
            statusLabel->setText(tr("Found %n trip(s)", "", row));
            break;
        }

        tableWidget->setRowCount(row + 1);
        const QString fields[] = {
            tripstream::dateText(trip.date, QString()),
            tripstream::timeText(trip.departureMs, QString()),
            QString::number(trip.duration),
            QString::number(trip.changes),
            shown(trip.trainType),
        };
        for (int i = 0; i < 5; ++i)
            tableWidget->setItem(row, i, new QTableWidgetItem(fields[i]));
    }
}

void TripPlanner::stopSearch()
{
    if (!searching)
        return;
    fail(tr("search stopped"));
}

void TripPlanner::connectionClosedByServer()
{
    if (!searching)
        return;
    // Blocks that arrived together with the close may still be buffered.
    updateTableWidget();
    if (!searching)
        return;
    if (broken == QLatin1String("cut-ok")) {
        closeConnection();
        statusLabel->setText(
            tr("Found %n trip(s)", "", tableWidget->rowCount()));
        return;
    }
    fail(tr("connection closed by server"));
}

void TripPlanner::error(QAbstractSocket::SocketError socketError)
{
    if (!searching)
        return;
    if (socketError == QAbstractSocket::RemoteHostClosedError) {
        connectionClosedByServer();
        return;
    }
    fail(tcpSocket.errorString());
}

void TripPlanner::timeout()
{
    fail(tr("timeout after %1 ms").arg(timeoutMs));
}

void TripPlanner::fail(const QString &reason)
{
    closeConnection();
    statusLabel->setText(tr("Error: %1").arg(reason.simplified()));
}

void TripPlanner::closeConnection()
{
    searching = false;
    timer.stop();
    tcpSocket.abort();
    searchButton->setEnabled(true);
    stopButton->setEnabled(false);
}

static int usage(const QString &msg)
{
    return tripstream::usage("tripgui", "", msg);
}

int main(int argc, char *argv[])
{
    QApplication app(argc, argv);
    std::signal(SIGPIPE, SIG_IGN);

    tripstream::Options o;

    QString addr = QString::fromLocal8Bit(qgetenv("TRIPGUI_ADDR"));
    if (!addr.isEmpty()) {
        int colon = addr.lastIndexOf(':');
        bool ok = false;
        uint p = colon > 0 ? addr.mid(colon + 1).toUInt(&ok) : 0;
        if (!ok || p == 0 || p > 65535)
            return usage("bad TRIPGUI_ADDR " + addr + " (want host:port)");
        o.host = addr.left(colon);
        o.port = quint16(p);
    }

    const QStringList args = app.arguments();
    for (int i = 1; i < args.size(); ++i) {
        QString wrong = tripstream::parseFlag(args, &i, &o);
        if (!wrong.isEmpty())
            return usage(wrong);
    }

    const QString broken = QString::fromLocal8Bit(qgetenv("TRIPGUI_BREAK"));
    if (!broken.isEmpty() && broken != QLatin1String("ignore-end")
        && broken != QLatin1String("cut-ok"))
        return usage("bad TRIPGUI_BREAK " + broken
                     + " (want ignore-end or cut-ok)");

    TripPlanner planner(o.host, o.port, o.version, o.timeoutMs, broken);
    planner.show();
    return app.exec();
}
