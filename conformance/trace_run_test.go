package conformance_test

import (
	"context"
	"testing"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/fakes"
	"github.com/tripcheck/tripcheck/wire"
)

// wireSummary adds up a result's trace: bytes each way, endings seen, by
// connection.
type wireSummary struct {
	to, from  map[string]int
	endings   map[string][]conformance.WireKind
	ordered   bool
	connCount int
}

func summarize(evs []conformance.WireEvent) wireSummary {
	s := wireSummary{to: map[string]int{}, from: map[string]int{}, endings: map[string][]conformance.WireKind{}, ordered: true}
	next := map[string]int64{}
	for i, e := range evs {
		if i > 0 && e.At < evs[i-1].At {
			s.ordered = false
		}
		key := e.Conn + "/" + e.Dir.String()
		switch e.Kind {
		case conformance.WireWrite, conformance.WireRead:
			if e.Offset != next[key] {
				s.ordered = false
			}
			next[key] = e.Offset + int64(e.Len)
			if e.Dir == conformance.ToPeer {
				s.to[e.Conn] += e.Len
			} else {
				s.from[e.Conn] += e.Len
			}
		default:
			s.endings[e.Conn] = append(s.endings[e.Conn], e.Kind)
		}
	}
	s.connCount = len(next)
	return s
}

// TestServerSuiteWire: the server suite records each scenario's wire, the
// probe of the server's health included, against a server that leaves out
// the end marker.
func TestServerSuiteWire(t *testing.T) {
	srv, err := fakes.NewServer(fakes.WithProfile(wire.Qt4), fakes.WithFault(fakes.Fault{NoEnd: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	rep, err := conformance.RunServer(context.Background(), conformance.ServerOptions{
		Target: srv.Addr(), Profile: wire.Qt4, Seed: 1, Run: []string{"valid/ascii/whole", "bad/stall-65534"},
	})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]conformance.Result{}
	for _, r := range rep.Results {
		byID[r.ID] = r
	}
	r := byID["valid/ascii/whole"]
	s := summarize(r.Wire)
	// the request (46 bytes), its trip blocks (35 bytes each), a FIN
	if r.Status != conformance.Fail || !s.ordered || s.to["c"] != 46 || s.from["c"] == 0 || s.from["c"]%35 != 0 || len(s.endings["c"]) == 0 || s.endings["c"][0] != conformance.WireFIN {
		t.Errorf("valid/ascii/whole: %s, wire %+v\n%+v", r.Status, s, r.Wire)
	}
	r = byID["bad/stall-65534"]
	s = summarize(r.Wire)
	if r.Status != conformance.Fail || !s.ordered || s.to["c"] != 6 || s.to["probe"] == 0 || s.from["probe"] == 0 {
		t.Errorf("bad/stall-65534: %s, wire %+v\n%+v", r.Status, s, r.Wire)
	}
}

// TestClientSuiteWire: the client suite records the client's request and
// tripcheck's reply, as served.
func TestClientSuiteWire(t *testing.T) {
	bin := buildBrokenClient(t)
	rep, err := conformance.RunClient(context.Background(), conformance.ClientOptions{
		Exec: brokenTemplate(bin, "ok"), Profile: wire.Qt4, Timeout: loadedTimeout, Seed: 1,
		Run: []string{"trips/seven/fragmented", "closed/reset"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		s := summarize(r.Wire)
		if r.Status != conformance.Pass || !s.ordered || s.connCount == 0 {
			t.Errorf("%s: %s %s, wire %+v", r.ID, r.Status, r.Message, s)
			continue
		}
		for conn, n := range s.from {
			if n < 2 {
				t.Errorf("%s: no request recorded on %s", r.ID, conn)
			}
			if s.to[conn] == 0 {
				t.Errorf("%s: no reply recorded on %s", r.ID, conn)
			}
		}
		writes := 0
		for _, e := range r.Wire {
			if e.Kind == conformance.WireWrite {
				writes++
			}
		}
		switch r.ID {
		case "trips/seven/fragmented":
			if writes < 5 {
				t.Errorf("%s: %d writes recorded, want the fragments", r.ID, writes)
			}
		case "closed/reset":
			var ends []conformance.WireKind
			for _, k := range s.endings {
				ends = append(ends, k...)
			}
			found := false
			for _, k := range ends {
				found = found || k == conformance.WireReset
			}
			if !found {
				t.Errorf("%s: no reset recorded; endings %v", r.ID, ends)
			}
		}
	}
}
