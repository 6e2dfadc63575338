// Package check is the one session checker of the Trip protocol: every
// front-end that judges a peer's bytes asks it, so that each rule exists
// once. The server suite's reply checks, the client suite's request checks,
// `pcap check`, `replay` and the proxy's live validation feed it and read
// its findings; h2spec's shared verifiers are the model, kept streaming.
//
// A Session is fed the bytes of each direction of one connection as they
// come, in the Feed/Next style of wire.Decoder, each piece with where it
// came from (a packet number, a write or read index), and is told how each
// direction ended (internal/ending: a close, a reset, silence, a read
// error, the reader's byte budget). Next returns the findings in the order
// they were made. Each Finding carries the ID of the rule it breaks
// ("reply/no-end-marker"), the stream offset and field path of the fault,
// its direction and its packet or write; its summary, level and
// requirement sentence come from the package's one catalog (Rules,
// Requirements), never from a copy.
//
// Memory is bounded whatever a peer sends: per direction the checker holds
// at most one partial block (65 537 bytes, twice that while the profile is
// still being detected), the first request, and the last 256 pieces' start
// offsets; it decodes the first Options.Budget bytes of each direction
// (128 KiB by default) and counts the rest; it keeps the first
// Options.MaxFindings findings (16 by default) and counts the rest.
// Trips are not kept: Options.OnTrip sees each as it is decoded.
package check
