// Package fakes holds the reference Trip server and client, and a load
// generator built on them.
//
// # The server
//
// [Server] is shaped like net/http/httptest: [NewServer] starts one on
// 127.0.0.1:0 and returns once it listens, [NewUnstartedServer] and
// [Server.Start] let a test configure first, [Server.Addr] says where it
// is, [Server.Shutdown] stops it gracefully and [Server.Close] stops it for
// good, naming any connection that held it past the grace period.
//
// By default it is the book's server, byte for byte: [Book] reimplements
// glibc's srand/rand, so the reply to every request equals what the book's
// server sends (every reply vector of testdata/vectors is checked by name).
// [WithGenerator] replaces the trips: [Static] answers every request with
// the same list, and [LoadTrips] reads one from a JSON file (the format is
// [JSONTrip]'s).
//
// One goroutine serves each connection. It reads exactly one request, in
// whatever pieces it arrives, within the timeout ([WithTimeout], 30 s by
// default, for the whole request: a client that trickles cannot pin a
// connection). It answers with the trip blocks and the end marker, logs one
// line ([WithLogger]: the peer, the request decoded, the trips, bytes in and
// out, the duration, the outcome and, on failure, a stable reason such as
// "bad-flag" or "timeout", see [Reason]) and closes.
//
// # Strict by default
//
// The reference server is strict: a request that a conforming client cannot
// send is closed without a reply and logged with its reason. That is an odd
// string length, a string running past the block, a field cut short by the
// block's end, bytes left over, a flag other than 'D' or 'A', a time of
// 24:00 or more, a type other than 'S', a size of 0xFFFF, and a stream that
// ends inside the block. PROTOCOL.md makes refusing these a SHOULD, and a
// reference that tolerates them would hide a client's bugs.
//
// The book's server is lenient: it reads field by field with QDataStream
// and answers whatever it read. [WithLenient] reproduces that, byte for
// byte: for odd string lengths, strings past the block, fields cut short,
// any flag, out-of-range times and bytes left over, the lenient fake sends
// what the book's server built with Qt sent (testdata/book-lenient.txt).
// Both modes close a type other than 'S' and a truncated request without a
// reply, as the book does. One difference remains: on a size of 0xFFFF the
// book's server waits for 65 535 bytes and then answers; the fake closes at
// once.
//
// # Limits
//
// [WithMaxConns] bounds the connections served at once. Beyond it the
// server stops accepting: connections wait in the kernel's listen queue
// (their connect succeeds; their request is answered once a connection
// ends) and none is refused by the server. Every read and write has a
// deadline. Shutdown ends the connections held open on purpose (stall,
// keep-open) at once and waits for the others.
//
// # Misbehaviour
//
// [WithFault] makes a server misbehave towards its clients, to test them:
// any [shape.Shape] applied to the reply (fragments, coalescing, delays,
// truncation, an RST instead of a FIN, a connection kept open), no end
// marker, lying size fields, garbage, a stall, the other profile's layout.
// See [Fault]. Faults are values on the server, never global.
//
// # Replies on a connection
//
// [Reply] and [ReplyWriter] are the misbehaving server's side of one
// connection, for code that holds the connection itself (the client suite,
// capture replay): a Reply says what the bytes are (trips in a profile's
// layout, lying sizes, garbage, no end marker, bytes after it, the stream
// cut at a named point such as trip[1].date, see [Layout.Point]);
// [Reply.Layout] encodes it block by block; a ReplyWriter writes a Layout
// as package shape says (one write or one per block, pieces, delays,
// silence first, truncation) and ends the stream (close, half-close, reset,
// kept open).
//
// # The client
//
// [Query] and [Client] are the reference client: one request per
// connection, the reply buffered up to the end marker, and never a partial
// answer: a stream that ends before the end marker is an error
// ([ErrClosedByServer]). [Load] drives many clients at once, one request
// per connection, with slow clients beside them if asked, and measures
// requests per second, latency quantiles and errors by kind.
package fakes
