package check

import (
	"fmt"
	"strings"
)

// Level says how binding a requirement is.
type Level uint8

const (
	// Must: a peer that fails it is not conformant. The book's server and
	// client pass every MUST.
	Must Level = iota + 1
	// Should: recommended; it counts only with --strict.
	Should
)

func (l Level) String() string {
	switch l {
	case Must:
		return "MUST"
	case Should:
		return "SHOULD"
	}
	return fmt.Sprintf("Level(%d)", uint8(l))
}

// MarshalText writes MUST or SHOULD.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText reads MUST or SHOULD, so that JSON reports read back.
func (l *Level) UnmarshalText(b []byte) error {
	switch string(b) {
	case "MUST":
		*l = Must
	case "SHOULD":
		*l = Should
	default:
		return fmt.Errorf("level %q: want MUST or SHOULD", b)
	}
	return nil
}

// Requirement is one sentence of the protocol that a peer must or should
// keep, as the passive checks report it ("reply/framing").
type Requirement struct {
	ID       string
	Level    Level
	Sentence string
}

// Rule is one kind of fault: a way to break a requirement. Its ID is what
// a Finding's Check holds; reports group failures by it, and manifests and
// tests name it, so it never changes.
type Rule struct {
	ID string
	// Summary says the fault in one sentence a user can act on.
	Summary string
	// Requirement is the ID of the requirement the fault breaks, or "" for
	// a rule only a scenario of the suites finds (a refused connection, a
	// client's output): its requirement is the sentence of the scenario
	// that found it (the scenario's first line), which the finding's result
	// carries, and Finding.Requirement and Finding.Level report none.
	Requirement string
}

// requirements is the catalog's sentences, in the order the passive checks
// run them. Nothing else in the project holds these sentences.
var requirements = []Requirement{
	{"request/framing", Must, "The client MUST send one request block whose size equals its fields, with valid field encodings (PROTOCOL.md: Framing, Request)."},
	{"request/valid", Must, "The client MUST send request type 'S', a flag 'D' or 'A' and a time of day before 24:00 (PROTOCOL.md: Request)."},
	{"client/one-request", Must, "The client MUST send one request per connection and nothing after it (PROTOCOL.md: Request)."},
	{"client/close-after-end", Must, "The client MUST close the connection after the end marker, sending nothing more (PROTOCOL.md: Reply)."},
	{"reply/no-reply-truncated", Must, "The server MUST NOT reply to a request cut short by the client (PROTOCOL.md: Framing, What tripcheck checks)."},
	{"reply/refused", Should, "The server SHOULD refuse bad input without a reply (PROTOCOL.md: What tripcheck checks)."},
	{"reply/framing", Must, "The server MUST send trip blocks whose sizes equal their fields, with valid field encodings, then the end marker (PROTOCOL.md: Framing, Reply)."},
	{"reply/nothing-after-end", Must, "The server MUST send nothing after the end marker (PROTOCOL.md: Reply)."},
	{"reply/close-after-end", Must, "The server MUST close the connection after the end marker (PROTOCOL.md: Reply)."},
	{"reply/consistent", Should, "The server SHOULD send trips dated on the requested date or the day after (PROTOCOL.md: What tripcheck checks)."},
	{"reply/no-null", Should, "The server SHOULD send no trip with a null date or time for a request with a date and a time (PROTOCOL.md: What tripcheck checks)."},
	{"reply/golden", Should, "The server SHOULD send the reference's exact reply, byte for byte, when --golden claims it (PROTOCOL.md: The book's server)."},
}

