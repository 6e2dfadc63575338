package conformance_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/wire"
)

// reply is the book's qt4 reply to berlin-muenchen-dep: three 35-byte trip
// blocks (durations 44, 8, 61) and the end marker.
func bookReply(t *testing.T) []byte {
	t.Helper()
	r := conformance.DefaultRequest()
	b, err := conformance.GoldenBook(wire.Qt4, &r)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 107 {
		t.Fatalf("book reply is %d bytes, want 107", len(b))
	}
	return b
}

func TestLocate(t *testing.T) {
	b := bookReply(t)
	for off, want := range map[int]string{
		0: "trip[0].size", 1: "trip[0].size", 2: "trip[0].date", 6: "trip[0].departure", 10: "trip[0].duration",
		12: "trip[0].changes", 13: "trip[0].trainType.length", 17: "trip[0].trainType[0]",
		35 + 35 + 17 + 6: "trip[2].trainType[3]", 105: "end", 106: "end", 107: "after end",
	} {
		if got := conformance.Locate(b, wire.Qt4, wire.Replies, off); got != want {
			t.Errorf("Locate(%d) = %q, want %q", off, got, want)
		}
	}
	req, _ := wire.Qt4.AppendRequest(nil, &wire.Request{Type: 'S', From: wire.Str("ab"), Flag: 'D'})
	if got := conformance.Locate(req, wire.Qt4, wire.Requests, 8); got != "request[0].from[0]" {
		t.Errorf("request: %q", got)
	}
}

func TestCompareExplains(t *testing.T) {
	want := bookReply(t)
	got := append([]byte(nil), want...)
	got[35+35+17+7] ^= 0x20 // trip[2].trainType[3]: "e" -> "E"
	err := conformance.Compare(want, got, wire.Qt4, wire.Replies)
	var m *conformance.Mismatch
	if !errors.As(err, &m) {
		t.Fatalf("Compare = %v", err)
	}
	msg := err.Error()
	for _, s := range []string{"differs at byte 94 (trip[2].trainType[3]): expected 65, got 45", "expected:", "actual:", "> 0050:", "^^"} {
		if !strings.Contains(msg, s) {
			t.Errorf("explanation lacks %q:\n%s", s, msg)
		}
	}
	if err := conformance.Compare(want, want, wire.Qt4, wire.Replies); err != nil {
		t.Errorf("equal streams: %v", err)
	}
	short := conformance.Compare(want, want[:100], wire.Qt4, wire.Replies)
	if short == nil || !strings.Contains(short.Error(), "end of stream (100 bytes)") {
		t.Errorf("short stream: %v", short)
	}
}

// An offset past a block that announces more than the stream holds names
// the next block's size, without reading past the stream.
func TestLocatePastCutBlock(t *testing.T) {
	stream := []byte{0x00, 0x10, 1, 2, 3} // announces 16 bytes, holds 3
	if got := conformance.Locate(stream, wire.Qt4, wire.Replies, 20); got != "trip[1].size" {
		t.Errorf("Locate(20) = %q, want trip[1].size", got)
	}
}
