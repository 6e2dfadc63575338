package pcap

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// MaxRecord is the largest record the reader accepts: libpcap's
// MAXIMUM_SNAPLEN. A file that claims a longer record is refused at that
// record, before anything is allocated for it.
const MaxRecord = 262144

// maxBlock is the largest pcapng block accepted: a packet block of
// MaxRecord bytes with room for its header and options.
const maxBlock = MaxRecord + 64<<10

// Errors of the file layer. They come wrapped in a *FileError.
var (
	// ErrFormat: the input is neither pcap nor pcapng.
	ErrFormat = errors.New("pcap: not a pcap or pcapng file")
	// ErrTruncatedFile: the file ends inside a record (a capture that was
	// cut short). Reader treats it as the end of the capture, with a note.
	ErrTruncatedFile = errors.New("pcap: file ends inside a record")
	// ErrRecordTooLarge: a record or block longer than MaxRecord.
	ErrRecordTooLarge = errors.New("pcap: record larger than the limit")
	// ErrCorrupt: a record or block that does not parse.
	ErrCorrupt = errors.New("pcap: corrupt record")
)

// FileError is a fault of the capture file itself, after Packet records
// were read.
type FileError struct {
	Packet int64 // records read before the fault
	Err    error // one of the sentinels above
	Detail string
}

func (e *FileError) Error() string {
	s := e.Err.Error()
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return fmt.Sprintf("%s (after %d records)", s, e.Packet)
}

func (e *FileError) Unwrap() error { return e.Err }

// Format is the container format of a capture.
type Format string

const (
	FormatPcap   Format = "pcap"
	FormatPcapNG Format = "pcapng"
)

// Packet is one record of a capture.
type Packet struct {
	// Num counts records from 1, in file order.
	Num int64
	// Info holds the timestamp and the captured and original lengths.
	Info     gopacket.CaptureInfo
	LinkType layers.LinkType
	// Data is the record's bytes, valid until the next call to Next.
	Data []byte
}

// PacketReader reads the records of a pcap or pcapng file. It holds one
// record at a time.
type PacketReader struct {
	format Format
	pcap   *pcapgo.Reader
	ng     *pcapgo.NgReader
	num    int64
	err    error // sticky
}

// NewPacketReader reads the file header of r and returns a reader of its
// records. A gzip-compressed file is read through gzip.
func NewPacketReader(r io.Reader) (*PacketReader, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	magic, err := br.Peek(4)
	if len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, &FileError{Err: ErrFormat, Detail: "gzip: " + err.Error()}
		}
		br = bufio.NewReaderSize(zr, 256<<10)
		magic, err = br.Peek(4)
		if err != nil && len(magic) < 4 {
			return nil, &FileError{Err: ErrFormat, Detail: fmt.Sprintf("gzip stream holds %d bytes", len(magic))}
		}
	} else if err != nil && len(magic) < 4 {
		if len(magic) == 0 {
			return nil, &FileError{Err: ErrFormat, Detail: "empty file"}
		}
		return nil, &FileError{Err: ErrFormat, Detail: fmt.Sprintf("%d bytes: too short for a file header", len(magic))}
	}
	pr := &PacketReader{}
	switch m := binary.LittleEndian.Uint32(magic); m {
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1:
		pr.format = FormatPcap
		pr.pcap, err = pcapgo.NewReader(bufio.NewReaderSize(newGuard(br, FormatPcap), 64<<10))
		if err != nil {
			return nil, headerError(err)
		}
	case 0x0a0d0d0a:
		pr.format = FormatPcapNG
		pr.ng, err = pcapgo.NewNgReader(bufio.NewReaderSize(newGuard(br, FormatPcapNG), 64<<10), pcapgo.NgReaderOptions{
			WantMixedLinkType:  true,
			SkipUnknownVersion: true,
		})
		if err != nil {
			return nil, headerError(err)
		}
	default:
		return nil, &FileError{Err: ErrFormat, Detail: fmt.Sprintf("magic % x", magic)}
	}
	return pr, nil
}

func headerError(err error) error {
	var fe *FileError
	if errors.As(err, &fe) {
		return fe
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &FileError{Err: ErrTruncatedFile, Detail: "in the file header"}
	}
	return &FileError{Err: ErrFormat, Detail: err.Error()}
}

// Format is the file's container format.
func (r *PacketReader) Format() Format { return r.format }

// Next returns the next record. It returns io.EOF at the end of the file, and
// a *FileError for a file that ends inside a record (ErrTruncatedFile), a
// record over MaxRecord, or one that does not parse; after an error every
// call returns it.
func (r *PacketReader) Next() (Packet, error) {
	if r.err != nil {
		return Packet{}, r.err
	}
	var (
		data []byte
		ci   gopacket.CaptureInfo
		err  error
		lt   layers.LinkType
	)
	if r.pcap != nil {
		data, ci, err = r.pcap.ZeroCopyReadPacketData()
		lt = r.pcap.LinkType()
	} else {
		data, ci, err = r.ng.ZeroCopyReadPacketData()
		if err == nil {
			if len(ci.AncillaryData) > 0 {
				lt, _ = ci.AncillaryData[0].(layers.LinkType)
			}
		}
	}
	if err != nil {
		r.err = r.fileError(err)
		return Packet{}, r.err
	}
	if ci.CaptureLength > MaxRecord || len(data) > MaxRecord {
		r.err = &FileError{Packet: r.num, Err: ErrRecordTooLarge, Detail: fmt.Sprintf("%d bytes", ci.CaptureLength)}
		return Packet{}, r.err
	}
	r.num++
	return Packet{Num: r.num, Info: ci, LinkType: lt, Data: data}, nil
}

