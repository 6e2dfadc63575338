// Package livefuzz fuzzes a live Trip server over TCP: it sends it mutated
// requests, each on its own connection, checks after every batch that the
// server still answers a valid request whole, and gives a verdict on the
// case that broke it, with a reproducer that sends that case again. It
// fuzzes a client too, playing the server (see Clients below).
//
// # Cases
//
// Case n of a seed is a function of the seed, n and the profile alone
// ([NewCase]): the same seed gives the same cases on any machine and any Go
// version (the random numbers come from SplitMix64, package
// internal/splitmix). A case starts from a valid request (city names
// short, long, empty, null, outside the BMP; any date and time; flag D or
// A), encoded in the profile, and applies up to three mutations, named
// in [Case.Mutation]:
//
//	size-lie      the size field says 0, 0xFFFF, 0xFFFE, one more or less, or anything
//	odd-string    a string's length field made odd (1, 3, length±1, 101, 0xFFFFFFFD, ...)
//	huge-string   a length field of 2 GiB or 4 GiB with no data, or a string that fills the block
//	field         a random type, flag, date or time (24:00, 0xFFFFFFFE, ...)
//	bit-flip      one to four bits flipped anywhere
//	byte-set      one to three bytes set to 0x00, 0xFF, 0x7F, 0x80, 'S', ...
//	truncate      the bytes cut short anywhere
//	extend        random bytes appended
//	splice        the front of this request and the back of another
//	double        two requests in one write (coalesced)
//	random        random bytes instead of a request
//
// and a [shape.Shape] that says how the bytes go on the wire: whole, in
// pieces of n bytes, at random sizes, cut after the size field (with a
// pause), or coalesced. Pieces go without the shape package's pause
// between them (so that a run of 100 000 cases takes seconds, not hours):
// the kernel may put some back together.
//
// # Verdicts
//
// Each case is one connection: connect, write the case, half-close (so that
// a server waiting for the rest of a block sees the end of the stream),
// read whatever comes until the server closes, and close. After every batch
// of cases, and at once after a case whose connection is refused or stays
// silent past the deadline, a liveness probe sends a valid request (the
// book's example) and must read a whole reply up to its end marker within
// the deadline. A failed probe gives the verdict:
//
//   - [Crash]: the server no longer accepts connections (refused);
//   - [Hang]: it accepts, but the probe gets no whole reply in time (or the
//     connection ends before the end marker).
//
// The case blamed is the one sent just before the first refused connection,
// else the first case of the batch that stayed silent, else the last case of
// the batch. One exception: a dying process closes its connections before
// its listener, so the kernel may still accept the next case's connection
// and then reset it unread; when the case before the refused one was reset
// without a reply, the one before it is blamed and both are given
// ([Failure.Suspects]). With a batch of 1 every case is followed by a probe,
// and the blame is exact. A crashed or hung server cannot be fuzzed further,
// so a run stops at its first failure.
//
// # Reproducers
//
// [WriteRepro] writes a failing case as a small text file (seed, case
// number, profile, mutation, shape, verdict and the bytes in hex) that
// [ReadRepro] reads back and [Replay] sends again: the case, then the probe.
//
// # Clients
//
// [RunClient] fuzzes a client: for each case ([NewReplyCase]: a search and
// a reply, mutated as requests are, plus bytes after the end marker and
// cuts at block boundaries) it starts the client ([ExecClient] runs a
// command under the client exec contract with the client suite's own
// runner; [ClientFunc] runs a function, for tests), reads its request,
// which must be the exact encoding of the search, writes the reply in the
// case's shape and half-closes. [Judge] checks what the client printed
// against [Expect], the reference decoder's reading of the reply. Verdicts:
// [Crash] (killed by a signal), [Hang] (not finished in time), [Wrong].
// [RunListen] does the same for a client a person runs, which connects by
// itself: only its request, its extra bytes and its close can be checked.
// [WriteClientRepro] saves a failing reply case with its search.
//
// Every network step has a deadline ([Config.Timeout]) and every read a
// byte budget ([MaxReplyBytes], [MaxClientExtra]); a run is bounded by its
// count of cases and by its context. Nothing here prints.
package livefuzz
