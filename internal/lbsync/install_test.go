package lbsync

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "stackctl.conf")
	for _, content := range []string{"one", "two"} {
		if err := writeAtomic(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Fatalf("read %q, %v; want %q", got, err, content)
		}
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v, %v; want 0644 for nginx to read", fi.Mode(), err)
	}
	assertNoLeftovers(t, filepath.Dir(path))
}

func TestBackoffGrowsToCapWithJitter(t *testing.T) {
	min, max := 100*time.Millisecond, 2*time.Second
	for attempt := range 12 {
		want := min << attempt
		if want > max || attempt > 5 {
			want = max
		}
		for range 20 {
			if d := backoff(attempt, min, max); d < want/2 || d > want {
				t.Fatalf("backoff(%d) = %s, want within [%s, %s]", attempt, d, want/2, want)
			}
		}
	}
}

func TestQuiescenceExtendsUpToMax(t *testing.T) {
	q := newQuiescence(time.Hour, 2*time.Hour)
	now := time.Now()
	q.touch(now)
	if q.C() == nil {
		t.Fatal("no timer after a change")
	}
	q.touch(now.Add(90 * time.Minute))
	if got := q.deadline; !got.Equal(now.Add(2 * time.Hour)) {
		t.Errorf("deadline moved to %s; the burst's max wait must hold", got)
	}
	q.fired()
	if q.C() != nil {
		t.Error("timer still armed after firing")
	}
}
