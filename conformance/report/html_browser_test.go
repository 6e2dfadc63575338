package report_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/conformance/report"
	"github.com/tripcheck/tripcheck/fakes"
	"github.com/tripcheck/tripcheck/pcap"
	"github.com/tripcheck/tripcheck/wire"
)

// chromium finds Debian's chromium (or another Chromium) for the browser
// tests. Under CI=true a missing browser fails the test: .ci/run installs
// it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium on PATH: the HTML report's browser test needs it (apt-get install chromium)")
	}
	t.Skip("no chromium on PATH: install Debian's chromium to run the HTML report's browser test")
	return ""
}

// browser is one headless Chromium tab that records what a page does
// wrong: console errors and warnings, uncaught exceptions, log entries of
// level error, and any request other than for the page itself.
type browser struct {
	ctx  context.Context
	mu   sync.Mutex
	page string // the file URL loaded
	bad  []string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	exe := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	b := &browser{ctx: ctx}
	// The first Run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	err := chromedp.Listen(ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				b.bad = append(b.bad, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " ")))
			}
		case *runtime.EventExceptionThrown:
			b.bad = append(b.bad, "exception: "+(&chromedp.ExceptionError{ExceptionDetails: ev.ExceptionDetails}).Error())
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				b.bad = append(b.bad, "log: "+ev.Entry.Text)
			}
		case *network.EventRequestWillBeSent:
			if ev.Request.URL != b.page && !strings.HasPrefix(ev.Request.URL, "data:") {
				b.bad = append(b.bad, "request: "+ev.Request.URL)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// load opens the file at path and waits for sel to be visible.
func (b *browser) load(t *testing.T, path, sel string) {
	t.Helper()
	u := (&url.URL{Scheme: "file", Path: path}).String()
	b.mu.Lock()
	b.page, b.bad = u, nil
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		t.Fatalf("loading %s: %v", path, err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, b *browser, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// problems returns what went wrong in the page so far. Console events come
// on another goroutine: a last round trip to the page lets them arrive.
func (b *browser) problems(t *testing.T) []string {
	t.Helper()
	eval[int](t, b, `1`)
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.bad...)
}

// failingRun runs part of the server suite against a server that writes
// every trip block's size one more than its payload (brokenserver's
// off-by-one, as a fake in this process).
func failingRun(t *testing.T) *conformance.Report {
	t.Helper()
	srv, err := fakes.NewServer(fakes.WithProfile(wire.Qt4), fakes.WithFault(fakes.Fault{SizeDelta: 1}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	rep, err := conformance.RunServer(t.Context(), conformance.ServerOptions{
		Target: srv.Addr(), Profile: wire.Qt4, Seed: 1,
		Run: []string{"valid/ascii/*", "framing/split-size", "bad/flag-not-da-refused", "bad/size-0-refused"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Summary.Failed == 0 || rep.Summary.Passed == 0 {
		t.Fatalf("want failures and passes against the off-by-one server, got %+v", rep.Summary)
	}
	return rep
}

func writeFile(t *testing.T, name string, write func(f *os.File) error) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := write(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestHTMLInChromium loads the HTML report of a failing run in Chromium:
// each failure is open with its wire diagram, the first divergence is
// highlighted with the expected and actual bytes, the filter works, and
// the page logs no error and asks the network for nothing. With
// TRIPCHECK_SCREENSHOT=FILE it also saves a screenshot of the page (the
// README's docs/img/html-report.png).
func TestHTMLInChromium(t *testing.T) {
	b := newBrowser(t)

	t.Run("listener", func(t *testing.T) {
		// The checks below are only as good as the listener: a page that
		// errs, throws and fetches must be seen doing each.
		p := writeFile(t, "bad.html", func(f *os.File) error {
			_, err := f.WriteString(`<!DOCTYPE html><html><body><p id="x">x</p><img src="https://example.invalid/a.png"><script>console.error("on purpose"); null.boom;</script></body></html>`)
			return err
		})
		b.load(t, p, "#x")
		got := strings.Join(b.problems(t), "\n")
		for _, want := range []string{"console.error: \"on purpose\"", "exception:", "request: https://example.invalid/a.png"} {
			if !strings.Contains(got, want) {
				t.Errorf("the listener missed %q; it saw:\n%s", want, got)
			}
		}
	})

	t.Run("server-report", func(t *testing.T) {
		rep := failingRun(t)
		p := writeFile(t, "report.html", func(f *os.File) error { return report.HTML(f, rep) })
		b.load(t, p, ".wire")
		failed := eval[int](t, b, `document.querySelectorAll("details.scenario.st-fail").length`)
		if failed != rep.Summary.Failed {
			t.Fatalf("%d failed scenarios on the page, want %d", failed, rep.Summary.Failed)
		}
		drawn := eval[int](t, b, `[...document.querySelectorAll("details.scenario.st-fail")].filter(d => d.open && d.querySelector(".wire .row.ev")).length`)
		if drawn != failed {
			t.Errorf("%d of %d failures are open with a wire diagram", drawn, failed)
		}
		// valid/ascii/whole: the trip block announces 34 bytes, carries 33
		// and swallows the first byte of the end marker.
		sel := `document.getElementById("s-valid_ascii_whole")`
		mark := eval[string](t, b, sel+`.querySelector(".bytes .diverge").textContent`)
		if mark != "ff" {
			t.Errorf("the highlighted divergence byte is %q, want ff", mark)
		}
		visible := eval[bool](t, b, `(() => { const r = `+sel+`.querySelector(".diverge").getBoundingClientRect(); return r.width > 0 && r.height > 0; })()`)
		if !visible {
			t.Error("the divergence byte is not drawn")
		}
		note := eval[string](t, b, sel+`.querySelector(".divrow").textContent`)
		for _, want := range []string{"First divergence", "offset 35", "trip[0].trailing", "expected", "actual ff ff"} {
			if !strings.Contains(note, want) {
				t.Errorf("the divergence note %q does not say %q", note, want)
			}
		}
		arrows := eval[int](t, b, sel+`.querySelectorAll(".row.ev .arrow").length`)
		if arrows < 3 { // the request, the reply, the FIN at least
			t.Errorf("%d arrows in the diagram of valid/ascii/whole", arrows)
		}
		tags := eval[string](t, b, `[...`+sel+`.querySelectorAll(".tag")].map(e => e.textContent).join(" ")`)
		if !strings.Contains(tags, "request[0]") || !strings.Contains(tags, "trip[0]") {
			t.Errorf("blocks not marked: tags %q", tags)
		}
		// The filter hides the passes and shows the failures.
		eval[bool](t, b, `(document.getElementById("failures-only").click(), true)`)
		shown := eval[string](t, b, `[...document.querySelectorAll("details.scenario")].map(d => d.id + "=" + getComputedStyle(d).display).join(" ")`)
		for _, kv := range strings.Fields(shown) {
			id, disp, _ := strings.Cut(kv, "=")
			fail := eval[bool](t, b, `document.getElementById("`+id+`").classList.contains("st-fail")`)
			if fail != (disp != "none") {
				t.Errorf("failures only: %s is displayed %q", id, disp)
			}
		}
		if bad := b.problems(t); len(bad) > 0 {
			t.Errorf("the report page logged errors or fetched something:\n%s", strings.Join(bad, "\n"))
		}
		if out := os.Getenv("TRIPCHECK_SCREENSHOT"); out != "" {
			screenshot(t, b, out)
		}
	})

	t.Run("capture", func(t *testing.T) {
		f, err := os.Open("../../testdata/captures/bad-no-end.pcapng")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		pr, err := pcap.NewReader(f, pcap.Options{Port: pcap.AnyPort})
		if err != nil {
			t.Fatal(err)
		}
		var sessions []report.CaptureSession
		for {
			s, err := pr.Next()
			if err != nil {
				break
			}
			sessions = append(sessions, report.CaptureSession{Title: fmt.Sprint("session ", s.Index), Wire: conformance.SessionWire(s)})
		}
		if len(sessions) != 1 {
			t.Fatalf("%d sessions in bad-no-end.pcapng, want 1", len(sessions))
		}
		p := writeFile(t, "capture.html", func(f *os.File) error {
			return report.CaptureHTML(f, "bad-no-end", nil, sessions)
		})
		b.load(t, p, ".wire")
		note := eval[string](t, b, `document.querySelector(".divrow").textContent`)
		if !strings.Contains(note, "offset 105") || !strings.Contains(note, "ff ff (the end marker)") || !strings.Contains(note, "FIN") {
			t.Errorf("the capture's divergence note %q: want the missing end marker at 105 and the FIN", note)
		}
		if bad := b.problems(t); len(bad) > 0 {
			t.Errorf("the capture page logged errors or fetched something:\n%s", strings.Join(bad, "\n"))
		}
	})
}

// screenshot saves the top of the page with the diagram of
// valid/ascii/fragmented, at a width where the diagram fits.
func screenshot(t *testing.T, b *browser, out string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	err := chromedp.Do(ctx,
		chromedp.EmulateViewport(1200, 1130),
		// One failure open, the others closed: the summary, the causes and
		// one diagram fit.
		chromedp.Evaluate[chromedp.Void](`document.querySelectorAll("details.scenario").forEach(d => d.open = d.id === "s-valid_ascii_fragmented"); window.scrollTo(0, 0)`),
	)
	if err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot in %s (%d bytes)", out, len(png))
}
