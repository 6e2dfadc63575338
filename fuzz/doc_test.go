// Package fuzz holds the go test -fuzz targets of tripcheck: one per decoder
// of package wire, and one for capture reading in package pcap. It has test
// files only.
//
// Every target checks properties, not only that nothing panics:
//
//	FuzzFraming        NextBlock frames exactly as PROTOCOL.md's framing, written
//	                   out plainly in this package, does: same blocks, same
//	                   offsets, the same sticky errors, and Close says how the
//	                   stream ended (truncated at len, no end marker, clean).
//	FuzzDecodeRequest  DecodeRequest and DecodeTrip: errors are *DecodeError
//	FuzzDecodeTrip     with a payload sentinel, Offset in [0, len], the field
//	                   FieldAt names there; Spans tie up the payload exactly;
//	                   sizes computed equal sizes read; strings alias the
//	                   payload; the streaming decoder agrees on a whole block.
//	FuzzReadString     each field reader against PROTOCOL.md's table: value,
//	FuzzReadDate       offset and status for every input, offsets within
//	FuzzReadTime       [0, len], byte-exact re-encoding, and the text forms
//	FuzzReadInts       (String/Parse) round-trip.
//	FuzzSplit          the streaming decoder under any split (cuts drawn from
//	                   the input), one byte at a time, and through Reader:
//	                   the same messages and errors (errors.Is, field,
//	                   offset) as the whole input; bounded buffering.
//	FuzzReencode       decode then encode: every block that decodes (bytes
//	                   left over included) re-encodes byte for byte, in each
//	                   profile; the strict encoder refuses exactly what
//	                   Validate refuses.
//	FuzzEncodeDecode   encode then decode: any field values come back as
//	                   QDataStream would read them, or as the typed error.
//	FuzzDetectProfile  DetectProfile agrees with decoding in each profile.
//
// FuzzCapture (pcap/pcapng reading with TCP reassembly, on any bytes) is in
// fuzz/capture, a test binary of its own: gopacket's coverage counters
// would slow every target here.
//
// Seeds live in testdata/fuzz/FuzzXxx/;
//
//	go test ./fuzz/... -run TestWriteSeeds -update
//
// makes them from the Qt vectors, the captures and testdata/foreign (see
// testdata/README.md). fuzz/run runs every target in turn; fuzz/speed
// measures FuzzFraming's exec/s beside FuzzFloor, an empty target built
// only with -tags fuzzfloor. fuzz/tripfuzz is the package for users: it
// fuzzes their own decoders against wire.
package fuzz
