package cli

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// chromiumPath returns the browser the HTML tests run in: RINGFENCE_CHROMIUM
// (make test sets it from hack/chromium.sh), else Debian's chromium when
// installed. Without one the tests skip, except under CI=true, where they
// fail: CI must run them.
func chromiumPath(t *testing.T) string {
	t.Helper()
	path := os.Getenv("RINGFENCE_CHROMIUM")
	if path == "" {
		if _, err := os.Stat("/usr/bin/chromium"); err == nil {
			path = "/usr/bin/chromium"
		}
	}
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no chromium: RINGFENCE_CHROMIUM is not set and /usr/bin/chromium is missing (make test installs it with hack/chromium.sh)")
		}
		t.Skip("no chromium (make test installs Debian's chromium with hack/chromium.sh and sets RINGFENCE_CHROMIUM)")
	}
	return path
}

// page is an HTML document open in a headless Chromium, with what the page
// wrote to its console and every request it made.
type page struct {
	ctx      context.Context
	url      string
	mu       sync.Mutex
	console  []string
	requests []string
}

// openPage serves html from 127.0.0.1 and opens it in a fresh headless
// Chromium. The browser resolves no host name (everything but 127.0.0.1
// maps to nothing), so the page could not reach anywhere else even if it
// tried; the test checks it did not try.
func openPage(t *testing.T, html string) *page {
	t.Helper()
	path := chromiumPath(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/report.html", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(html))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 1000),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })

	p := &page{ctx: ctx, url: srv.URL + "/report.html"}
	console := chromedp.Console(ctx)
	requests := chromedp.Events(ctx, network.RequestWillBeSent)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for m, err := range console {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.console = append(p.console, string(m.Type)+": "+m.Text+" ("+m.URL+")")
			p.mu.Unlock()
		}
	}()
	go func() {
		defer wg.Done()
		for ev, err := range requests {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.requests = append(p.requests, ev.Request.URL)
			p.mu.Unlock()
		}
	}()
	// The collectors end with the context; wait for them before the
	// temporary directories go.
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); wg.Wait() })
	if err := chromedp.Do(ctx, chromedp.Navigate(p.url), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="true"]`))); err != nil {
		t.Fatalf("opening the report in %s: %v", path, err)
	}
	return p
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, p *page, js string) T {
	t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

func (p *page) click(t *testing.T, css string) {
	t.Helper()
	if err := chromedp.Do(p.ctx, chromedp.Click(chromedp.CSS(css))); err != nil {
		t.Fatalf("clicking %s: %v", css, err)
	}
}

// checkQuiet fails the test if the page wrote an error or a warning to its
// console, threw, or requested anything but itself.
func (p *page) checkQuiet(t *testing.T) {
	t.Helper()
	// Let late events arrive.
	_, _ = chromedp.Run(p.ctx, chromedp.Evaluate[int](`1`))
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.console {
		if strings.HasPrefix(m, "error") || strings.HasPrefix(m, "exception") || strings.HasPrefix(m, "warning") {
			t.Errorf("console: %s", m)
		}
	}
	if len(p.requests) == 0 {
		t.Error("no request seen: the network events are not being recorded")
	}
	for _, u := range p.requests {
		if u != p.url {
			t.Errorf("the page requested %s; it must fetch nothing but itself", u)
		}
	}
}

// screenshot captures the viewport as PNG and checks it is not blank: many
// colours, and a good share of pixels that are not background.
func (p *page) screenshot(t *testing.T) []byte {
	t.Helper()
	shot, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	colours, inked, total := pixelStats(img)
	if colours < 50 || float64(inked)/float64(total) < 0.05 {
		t.Errorf("screenshot looks blank: %d distinct colours, %d of %d pixels not background", colours, inked, total)
	}
	return shot
}

// pixelStats counts the distinct colours and the pixels that are neither
// white nor the page's light background.
func pixelStats(img image.Image) (colours, inked, total int) {
	seen := map[uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			seen[r<<16|g<<8|bl] = true
			total++
			if r < 235 || g < 235 || bl < 235 {
				inked++
			}
		}
	}
	return len(seen), inked, total
}
