// Package tripfuzz fuzzes a Trip decoder of your own against tripcheck's
// reference decoder (package wire): differential fuzzing with go test.
//
// In your module, beside your decoder:
//
//	func FuzzReplies(f *testing.F) {
//		tripfuzz.Replies(f, wire.Qt4, func(stream []byte) ([]wire.Trip, error) { return mydecoder.Replies(stream) })
//	}
//
// and run it with go test -fuzz FuzzReplies. Replies adds the seeds (the
// Qt vectors, replies captured from real exchanges, and inputs of other
// protocols from go-fuzz-corpus), then for every input compares your
// decoder's answer with wire's: where wire decodes the stream, the same
// trips value by value and no error; where wire finds a fault, an error of
// the same Class (CutShort, Corrupt, LeftOver). A difference fails the
// input with a Mismatch that names the field and its stream offset:
//
//	end at offset 35: got no error (1 trip), want an error, cut short (wire: stream ended before the end marker in end at offset 35)
//	request[0].date at offset 37: got @null, want 2026-11-25 (jd 2461370)
//
// go test keeps the failing input under testdata/fuzz, so that it is a
// regression test from then on. Requests does the same for request
// streams. Options say what your decoder does not model: StopAtEndMarker
// for one that stops reading at the end marker, AnyError for one whose
// errors carry no class, Classify for one with error values of its own.
// CheckReplies and CheckRequests compare one stream, without fuzzing.
//
// The same harness builds as a libFuzzer binary for ClusterFuzzLite or
// OSS-Fuzz (compile_native_go_fuzzer, which is go-118-fuzz-build and
// clang): Replies and Requests take an F, which go-118-fuzz-build's F
// satisfies as *testing.F does, and its failures panic, which libFuzzer
// reports as crashes. Such a build ignores F.Add: the command
// tripfuzz/seedcorpus writes the seeds as its seed corpus
// (LibFuzzerInput).
package tripfuzz
