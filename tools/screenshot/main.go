// Command screenshot takes a PNG of a web page once a CSS selector has
// appeared on it, with headless Chromium driven over the DevTools protocol
// (chromedp). scripts/docs.sh uses it for the Consul UI picture in docs/.
//
// Chromium's own --screenshot flag shoots at the load event, before a
// single-page app such as Consul's UI has fetched anything, and its
// --virtual-time-budget never ends on a page that holds a blocking query
// open; waiting for what should be on the page is the honest trigger.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/chromedp/chromedp"
)

func main() {
	url := flag.String("url", "", "the page to load")
	wait := flag.String("wait", "body", "a CSS selector that must be visible before the picture is taken")
	settle := flag.Duration("settle", time.Second, "how long to let the page finish drawing after the selector appears")
	out := flag.String("out", "screenshot.png", "the PNG to write")
	width := flag.Int("width", 1280, "window width")
	height := flag.Int("height", 800, "window height")
	timeout := flag.Duration("timeout", 60*time.Second, "give up after this long")
	flag.Parse()
	if *url == "" {
		fmt.Fprintln(os.Stderr, "screenshot: -url is required")
		os.Exit(2)
	}
	if err := shoot(*url, *wait, *out, *settle, *timeout, *width, *height); err != nil {
		fmt.Fprintf(os.Stderr, "screenshot: %s: %v\n", *url, err)
		os.Exit(1)
	}
}

func shoot(url, wait, out string, settle, timeout time.Duration, width, height int) error {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath("chromium"),
		// Chromium's sandbox refuses to run as root, which CI is.
		chromedp.NoSandbox,
		chromedp.WindowSize(width, height),
	)
	// The timeout bounds the browser itself: whatever hangs, it is stopped.
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ctx, cancel = chromedp.NewExecAllocator(ctx, opts...)
	defer cancel()
	ctx, cancel = chromedp.NewContext(ctx)
	defer cancel()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(url),
		chromedp.WaitVisible(wait),
		chromedp.Sleep(settle),
	); err != nil {
		return fmt.Errorf("waiting for %q: %w", wait, err)
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		return err
	}
	return os.WriteFile(out, png, 0o644)
}
