package report

import (
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/tripcheck/tripcheck/fakes"
	"github.com/tripcheck/tripcheck/pcap"
	"github.com/tripcheck/tripcheck/wire"
)

// DecodeJSON writes the sessions of `pcap decode --json` as JSON Lines: one
// object per session, its trips in the JSON trips format of
// fakes.JSONTrip.
type DecodeJSON struct {
	enc *json.Encoder
}

// NewDecodeJSON returns a DecodeJSON writing to w.
func NewDecodeJSON(w io.Writer) *DecodeJSON {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &DecodeJSON{enc: enc}
}

// Session writes s, decoded as d, as one line.
func (j *DecodeJSON) Session(s *pcap.Session, d *pcap.Decoded) error {
	return j.enc.Encode(sessionJSON(s, d))
}

// JSON of decode, one object per session.
type (
	jsonSession struct {
		Index        int           `json:"index"`
		Client       string        `json:"client"`
		Server       string        `json:"server"`
		First        time.Time     `json:"first"`
		Last         time.Time     `json:"last"`
		FirstPacket  int64         `json:"first_packet"`
		LastPacket   int64         `json:"last_packet"`
		Packets      int           `json:"packets"`
		End          string        `json:"end"`
		Profile      string        `json:"profile"`
		ProfileNote  string        `json:"profile_note"`
		Request      *jsonRequest  `json:"request,omitempty"`
		Messages     []jsonMessage `json:"messages"`
		Faults       []jsonFault   `json:"faults"`
		ClientSide   jsonSide      `json:"client_side"`
		ServerSide   jsonSide      `json:"server_side"`
		Notes        []jsonNote    `json:"notes"`
		NotesDropped int           `json:"notes_dropped,omitempty"`
	}
	jsonRequest struct {
		Type string `json:"type"`
		From string `json:"from"`
		To   string `json:"to"`
		Date string `json:"date"`
		Time string `json:"time"`
		Flag string `json:"flag"`
	}
	jsonMessage struct {
		Dir     string          `json:"dir"`
		Kind    string          `json:"kind"`
		Index   int             `json:"index"`
		Offset  int64           `json:"offset"`
		Size    int             `json:"size"`
		Packet  int64           `json:"packet"`
		Last    int64           `json:"last_packet"`
		Time    time.Time       `json:"time"`
		Request *jsonRequest    `json:"request,omitempty"`
		Trip    *fakes.JSONTrip `json:"trip,omitempty"`
		Fault   *jsonFieldError `json:"fault,omitempty"`
	}
	jsonFieldError struct {
		Field  string `json:"field"`
		Offset int64  `json:"offset"`
		Error  string `json:"error"`
	}
	jsonFault struct {
		Dir    string `json:"dir"`
		Packet int64  `json:"packet"`
		jsonFieldError
	}
	jsonSide struct {
		Bytes      int64      `json:"bytes"`
		Kept       int        `json:"kept"`
		StartKnown bool       `json:"start_known"`
		SYN        int64      `json:"syn_packet"`
		FIN        int64      `json:"fin_packet"`
		RST        int64      `json:"rst_packet"`
		Gaps       []pcap.Gap `json:"gaps,omitempty"`
	}
	jsonNote struct {
		Kind   string `json:"kind"`
		Packet int64  `json:"packet"`
		Dir    string `json:"dir,omitempty"`
		Offset int64  `json:"offset"`
		Text   string `json:"text"`
	}
)

func dirName(d pcap.Direction) string {
	switch d {
	case pcap.ClientToServer:
		return "client-to-server"
	case pcap.ServerToClient:
		return "server-to-client"
	}
	return ""
}

func requestJSON(r *wire.Request) *jsonRequest {
	str := func(s wire.String) string {
		if s.IsNull() {
			return "@null"
		}
		return s.String()
	}
	return &jsonRequest{Type: string(rune(r.Type)), From: str(r.From), To: str(r.To), Date: r.Date.String(), Time: r.Time.String(), Flag: string(rune(r.Flag))}
}

func fieldErrorJSON(err error) *jsonFieldError {
	if err == nil {
		return nil
	}
	fe := &jsonFieldError{Error: err.Error()}
	var de *wire.DecodeError
	if errors.As(err, &de) {
		fe.Field, fe.Offset = de.Field, de.Offset
	}
	return fe
}

func sideJSON(st *pcap.Stream) jsonSide {
	return jsonSide{Bytes: st.Len, Kept: len(st.Data), StartKnown: st.StartKnown, SYN: st.SYN.Packet, FIN: st.FIN.Packet, RST: st.RST.Packet, Gaps: st.Gaps}
}

func sessionJSON(s *pcap.Session, d *pcap.Decoded) jsonSession {
	j := jsonSession{
		Index: s.Index, Client: s.Client.String(), Server: s.Server.String(),
		First: s.First.UTC(), Last: s.Last.UTC(), FirstPacket: s.FirstPacket, LastPacket: s.LastPacket,
		Packets: s.Packets, End: string(s.End), Profile: d.Profile.String(), ProfileNote: d.ProfileNote,
		Messages: []jsonMessage{}, Faults: []jsonFault{}, Notes: []jsonNote{},
		ClientSide: sideJSON(s.Up), ServerSide: sideJSON(s.Down), NotesDropped: s.NotesDropped,
	}
	for _, m := range d.Messages {
		jm := jsonMessage{Dir: dirName(m.Dir), Kind: m.Kind.String(), Index: m.Index, Offset: m.Offset, Size: m.Size,
			Packet: m.Packet, Last: m.Last, Time: m.Time.UTC(), Fault: fieldErrorJSON(m.Err)}
		switch m.Kind {
		case wire.KindRequest:
			jm.Request = requestJSON(&m.Request)
			if j.Request == nil {
				j.Request = jm.Request
			}
		case wire.KindTrip:
			t := fakes.TripJSON(&m.Trip)
			jm.Trip = &t
		}
		j.Messages = append(j.Messages, jm)
	}
	for _, f := range d.Faults {
		j.Faults = append(j.Faults, jsonFault{Dir: dirName(f.Dir), Packet: f.Packet, jsonFieldError: *fieldErrorJSON(f.Err)})
	}
	for _, n := range s.Notes {
		j.Notes = append(j.Notes, jsonNote{Kind: string(n.Kind), Packet: n.Packet, Dir: dirName(n.Dir), Offset: n.Offset, Text: n.Text})
	}
	return j
}
