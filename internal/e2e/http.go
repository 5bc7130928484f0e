package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Response is an HTTP answer read in full.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       string
}

// httpClient has no overall timeout of its own: the caller's context bounds
// each request, because some tests hold requests open on purpose.
var httpClient = &http.Client{}

// Get sends GET path to the container's published port. It does not fail the
// test, so it may be called from any goroutine.
func Get(ctx context.Context, c *Container, port, path string) (*Response, error) {
	addr := c.Addr(port)
	if addr == "" {
		return nil, fmt.Errorf("port %s of %s is not published", port, c.Name)
	}
	return getURL(ctx, "http://"+addr+path)
}

// getURL sends GET url and reads the answer in full.
func getURL(ctx context.Context, url string) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	res, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("read body of GET %s: %w", url, err)
	}
	return &Response{StatusCode: res.StatusCode, Header: res.Header, Body: string(body)}, nil
}

// AnyStatus makes WaitHTTP accept any answer at all.
const AnyStatus = 0

// WaitHTTP polls GET path until it answers with status want. Docker's proxy
// accepts connections before the process inside listens, so a published port
// is ready only once a real answer comes back.
func (e *Env) WaitHTTP(c *Container, port, path string, want int) *Response {
	e.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		ctx, cancel := context.WithTimeout(e.t.Context(), 5*time.Second)
		res, err := Get(ctx, c, port, path)
		cancel()
		if err == nil && (want == AnyStatus || res.StatusCode == want) {
			return res
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("status %d, body %q", res.StatusCode, res.Body)
			}
			e.t.Fatalf("GET %s on %s never answered %d: %v", path, c.Name, want, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
