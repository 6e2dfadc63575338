// tripstream: see tripstream.h.

#include "tripstream.h"

#include <QIODevice>
#include <QLatin1String>
#include <QRegularExpression>

#include <cstdio>

namespace tripstream {

// setOption sets flag to value in o; see parseFlag.
static QString setOption(Options *o, const QString &flag, const QString &value)
{
    bool ok = false;
    if (flag == "--host") {
        o->host = value;
    } else if (flag == "--port") {
        uint p = value.toUInt(&ok);
        if (!ok || p == 0 || p > 65535)
            return "bad --port " + value;
        o->port = quint16(p);
    } else if (flag == "--version") {
        if (value == "4.3")
            o->version = QDataStream::Qt_4_3;
        else if (value == "5.15")
            o->version = QDataStream::Qt_5_15;
        else
            return QStringLiteral("--version must be 4.3 or 5.15");
    } else if (flag == "--timeout-ms") {
        int ms = value.toInt(&ok);
        if (!ok || ms <= 0)
            return "bad --timeout-ms " + value;
        o->timeoutMs = ms;
    } else {
        return "unknown flag " + flag;
    }
    return QString();
}

QString parseFlag(const QStringList &args, int *i, Options *o)
{
    QString flag = args[*i];
    QString value;
    int eq = flag.indexOf('=');
    if (eq > 0) {
        value = flag.mid(eq + 1);
        flag = flag.left(eq);
    } else {
        if (*i + 1 >= args.size())
            return "missing value for " + flag;
        value = args[++*i];
    }
    return setOption(o, flag, value);
}

int usage(const char *program, const char *arguments, const QString &msg)
{
    std::fprintf(stderr,
                 "%s: %s\n"
                 "usage: %s [--host H] [--port P] [--version 4.3|5.15] "
                 "[--timeout-ms N]%s\n",
                 program, msg.toUtf8().constData(), program, arguments);
    return 2;
}

QString stringArg(const QString &s)
{
    if (s == QLatin1String("@null"))
        return QString();
    // An empty argument is an empty, non-null QString.
    return QString(QLatin1String("")) + s;
}

QDate parseDate(const QString &s)
{
    QRegularExpressionMatch m =
        QRegularExpression(QStringLiteral("^(-?\\d{4,9})-(\\d\\d)-(\\d\\d)$"))
            .match(s);
    if (!m.hasMatch())
        return QDate();
    return QDate(m.captured(1).toInt(), m.captured(2).toInt(),
                 m.captured(3).toInt());
}

QTime parseTime(const QString &s)
{
    const char *formats[] = {"HH:mm:ss.zzz", "HH:mm:ss", "HH:mm"};
    QTime time;
    for (const char *format : formats) {
        time = QTime::fromString(s, QLatin1String(format));
        if (time.isValid())
            break;
    }
    return time;
}

QByteArray requestBlock(int version, const QString &from, const QString &to,
                        const QDate &date, const QTime &time, quint8 flag)
{
    QByteArray block;
    QDataStream out(&block, QIODevice::WriteOnly);
    out.setVersion(version);
    out << quint16(0) << quint8('S') << from << to << date << time;
    out << flag;
    out.device()->seek(0);
    out << quint16(block.size() - sizeof(quint16));
    return block;
}

ReplyReader::Step ReplyReader::next(QDataStream &in, Trip *trip)
{
    QIODevice *socket = in.device();
    if (nextBlockSize == 0) {
        if (socket->bytesAvailable() < qint64(sizeof(quint16)))
            return More;
        in >> nextBlockSize;
    }

    if (nextBlockSize == 0xFFFF && endMarker)
        return End;

    if (socket->bytesAvailable() < nextBlockSize)
        return More;

    // As the book: no check of the stream status.
    in >> trip->date >> trip->departureMs >> trip->duration >> trip->changes
        >> trip->trainType;

    nextBlockSize = 0;
    return Read;
}

QString dateText(const QDate &date, const QString &null)
{
    return date.isValid() ? date.toString(QStringLiteral("yyyy-MM-dd")) : null;
}

QString timeText(quint32 ms, const QString &null)
{
    if (ms == 0xFFFFFFFFu)
        return null;
    if (ms >= 86400000u)
        return QStringLiteral("@ms(%1)").arg(ms);
    return QTime::fromMSecsSinceStartOfDay(int(ms))
        .toString(QStringLiteral("HH:mm:ss.zzz"));
}

QString withReplacement(const QString &s)
{
    QString out;
    out.reserve(s.size());
    for (int i = 0; i < s.size(); ++i) {
        const QChar c = s.at(i);
        if (c.isHighSurrogate() && i + 1 < s.size()
            && s.at(i + 1).isLowSurrogate()) {
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

} // namespace tripstream
