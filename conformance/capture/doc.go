// Package capture is the capture side of tripcheck: what it does with a
// recorded Trip exchange (pcap or pcapng) rather than a live peer.
//
// It owns three front-ends, each making a conformance.Report:
//
//   - Check (`tripcheck pcap check`): the passive checks of both
//     directions of every Trip session in a capture, through the one
//     session checker of package check; one result per check per session,
//     or per check over all sessions with CheckOptions.Aggregate. Checks
//     lists them with their requirements from the checker's catalog.
//   - Replay (`tripcheck replay`): each captured request sent to a live
//     server, in the captured segmentation or a given shape, and its reply
//     compared with the captured one, byte for byte (CompareExact) or in
//     structure (CompareStructure).
//   - Serve (`tripcheck replay --serve`): the captured replies played to
//     clients that connect, with the captured segmentation and ending.
//
// Bounds. Check streams: sessions are read one at a time as the capture
// ends them (package pcap bounds what each keeps: pcap.Options'
// MaxStreamBytes per direction, MaxOpen and MaxBuffered over all open
// sessions), checked, and dropped; with CheckOptions.Sink or Aggregate the
// report does not grow with the capture either. Replay reads at most
// conformance.ReplyBudget bytes of each live reply, and every step that
// waits for the server has a deadline (ReplayOptions.Timeout). Serve holds
// the sessions ReadSessions read (at most 10000 unless told otherwise),
// bounds every read and write by ServeOptions.Timeout, and reads at most a
// mebibyte from a client it keeps open.
//
// It imports package conformance for the report model and the reply
// comparison; conformance never imports it.
package capture
