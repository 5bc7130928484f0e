package dockerapi

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stackctl/stackctl/spec"
)

// twoEngines starts a source and a destination engine and clients for both.
func twoEngines(t *testing.T) (src, dst *fakeEngine, from, to *Client) {
	t.Helper()
	src, dst = newFakeEngine(), newFakeEngine()
	return src, dst, fakeClient(t, "box1", src), fakeClient(t, "box2", dst)
}

func fakeClient(t *testing.T, name string, f *fakeEngine) *Client {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := OpenHost(&spec.Host{Name: name, Docker: "tcp://" + srv.Listener.Addr().String(), Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestCopyImageStreamsTheImageAndChecksItsID(t *testing.T) {
	src, dst, from, to := twoEngines(t)
	src.put("stackctl.local/primes:v1", "sha256:aaa")
	var reported []int64
	err := CopyImage(context.Background(), from, to, "stackctl.local/primes:v1", func(n int64) { reported = append(reported, n) })
	if err != nil {
		t.Fatal(err)
	}
	if got := dst.image("stackctl.local/primes:v1"); got != "sha256:aaa" {
		t.Errorf("destination has %q, want sha256:aaa", got)
	}
	if dst.loadedBytes() != src.saveSize {
		t.Errorf("the load got %d bytes, the save sent %d", dst.loadedBytes(), src.saveSize)
	}
	if len(reported) < 2 || reported[len(reported)-1] != int64(src.saveSize) {
		t.Fatalf("progress %v, want several reports ending at %d", reported, src.saveSize)
	}
	for i := 1; i < len(reported); i++ {
		if reported[i] <= reported[i-1] {
			t.Fatalf("progress went from %d to %d", reported[i-1], reported[i])
		}
	}
}

func TestCopyImageReportsALoadThatFailedAfterItsAnswer(t *testing.T) {
	src, dst, from, to := twoEngines(t)
	src.put("stackctl.local/primes:v1", "sha256:aaa")
	dst.loadError = "write /var/lib/docker/tmp/docker-import-1/layer.tar: no space left on device"
	err := CopyImage(context.Background(), from, to, "stackctl.local/primes:v1", nil)
	if err == nil || !strings.Contains(err.Error(), "no space left on device") || !strings.Contains(err.Error(), "load") {
		t.Fatalf("err = %v, want the engine's message for the load", err)
	}
}

func TestCopyImageRefusesAnImageThatIsNotTheSource(t *testing.T) {
	src, dst, from, to := twoEngines(t)
	src.put("stackctl.local/primes:v1", "sha256:aaa")
	dst.loadAs = "sha256:bbb"
	err := CopyImage(context.Background(), from, to, "stackctl.local/primes:v1", nil)
	if err == nil || !strings.Contains(err.Error(), "sha256:bbb") || !strings.Contains(err.Error(), "sha256:aaa") {
		t.Fatalf("err = %v, want both IDs named", err)
	}
}

func TestCopyImageOfAMissingImageLoadsNothing(t *testing.T) {
	_, dst, from, to := twoEngines(t)
	err := CopyImage(context.Background(), from, to, "stackctl.local/primes:v9", nil)
	if err == nil || !strings.Contains(err.Error(), "No such image") {
		t.Fatalf("err = %v, want the source's No such image", err)
	}
	if dst.loadedBytes() != 0 {
		t.Errorf("the destination loaded %d bytes", dst.loadedBytes())
	}
}
