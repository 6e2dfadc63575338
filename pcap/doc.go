// Package pcap reads and writes captures of Trip sessions.
//
// # Reading
//
// [NewReader] reads a pcap or pcapng file (told apart by its magic number;
// both byte orders, microsecond and nanosecond pcap, gzip-compressed files
// too) from any io.Reader, as a stream: it never holds more than one record
// of the file, and memory grows with the sessions open at a point of the
// capture, not with the file's size. Records can be Ethernet (with 802.1Q
// tags), Linux cooked captures SLL and SLL2 (tcpdump -i any), BSD loopback
// (NULL and LOOP) or raw IPv4 and IPv6, and a pcapng file may mix them across
// its interfaces.
//
// TCP segments are reassembled per direction of each connection (its
// 4-tuple): out-of-order segments are held until the bytes before them come,
// retransmissions and overlaps are dropped (and said to differ when their
// bytes do), a capture that starts in the middle of a connection starts its
// streams at the first byte seen, and bytes that never came are a gap. Each
// of these is a [Note] that names the packet (numbered from 1 in file order,
// as Wireshark numbers frames).
//
// Trip traffic is found by port ([Options.Port], 6178 by default: the
// endpoint with that port is the server) or by content ([AnyPort]: a
// connection whose first bytes from one side frame as a Trip request; that
// side is the client). [Reader.Next] returns each [Session] once it is over:
// both sides closed, a reset, the end of the capture, or no packet for
// [Options.IdleTimeout] of capture time. A Session holds both directions'
// byte streams ([Stream]), each with a map from stream offset to the packet
// that carried the byte ([Stream.PacketAt]), the SYN, FIN and RST seen, and
// its notes.
//
// Nothing in a capture makes the reader panic or allocate beyond one record
// of at most [MaxRecord] bytes; a stream keeps at most
// [Options.MaxStreamBytes] bytes and notes where it was cut.
//
// # Writing
//
// [Writer] writes a pcapng capture of TCP connections synthesized from the
// bytes each side sent: Ethernet, IPv4 or IPv6 and TCP headers built with
// gopacket's layers, a three-way handshake, real increasing sequence and
// acknowledgement numbers, and the FIN or RST each side ended with. tcpdump
// and tshark read it without a warning. The proxy records with it.
package pcap
