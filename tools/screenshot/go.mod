// A tool module of its own, like tools/consul, so that stackctl's module
// does not depend on a browser driver that only docs/ needs.
module github.com/stackctl/stackctl/tools/screenshot

go 1.25

require github.com/chromedp/chromedp v0.23.1

require (
	github.com/chromedp/cdproto v0.160.1 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
)