// rules is the catalog of faults, the one place their summaries are
// written. The checker makes findings of the first three groups; the
// suites make the rest from what they alone can see (a scenario's expected
// trip count, a reference reply, a refused connection, a client's output),
// by the same IDs and always through At.
var rules = []Rule{
	// The reply stream: framing and field encodings.
	{RuleNoEndMarker, "the reply has no end marker", "reply/framing"},
	{RuleCutBlock, "the stream ends inside a block", "reply/framing"},
	{"reply/bytes-left-over", "a trip block has bytes left over after its fields", "reply/framing"},
	{"reply/field-past-block", "a trip field runs past the end of its block", "reply/framing"},
	{"reply/reserved-size", "a block has the reserved size 0xFFFF", "reply/framing"},
	{"reply/block-too-large", "a block is larger than 65534 bytes", "reply/framing"},
	{"reply/invalid-time", "a trip has a time out of range", "reply/framing"},
	{"reply/corrupt-field", "a trip field is corrupt", "reply/framing"},
	{"reply/bad-block", "the reply does not decode", "reply/framing"},
	{RuleSilent, "the server sends no reply", "reply/framing"},
	{RuleBudget, "the reply runs past the byte budget without an end marker", "reply/framing"},
	{"reply/invalid-trip", "a trip has a value out of range", "reply/framing"},
	{RuleAfterEnd, "the server sends bytes after the end marker", "reply/nothing-after-end"},
	{RuleResetAfterReply, "the server resets the connection after the reply instead of closing it", "reply/close-after-end"},
	{RuleOpenAfterReply, "the server does not close the connection after the reply", "reply/close-after-end"},
	// The two directions together.
	{RuleToCutRequest, "the server replies to a request the client cut short", "reply/no-reply-truncated"},
	{RuleAnsweredBad, "the server answers a request it should refuse", "reply/refused"},
	// The request stream.
	{"request/field-past-block", "a request field runs past the end of its block", "request/framing"},
	{"request/bytes-left-over", "the request block has bytes left over after its fields", "request/framing"},
	{"request/corrupt-field", "a request field is corrupt", "request/framing"},
	{"request/malformed", "the request is not well-formed", "request/framing"},
	{RuleSizeFFFF, "the request's size is 0xFFFF, the end marker", "request/framing"},
	{RuleRequestCut, "the client ends the connection before its request is whole", "request/framing"},
	{"request/type-not-s", "the request's type is not 'S'", "request/valid"},
	{"request/bad-flag", "the request's flag is neither 'D' nor 'A'", "request/valid"},
	{"request/invalid-time", "the request's time is out of range", "request/valid"},
	{RuleAfterRequest, "the client sends bytes after its request (a second request)", "client/one-request"},
	{"client/open-after-reply", "the client does not close the connection after the end marker", "client/close-after-end"},
	// Made by the suites, which know what the reply should hold.
	{"reply/trip-count", "the reply has the wrong number of trips", "reply/framing"},
	{"reply/null-trip", "a trip has a null date or time", "reply/no-null"},
	{"reply/wrong-date", "a trip departs on another day than the one asked for", "reply/consistent"},
	{"reply/not-golden", "the reply differs from the reference server's", "reply/golden"},
	{"request/not-exact", "the request is not the exact encoding of the search given", "request/framing"},

	// Made by the suites' scenarios alone. Their requirement is the
	// scenario's own sentence, so they name none here.
	//
	// The server suite's first probe (preflight).
	{"conn/reset", "the server resets connections", ""},
	{"conn/write-failed", "the request could not be sent", ""},
	{"conn/silent", "the server sends nothing", ""},
	{"conn/closed", "the server closes connections without a reply", ""},
	{"conn/read-failed", "the server's reply could not be read", ""},
	{"reply/not-trip", "the server does not speak the Trip protocol", ""},
	{"reply/stalled", "the server stalls inside its first block", ""},
	{"reply/cut", "the server ends its reply inside the first block", ""},
	// The server suite's connections.
	{"conn/not-serving", "the server no longer serves", ""},
	{"conn/write", "the server stops reading before the request is whole", ""},
	{"conn/refused", "the server did not accept every connection", ""},
	{"conn/concurrent", "the server does not serve clients at once", ""},
	// A connection that ends, without a reply, in a way the scenario does
	// not accept: "conn/ending-" and an internal/ending.How.
	{"conn/ending-close", "the connection ends by close where that is not allowed", ""},
	{"conn/ending-reset", "the connection ends by reset where that is not allowed", ""},
	{"conn/ending-silence", "the connection ends by silence where that is not allowed", ""},
	{"conn/ending-error", "the connection ends by error where that is not allowed", ""},
	{"conn/ending-budget", "the connection ends by budget where that is not allowed", ""},
	// The server suite's replies.
	{"reply/unwanted", "the server replies where no reply is allowed", ""},
	{"reply/slow", "the reply is slower than allowed", ""},
	{"profile/no-decodable-reply", "no reply decodes in either profile", ""},
	{"profile/inconsistent", "the server reads a request in one profile and answers in the other", ""},
	// The client suite's connections.
	{"client/no-connection", "the client does not connect", ""},
	{"client/no-exit", "the client did not give up on an address where nothing listens", ""},
	{"client/refused-not-error", "the client did not report a refused connection as an error", ""},
	{"conn/client-sends-more", "the client sends bytes after its request", ""},
	{"conn/client-keeps-open", "the client does not close the connection", ""},
	{"conn/client-ending", "the connection ends otherwise than by the client's close", ""},
	// What a client prints: "output/" and a rule of package contract
	// (contract.Rule.Check), whose summaries these are.
	{"output/hangs", "the client does not finish after the reply", ""},
	{"output/error-on-valid", "the client fails on a complete, valid reply", ""},
	{"output/missing-lines", "the client prints less than the whole answer", ""},
	{"output/extra-lines", "the client prints lines after END", ""},
	{"output/wrong-trip", "a printed trip differs from the trip sent", ""},
	{"output/exit-status", "the client exits non-zero after printing a whole answer", ""},
	{"output/cut-taken-whole", "the client takes a cut or broken reply for a complete answer", ""},
	{"output/no-error-line", "the client prints no ERROR line on a failed search", ""},
	{"output/error-lines", "the client prints more than one ERROR line", ""},
	{"output/trip-not-received-whole", "the client prints a trip it did not receive whole", ""},
	{"output/wrong-partial-trips", "before ERROR the client prints trips other than those of the blocks received whole", ""},
	{"output/exit-zero-on-error", "the client exits 0 after a failed search", ""},
}