// fileError classifies an error of pcapgo.
func (r *PacketReader) fileError(err error) error {
	var fe *FileError
	switch {
	case errors.As(err, &fe):
		fe.Packet = r.num
		return fe
	case err == io.EOF:
		return io.EOF
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return &FileError{Packet: r.num, Err: ErrTruncatedFile, Detail: fmt.Sprintf("record %d is cut short", r.num+1)}
	}
	return &FileError{Packet: r.num, Err: ErrCorrupt, Detail: err.Error()}
}

// guard passes a capture file through and follows its record structure,
// failing a record or block whose length is impossible or over the limit
// before pcapgo reads it: pcapgo takes a packet's length from the file and
// would read (and allocate) that much. A pcapng packet block whose packet
// runs past the block is refused too: pcapgo would read on into the blocks
// after it.
type guard struct {
	r      io.Reader
	ng     bool  // pcapng blocks, else pcap records
	left   int64 // bytes of the current record or block still to pass
	hdr    [28]byte
	nhdr   int  // header bytes gathered
	want   int  // header bytes needed
	big    bool // big-endian file or section
	offset int64
	err    error
}

func newGuard(r io.Reader, f Format) *guard {
	g := &guard{r: r, ng: f == FormatPcapNG, want: 12}
	if !g.ng {
		g.want = 24 // the file header first
	}
	return g
}

func (g *guard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.r.Read(p)
	b := p[:n]
	inRead := 0 // bytes of the header being gathered that came in this read
	for len(b) > 0 {
		if g.left > 0 {
			k := int(min(g.left, int64(len(b))))
			g.left -= int64(k)
			b = b[k:]
			g.offset += int64(k)
			continue
		}
		if g.nhdr == 0 {
			inRead = 0
		}
		k := copy(g.hdr[g.nhdr:g.want], b)
		g.nhdr += k
		inRead += k
		b = b[k:]
		g.offset += int64(k)
		if g.nhdr < g.want {
			continue
		}
		if e := g.header(); e != nil {
			// Pass the bytes before the bad header: the reader fails on
			// the header itself.
			g.err = e
			if pass := n - len(b) - inRead; pass > 0 {
				return pass, nil
			}
			return 0, e
		}
	}
	return n, err
}

// header checks the header gathered in g.hdr. It may ask for more of it.
func (g *guard) header() error {
	at := g.offset - int64(g.nhdr)
	if !g.ng {
		g.nhdr = 0
		if g.want == 24 {
			m := binary.LittleEndian.Uint32(g.hdr[0:4])
			g.big = m == 0xd4c3b2a1 || m == 0x4d3cb2a1
			g.want = 16
			return nil
		}
		caplen := g.uint32(g.hdr[8:12])
		if caplen > MaxRecord {
			return &FileError{Err: ErrRecordTooLarge, Detail: fmt.Sprintf("the record at byte %d claims %d bytes", at, caplen)}
		}
		g.left = int64(caplen)
		return nil
	}
	typ := binary.LittleEndian.Uint32(g.hdr[0:4])
	if g.want == 12 && typ == 0x0a0d0d0a {
		switch binary.LittleEndian.Uint32(g.hdr[8:12]) {
		case 0x1a2b3c4d:
			g.big = false
		case 0x4d3c2b1a:
			g.big = true
		default:
			return &FileError{Err: ErrCorrupt, Detail: fmt.Sprintf("the pcapng section at byte %d has no byte-order magic", at)}
		}
	}
	typ = g.uint32(g.hdr[0:4])
	length := g.uint32(g.hdr[4:8])
	switch {
	case length < 12 || length%4 != 0:
		return &FileError{Err: ErrCorrupt, Detail: fmt.Sprintf("the pcapng block at byte %d has length %d", at, length)}
	case length > maxBlock:
		return &FileError{Err: ErrRecordTooLarge, Detail: fmt.Sprintf("the pcapng block at byte %d claims %d bytes", at, length)}
	}
	switch typ {
	case 2, 6: // packet block, enhanced packet block: 28 bytes of header
		if length < 32 {
			return &FileError{Err: ErrCorrupt, Detail: fmt.Sprintf("the pcapng packet block at byte %d has length %d", at, length)}
		}
		if g.want == 12 {
			g.want = 28
			return nil
		}
		if caplen := g.uint32(g.hdr[20:24]); caplen > length-32 {
			return &FileError{Err: ErrCorrupt, Detail: fmt.Sprintf("the pcapng packet block at byte %d holds %d bytes but claims a %d-byte packet", at, length-32, caplen)}
		}
	case 3: // simple packet block: the packet's length, capped by the snap length
		if origLen := g.uint32(g.hdr[8:12]); origLen > MaxRecord {
			return &FileError{Err: ErrRecordTooLarge, Detail: fmt.Sprintf("the pcapng simple packet block at byte %d claims %d bytes", at, origLen)}
		}
	}
	g.left = int64(length) - int64(g.want)
	g.nhdr, g.want = 0, 12
	return nil
}

func (g *guard) uint32(b []byte) uint32 {
	if g.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}
