//go:build e2e

package apply_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stackctl/stackctl/internal/images"
)

// wrk runs wrk against url in the background, as the issue measured:
// -t2 -c16 --timeout 3s, for at most d. The returned func ends it (wrk
// reports what it did so far on SIGINT) and returns its output.
func wrk(t *testing.T, url string, d time.Duration) func() string {
	t.Helper()
	if _, err := exec.LookPath("wrk"); err != nil {
		t.Skip("wrk is not installed")
	}
	ctx, cancel := context.WithTimeout(t.Context(), d+30*time.Second)
	secs := fmt.Sprintf("%ds", int(d.Seconds()))
	cmd := exec.CommandContext(ctx, "wrk", "-t2", "-c16", "--timeout", "3s", "-d", secs, url)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	return func() string {
		defer cancel()
		_ = cmd.Process.Signal(os.Interrupt)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("wrk: %v\n%s", err, out.String())
		}
		return out.String()
	}
}

// dockerCLI runs the docker CLI on the test's own containers.
func dockerCLI(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.CommandContext(t.Context(), "docker", args...).CombinedOutput(); err != nil {
		t.Fatalf("docker %v: %v\n%s", args, err, out)
	}
}

// TestResolveModeClientsSeeNothingOfAKillAScaleOrAHang is the issue's
// measurement through the reference template (resolve mode): a keep-alive
// load that does not retry, while a worker is killed, the stack scales up
// by one, and two workers hang for 10s. No request may fail or time out,
// and nginx is never reloaded.
func TestResolveModeClientsSeeNothingOfAKillAScaleOrAHang(t *testing.T) {
	s := newStack(t)
	s.write(spec{replicas: 6})
	s.mustApply()
	before := s.lbStatus()
	paused := []string{s.name + "-web-2", s.name + "-web-3"}
	t.Cleanup(func() { _ = exec.Command("docker", append([]string{"unpause"}, paused...)...).Run() })

	loadStart := time.Now()
	result := wrk(t, "http://"+s.lbAddr()+"/", 20*time.Second)
	time.Sleep(2 * time.Second)
	dockerCLI(t, "kill", s.name+"-web-1")
	time.Sleep(time.Second)
	s.write(spec{replicas: 7})
	t.Logf("scale up:\n%s", tail(s.mustApply(), 4))
	dockerCLI(t, append([]string{"pause"}, paused...)...)
	time.Sleep(10 * time.Second)
	dockerCLI(t, append([]string{"unpause"}, paused...)...)
	time.Sleep(time.Until(loadStart.Add(21 * time.Second))) // wrk ends by itself
	out := result()
	t.Logf("wrk:\n%s", out)

	for _, bad := range []string{"Socket errors", "Non-2xx"} {
		if strings.Contains(out, bad) {
			t.Errorf("wrk reports %q", bad)
		}
	}
	if !strings.Contains(out, "requests in") {
		t.Error("wrk made no requests")
	}
	if after := s.lbStatus(); after.Reloads != before.Reloads || after.ConfigSHA256 != before.ConfigSHA256 {
		t.Errorf("nginx was reloaded: %d reloads before, %d after", before.Reloads, after.Reloads)
	}
}

// TestResolveModeRollingUpdateUnderWrk is the other measurement: a
// 20-worker update (v1 to v2) under the same keep-alive load. Each old
// worker leaves Consul, nginx's next lookup drops it, and only then is it
// stopped, finishing what it holds.
func TestResolveModeRollingUpdateUnderWrk(t *testing.T) {
	s := newStack(t)
	s.write(spec{replicas: 20})
	s.mustApply()
	before := s.lbStatus()
	result := wrk(t, "http://"+s.lbAddr()+"/", 5*time.Minute)
	time.Sleep(2 * time.Second)
	start := time.Now()
	s.write(spec{replicas: 20, image: images.PrimesV2})
	applied := s.mustApply()
	t.Logf("update in %s:\n%s", time.Since(start).Round(time.Second), tail(applied, 4))
	time.Sleep(2 * time.Second)
	out := result()
	t.Logf("wrk:\n%s", out)
	for _, bad := range []string{"Socket errors", "Non-2xx"} {
		if strings.Contains(out, bad) {
			t.Errorf("wrk reports %q", bad)
		}
	}
	if v := versionsNow(t, s.lbAddr(), 40); v["v2"] != 40 {
		t.Errorf("after the update the LB answers %v, want all v2", v)
	}
	if after := s.lbStatus(); after.Reloads != before.Reloads {
		t.Errorf("nginx was reloaded: %d reloads before, %d after", before.Reloads, after.Reloads)
	}
}

// TestResolveModeLBReachesEveryWorker: in resolve mode nginx balances over
// every passing worker, not only the 3 that fit in a UDP answer of Consul's
// DNS. The managed Consul sets the TC bit when it trims an answer
// (enable_truncate, see apply.ConsulCommand), and nginx then asks again over
// TCP, where Consul answers with all of them.
//
// nginx keeps the servers of a lookup for 2s and sends requests to them
// round robin, so a burst of three rounds of requests (a tenth of a second
// here) reaches every server nginx holds. Without truncation that was 3
// workers, and a burst that straddles a lookup reaches at most 6 of the 8;
// over many lookups all 8 answer in turn, which is why the test counts
// per burst and not over all its requests.
func TestResolveModeLBReachesEveryWorker(t *testing.T) {
	const replicas, bursts = 8, 5
	s := newStack(t)
	s.write(spec{replicas: replicas})
	s.mustApply()
	if n := s.passing(); n != replicas {
		t.Fatalf("%d workers pass in Consul, want %d", n, replicas)
	}

	addr := s.lbAddr()
	var best map[string]int
	var reached []int
	for range bursts {
		seen := headerCounts(t, addr, 3*replicas, "X-Hostname")
		reached = append(reached, len(seen))
		if len(seen) > len(best) {
			best = seen
		}
		if len(seen) == replicas {
			break
		}
		time.Sleep(500 * time.Millisecond) // the next burst, another lookup
	}
	t.Logf("distinct workers per burst of %d requests: %v", 3*replicas, reached)
	if len(best) != replicas {
		t.Errorf("no burst through the LB reached all %d workers (per burst: %v); the best one never reached %v",
			replicas, reached, s.workersNotIn(best))
	}
}

// workersNotIn names the stack's workers whose hostname (Docker's default:
// the container ID's first 12 digits) is not among hostnames.
func (s *stack) workersNotIn(hostnames map[string]int) []string {
	var missing []string
	for name, desc := range s.containers() {
		id, _, _ := strings.Cut(desc, " ")
		if !strings.HasPrefix(name, s.name+"-web-") || len(id) < 12 {
			continue
		}
		if _, ok := hostnames[id[:12]]; !ok {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	return missing
}
