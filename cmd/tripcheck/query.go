package main

import (
	"errors"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tripcheck/tripcheck/contract"
	"github.com/tripcheck/tripcheck/fakes"
	"github.com/tripcheck/tripcheck/wire"
)

// queryFlags are the flags of tripcheck query.
type queryFlags struct {
	from, to   string
	date, time string
	arrive     bool
	flag       string
	profile    string
	format     string
	timeout    time.Duration
}

func newQueryCmd(e *env) *cobra.Command {
	var f queryFlags
	cmd := &cobra.Command{
		Use:   "query ADDR --from CITY --to CITY",
		Short: "Ask a Trip server for trips, as the book's Trip Planner does",
		Long: `query is the reference Trip client: it sends one request to the server at
ADDR (host:port; the port defaults to 6178), reads the reply up to the end
marker, and prints the trips. It never prints a partial answer.

"@null" sends a null string, date or time; "" sends an empty string.
--date defaults to today (local time) and --time to 09:00, a fixed hour, so
that the book's server gives the same trips whatever the clock says.

--format table (the default) looks like the book's window. --format lines is
the client exec contract, a public interface shared with the Qt client:
  one line per trip: <yyyy-MM-dd> <HH:mm:ss.zzz> <duration> <changes> <trainType>
  (a null date or time printed as @null, one out of range as @jd(N) or @ms(N);
  the train type as UTF-8, a lone surrogate as U+FFFD), then "END <n>", exit 0;
  on failure exactly one line "ERROR <reason>" on stdout, no trip, exit 1
  ("connection closed by server" when the stream ends before the end marker);
  when nothing listens at ADDR, "ERROR connection refused" and exit 2, a setup
  error, as every command that dials.
--format json prints {"request": ..., "trips": [...]} with trips in the
format of serve --trips, or {"request": ..., "error": "..."} and exit 1.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runQuery(e, &f, args[0])
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.from, "from", "", "departure `CITY` (@null: a null string)")
	fl.StringVar(&f.to, "to", "", "arrival `CITY` (@null: a null string)")
	fl.StringVar(&f.date, "date", "", "`DATE` of travel, yyyy-MM-dd or @null (default today)")
	fl.StringVar(&f.time, "time", "09:00", "`TIME` of travel, HH:mm[:ss[.zzz]] or @null")
	fl.BoolVar(&f.arrive, "arrive", false, "the time is an arrival time (flag 'A'); default departure ('D')")
	fl.StringVar(&f.flag, "flag", "", "the flag as a letter, D (departure) or A (arrival), for exec templates ({flag})")
	fl.StringVar(&f.profile, "profile", "qt4", "profile to speak: qt4 (the book's) or qt5 (qt6 is qt5)")
	fl.StringVar(&f.format, "format", "table", "output: table, lines or json")
	fl.DurationVar(&f.timeout, "timeout", fakes.DefaultQueryTimeout, "give up after this long")
	cmd.MarkFlagRequired("from")
	cmd.MarkFlagRequired("to")
	return cmd
}

// queryString reads a --from or --to value.
func queryString(s string) wire.String {
	if s == "@null" {
		return wire.NullString()
	}
	return wire.Str(s)
}

// request builds the request the flags describe.
func (f *queryFlags) request() (*wire.Request, wire.Profile, error) {
	p, err := wire.ParseProfile(f.profile)
	if err != nil {
		return nil, 0, usageError("--profile %q: want qt4 or qt5", f.profile)
	}
	date := f.date
	if date == "" {
		date = time.Now().Format("2006-01-02")
	}
	d, err := wire.ParseDate(date)
	if err != nil {
		return nil, 0, usageError("--date: %v", err)
	}
	t, err := wire.ParseTime(f.time)
	if err != nil || (!t.IsNull() && !t.IsValid()) {
		return nil, 0, usageError("--time %q: want HH:mm[:ss[.zzz]] or @null", f.time)
	}
	r := &wire.Request{Type: wire.TypeSearch, From: queryString(f.from), To: queryString(f.to), Date: d, Time: t, Flag: wire.FlagDeparture}
	switch {
	case f.flag != "" && f.flag != "D" && f.flag != "A":
		return nil, 0, usageError("--flag %q: want D or A", f.flag)
	case f.flag == "D" && f.arrive:
		return nil, 0, usageError("--flag D contradicts --arrive")
	case f.arrive || f.flag == "A":
		r.Flag = wire.FlagArrival
	}
	return r, p, nil
}

func runQuery(e *env, f *queryFlags, addr string) error {
	switch f.format {
	case "table", "lines", "json":
	default:
		return usageError("--format %q: want table, lines or json", f.format)
	}
	req, p, err := f.request()
	if err != nil {
		return err
	}
	trips, err := fakes.Query(e.ctx, withDefaultPort(addr), req, p, f.timeout)
	if err != nil {
		reason := err.Error()
		var qe *fakes.QueryError
		if errors.As(err, &qe) {
			reason = qe.Reason()
		}
		switch f.format {
		case "lines":
			contract.WriteFailed(e.stdout, nil, reason)
		case "json":
			fakes.WriteQueryJSON(e.stdout, req, p, nil, reason)
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			return notListening(withDefaultPort(addr), err)
		}
		return failed(err)
	}
	switch f.format {
	case "lines":
		contract.WriteAnswer(e.stdout, trips)
	case "json":
		fakes.WriteQueryJSON(e.stdout, req, p, trips, "")
	default:
		contract.WriteTable(e.stdout, trips)
	}
	return nil
}