// IDs of the rules the checker applies by name.
const (
	RuleNoEndMarker     = "reply/no-end-marker"
	RuleCutBlock        = "reply/cut-block"
	RuleSilent          = "reply/silent"
	RuleBudget          = "reply/budget-exceeded"
	RuleAfterEnd        = "reply/after-end"
	RuleResetAfterReply = "conn/reset-after-reply"
	RuleOpenAfterReply  = "conn/open-after-reply"
	RuleToCutRequest    = "reply/to-cut-request"
	RuleAnsweredBad     = "reply/answered-bad-request"
	RuleSizeFFFF        = "request/size-ffff"
	RuleRequestCut      = "request/cut"
	RuleAfterRequest    = "client/bytes-after-request"
)

var (
	ruleIndex = map[string]int{}
	reqIndex  = map[string]int{}
)

func init() {
	for i, r := range requirements {
		if _, dup := reqIndex[r.ID]; dup {
			panic("check: requirement " + r.ID + " twice")
		}
		reqIndex[r.ID] = i
	}
	for i, r := range rules {
		if _, dup := ruleIndex[r.ID]; dup {
			panic("check: rule " + r.ID + " twice")
		}
		if r.Summary == "" {
			panic("check: rule " + r.ID + " has no summary")
		}
		if _, ok := reqIndex[r.Requirement]; !ok && r.Requirement != "" {
			panic("check: rule " + r.ID + " breaks no known requirement")
		}
		ruleIndex[r.ID] = i
	}
}

// Requirements lists the catalog's requirements, in the order the passive
// checks run them.
func Requirements() []Requirement { return append([]Requirement(nil), requirements...) }

// RequirementOf looks up a requirement by ID.
func RequirementOf(id string) (Requirement, bool) {
	i, ok := reqIndex[id]
	if !ok {
		return Requirement{}, false
	}
	return requirements[i], true
}

// Rules lists the catalog's rules.
func Rules() []Rule { return append([]Rule(nil), rules...) }

// RuleOf looks up a rule by ID.
func RuleOf(id string) (Rule, bool) {
	i, ok := ruleIndex[id]
	if !ok {
		return Rule{}, false
	}
	return rules[i], true
}

// mustRule is RuleOf for the IDs the package names itself.
func mustRule(id string) Rule {
	r, ok := RuleOf(id)
	if !ok {
		panic("check: no rule " + id)
	}
	return r
}

// Area is the part of a rule or requirement ID before the slash: "reply".
func Area(id string) string {
	a, _, _ := strings.Cut(id, "/")
	return a
}
