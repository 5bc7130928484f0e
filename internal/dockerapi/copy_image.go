package dockerapi

import (
	"context"
	"fmt"
	"io"

	"github.com/docker/docker/client"
)

// CopyImage streams the image ref from one engine into another, as `docker
// save ref | docker -H TO load` does, with no registry and no file between
// them: the save's response body is the load's request body. progress, if
// not nil, is called with the bytes copied so far after each read, from
// the goroutine that sends the load's body. The copy is done when the destination has ref
// with the source's image ID; a load the engine fails after answering 200
// is reported with the engine's message.
func CopyImage(ctx context.Context, from, to *Client, ref string, progress func(copied int64)) error {
	fail := func(step string, err error) error {
		return fmt.Errorf("copy image %s from %s to %s: %s: %w", ref, from.endpoint.Address, to.endpoint.Address, step, err)
	}
	want, err := from.api.ImageInspect(ctx, ref)
	if err != nil {
		return fail("inspect", err)
	}
	saved, err := from.api.ImageSave(ctx, []string{ref})
	if err != nil {
		return fail("save", err)
	}
	defer saved.Close()
	loaded, err := to.api.ImageLoad(ctx, &countingReader{r: saved, report: progress}, client.ImageLoadWithQuiet(true))
	if err != nil {
		return fail("load", err)
	}
	defer loaded.Body.Close()
	// The load's messages are a JSON stream like a build's, its errors too.
	if err := buildOutcome(loaded.Body); err != nil {
		return fail("load", err)
	}
	got, err := to.api.ImageInspect(ctx, ref)
	if err != nil {
		return fail("inspect after the load", err)
	}
	if got.ID != want.ID {
		return fail("check", fmt.Errorf("the copy is %s, the source %s", got.ID, want.ID))
	}
	return nil
}

// countingReader reports how many bytes have been read through it.
type countingReader struct {
	r      io.Reader
	n      int64
	report func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if n > 0 && c.report != nil {
		c.report(c.n)
	}
	return n, err
}
