package stress

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/stackctl/stackctl/internal/procid"
	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

func TestPercentilesOfAKnownSet(t *testing.T) {
	start := time.Unix(1000, 0)
	rec := NewRecorder(start)
	// 1000 answers taking 1 ms, 2 ms, ..., 1000 ms, sent over 10 s, and
	// ten failures.
	for i := 1; i <= 1000; i++ {
		rec.Add(&vegeta.Result{Code: 200, Timestamp: start.Add(time.Duration(i) * 10 * time.Millisecond), Latency: time.Duration(i) * time.Millisecond})
	}
	for i := range 10 {
		rec.Add(&vegeta.Result{Code: 502, Error: "502 Bad Gateway", Timestamp: start.Add(time.Duration(i) * time.Second), Latency: time.Millisecond})
	}
	tot := rec.Totals()
	if tot.Requests != 1010 || tot.Successes != 1000 || tot.Failures["http 502"] != 10 {
		t.Fatalf("requests %d, successes %d, failures %v; want 1010, 1000, http 502: 10", tot.Requests, tot.Successes, tot.Failures)
	}
	// The 1010 latencies: ten of 1 ms, then 1..1000 ms. The exact
	// percentiles are within 1% of these; vegeta's estimator may be off
	// by that much.
	for name, c := range map[string]struct{ got, want float64 }{
		"p50": {tot.Latency.P50, 495}, "p90": {tot.Latency.P90, 899}, "p99": {tot.Latency.P99, 990},
	} {
		if d := c.got - c.want; d > 0.01*c.want || d < -0.01*c.want {
			t.Errorf("%s = %.1f ms, want %.0f ms within 1%%", name, c.got, c.want)
		}
	}
	if tot.Latency.Max != 1000 {
		t.Errorf("max = %.1f ms, want 1000", tot.Latency.Max)
	}
	secs := rec.Seconds()
	if len(secs) != 11 { // the last answer was sent at 10 s
		t.Fatalf("%d seconds, want 11", len(secs))
	}
	if secs[0].Successes != 99 || secs[0].Failures["http 502"] != 1 {
		t.Errorf("second 0: %+v, want 99 successes and one 502", secs[0])
	}
}

func TestClassify(t *testing.T) {
	for want, r := range map[string]vegeta.Result{
		"":            {Code: 200},
		"http 302 ok": {Code: 302},
		"http 502":    {Code: 502, Error: "502 Bad Gateway"},
		FailRefused:   {Error: "Get \"http://127.0.0.1:8080/\": dial tcp 127.0.0.1:8080: connect: connection refused"},
		FailReset:     {Error: "read tcp 127.0.0.1:5->127.0.0.1:8080: read: connection reset by peer"},
		FailTimeout:   {Error: "Get \"http://127.0.0.1:8080/\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"},
		FailClosed:    {Error: "Get \"http://127.0.0.1:8080/\": EOF"},
		FailOther:     {Error: "something new"},
	} {
		if want == "http 302 ok" {
			want = ""
		}
		if got := Classify(&r); got != want {
			t.Errorf("Classify(%+v) = %q, want %q", r, got, want)
		}
	}
}

func lbState(ports []plan.PublishedPort, ip string) *plan.State {
	return &plan.State{Containers: []plan.Container{{
		Name: "shop-lb", State: plan.ContainerRunning, Ports: ports, Networks: map[string]string{"shop": ip},
	}}}
}

func TestTargetsAreTheStacksOwnLBOnly(t *testing.T) {
	stack := &spec.Stack{Name: "shop", LB: &spec.LB{Ports: []spec.PortMapping{{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80}}}}
	state := lbState([]plan.PublishedPort{
		{HostIP: "0.0.0.0", HostPort: 8080, ContainerPort: 80, Protocol: "tcp"},
		{HostIP: "0.0.0.0", HostPort: 5353, ContainerPort: 53, Protocol: "udp"},
	}, "172.20.0.5")
	targets, err := LBTargets(stack, state)
	if err != nil {
		t.Fatal(err)
	}
	var addrs []string
	for _, tg := range targets {
		addrs = append(addrs, tg.Addr)
	}
	if strings.Join(addrs, " ") != "127.0.0.1:8080 172.20.0.5:80" {
		t.Fatalf("targets %v, want the published port on loopback, then the LB's own address", addrs)
	}
	for _, ok := range []string{"", "127.0.0.1:8080", "localhost:8080", "172.20.0.5:80"} {
		if _, err := PickTarget(targets, ok); err != nil {
			t.Errorf("PickTarget(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"127.0.0.1:8500", "10.1.2.3:80", "example.org:80", "127.0.0.1:5353", "172.20.0.6:80", "http://127.0.0.1:8080"} {
		_, err := PickTarget(targets, bad)
		if err == nil || !strings.Contains(err.Error(), "not the stack's own LB") {
			t.Errorf("PickTarget(%q) = %v, want a refusal", bad, err)
		}
	}
	// Without an LB, or with one that is not running, there is no target.
	if _, err := LBTargets(&spec.Stack{Name: "shop"}, state); err == nil {
		t.Error("a stack without lb: has a target")
	}
	state.Containers[0].State = plan.ContainerExited
	if _, err := LBTargets(stack, state); err == nil || !strings.Contains(err.Error(), "exited") {
		t.Errorf("a stopped LB: %v", err)
	}
}

func TestTheLoadCannotLeaveTheTarget(t *testing.T) {
	var served int
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served++ }))
	defer other.Close()
	// The "LB" redirects to another address: the client must not follow,
	// and the guarded dial refuses any other address anyway.
	lb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/", http.StatusFound)
	}))
	defer lb.Close()
	addr := strings.TrimPrefix(lb.URL, "http://")
	l := Load{Target: Target{Addr: addr}, Path: "/", Rate: 50, KeepAlive: true, Timeout: time.Second}
	rec := NewRecorder(time.Now())
	l.Run(context.Background(), 200*time.Millisecond, rec)
	if served != 0 {
		t.Errorf("the redirect target got %d requests", served)
	}
	if tot := rec.Totals(); tot.Requests == 0 || tot.Successes != tot.Requests {
		t.Errorf("%d requests, %d answered: a redirect is an answer", tot.Requests, tot.Successes)
	}
	d := new(net.Dialer)
	dial := guardDial(addr, d.DialContext)
	if _, err := dial(context.Background(), "tcp", strings.TrimPrefix(other.URL, "http://")); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Errorf("the guarded dial connected elsewhere: %v", err)
	}
}

// newInjector sets up faults on a fake engine of six workers, with the
// record in a temporary state folder.
func newInjector(t *testing.T) (*fakeEngine, *Injector) {
	t.Helper()
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	eng := newFakeEngine("shop", "shop-web-1", "shop-web-2", "shop-web-3", "shop-web-4", "shop-web-5", "shop-web-6")
	rec, err := NewLeftovers("shop")
	if err != nil {
		t.Fatal(err)
	}
	return eng, &Injector{Engine: eng, Objects: eng.objects("shop"), Seed: 1, Record: rec, Start: time.Now()}
}

func leftoversOnDisk(t *testing.T) bool {
	path, err := LeftoversPath("shop")
	if err != nil {
		t.Fatal(err)
	}
	_, err = os.Stat(path)
	return err == nil
}

func TestCtrlCUndoesEveryFault(t *testing.T) {
	eng, in := newInjector(t)
	lb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer lb.Close()
	faults, err := ParseChaos([]string{"pause=2@100ms:20s,disconnect=2@100ms:20s,kill=1@100ms"}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	run := &Run{
		Load:     Load{Target: Target{Addr: strings.TrimPrefix(lb.URL, "http://")}, Path: "/", Rate: 20, KeepAlive: true, Timeout: time.Second},
		Duration: 30 * time.Second, Faults: faults, Injector: in, Stack: &fakeStack{}, RecoveryLimit: time.Second,
	}
	ctx, cancel := context.WithCancel(context.Background())
	faultsOn := make(chan struct{})
	go func() {
		// Ctrl-C once every fault is in place.
		for len(in.Hits()) < 3 || !leftoversOnDisk(t) {
			time.Sleep(10 * time.Millisecond)
		}
		close(faultsOn)
		time.Sleep(100 * time.Millisecond)
		cancel()
	}()
	res := run.Do(ctx)
	<-faultsOn
	if !res.Interrupted {
		t.Error("the run was not marked interrupted")
	}
	if res.Recovery != nil {
		t.Errorf("a recovery is reported for faults that never ended on schedule: %+v", res.Recovery)
	}
	hit := 0
	for _, h := range res.Hits {
		hit += len(h.Targets)
		if h.Until == nil || h.UndoneBy != "interrupt" {
			t.Errorf("%s: undone %v by %q, want by interrupt", h.Spec, h.Until, h.UndoneBy)
		}
	}
	if hit != 5 {
		t.Errorf("%d workers were hit, want 5 (each fault its own)", hit)
	}
	for id := range eng.containers {
		if s := eng.state(id); s != plan.ContainerRunning {
			t.Errorf("%s is %s after Ctrl-C", id, s)
		}
		if !eng.on(id, "shop") {
			t.Errorf("%s is off the network after Ctrl-C", id)
		}
	}
	if leftoversOnDisk(t) {
		t.Error("the record of the faults is still there after they were undone")
	}
}

// deadProcess is a process that existed and is gone: a stress run that
// was killed.
func deadProcess(t *testing.T) procid.Process {
	t.Helper()
	cmd := exec.Command("sleep", "0")
	if err := cmd.Start(); err != nil {
		t.Skip("cannot start a process:", err)
	}
	p := procid.Self()
	p.PID = cmd.Process.Pid
	_ = cmd.Wait()
	p.Start = 1 // any start: the pid is gone, or names a newer process
	return p
}

func TestTheNextCommandUndoesWhatADeadRunLeft(t *testing.T) {
	eng, in := newInjector(t)
	ctx := context.Background()
	faults, _ := ParseChaos([]string{"pause=2@1s:5s,disconnect=1@1s:5s"}, time.Minute)
	for i, f := range faults {
		if h := in.Inject(ctx, i, f); h.Error != "" {
			t.Fatal(h.Error)
		}
	}
	// This process is alive: its faults are not undone, unless forced.
	if _, err := UndoLeftovers(ctx, eng, nil, "shop", false); err == nil || !strings.Contains(err.Error(), "stress run is going on") {
		t.Fatalf("the faults of a live run were touched: %v", err)
	}
	// Make the record's process a dead one, as kill -9 would.
	path, _ := LeftoversPath("shop")
	var rec leftoversFile
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &rec); err != nil || len(rec.Active) != 3 {
		t.Fatalf("record %s: %v, %d faults, want 3", b, err, len(rec.Active))
	}
	rec.Process = deadProcess(t)
	b, _ = json.Marshal(rec)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	undone, err := UndoLeftovers(ctx, eng, nil, "shop", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(undone) != 3 {
		t.Errorf("undid %v, want 3 faults", Describe(undone))
	}
	for id := range eng.containers {
		if eng.state(id) != plan.ContainerRunning || !eng.on(id, "shop") {
			t.Errorf("%s: %s, on the network: %v", id, eng.state(id), eng.on(id, "shop"))
		}
	}
	if leftoversOnDisk(t) {
		t.Error("the record is still there")
	}
	if again, err := UndoLeftovers(ctx, eng, nil, "shop", false); err != nil || len(again) != 0 {
		t.Errorf("a second undo: %v, %v", again, err)
	}
}

func sampleReport() *Report {
	until := 18.0
	whole := 19.5
	took := 1.5
	r := &Report{
		Stack: "shop", Model: "open", RateAsked: 100, DurationS: 30, Path: "/",
		Totals:   Totals{Requests: 3000, Successes: 2990, Failures: map[string]uint64{FailTimeout: 6, "http 502": 4}},
		Faults:   []Hit{{Spec: "pause=2@8s:10s", Kind: Pause, At: 8, Until: &until, Targets: []string{"shop-web-1", "shop-web-2"}}},
		Recovery: &Recovery{FaultsEnded: 18, WholeAt: &whole, Took: &took},
	}
	for i := range 31 {
		s := Second{T: i, Requests: 100, Successes: 100, Latency: Latency{P50: 2, P90: 5, P99: 20, Max: 30}}
		if i >= 8 && i < 18 {
			s.Successes, s.Failures = 99, map[string]uint64{FailTimeout: 1}
			s.Latency.P99 = 3000
		}
		r.Seconds = append(r.Seconds, s)
	}
	r.SuccessRatio = float64(r.Successes) / float64(r.Requests)
	r.Advice = Advise(r)
	return r
}

func TestAdviceFollowsTheFailures(t *testing.T) {
	r := sampleReport()
	r.Unattributed = attribute(r.Faults, r.Seconds, r.DurationS)
	if got := r.Faults[0].Failures[FailTimeout]; got != 10 {
		t.Errorf("the pause from 8 s to 18 s owns %d timeouts, want the 10 of seconds 8 to 17", got)
	}
	r.Advice = Advise(r)
	all := strings.Join(r.Advice, "\n")
	for _, want := range []string{"pause=2@8s:10s: 10 requests failed (timeout 10)", "A hung worker", "proxy_read_timeout"} {
		if !strings.Contains(all, want) {
			t.Errorf("advice lacks %q:\n%s", want, all)
		}
	}
	// The same timeouts with no fault on read as a slow stack.
	r.Faults, r.Unattributed = nil, nil
	if got := strings.Join(Advise(r), "\n"); !strings.Contains(got, "timed out with no fault on") || !strings.Contains(got, "answers were 5xx") {
		t.Errorf("advice without faults:\n%s", got)
	}
	r.Failures = map[string]uint64{}
	if got := Advise(r); len(got) != 1 || !strings.Contains(got[0], "No request failed") {
		t.Errorf("advice without failures: %q", got)
	}
}

func TestPlotIsAPicture(t *testing.T) {
	r := sampleReport()
	dir := t.TempDir()
	pngPath := filepath.Join(dir, "run.png")
	if err := WritePlot(r, pngPath); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 800 || b.Dy() < 600 {
		t.Errorf("a %dx%d picture, want at least 800x600", b.Dx(), b.Dy())
	}
	svgPath := filepath.Join(dir, "run.svg")
	if err := WritePlot(r, svgPath); err != nil {
		t.Fatal(err)
	}
	svg, _ := os.ReadFile(svgPath)
	for _, want := range []string{"<svg", "pause=2@8s:10s", "timeout", "p99"} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("the SVG lacks %q", want)
		}
	}
	if err := WritePlot(r, filepath.Join(dir, "run.gif")); err == nil {
		t.Error("a .gif plot was accepted")
	}
}

func TestLeftListsOnlyADeadRunsFaults(t *testing.T) {
	_, in := newInjector(t)
	f, _ := ParseChaos([]string{"pause=1@1s:5s"}, time.Minute)
	if h := in.Inject(context.Background(), 0, f[0]); h.Error != "" {
		t.Fatal(h.Error)
	}
	if left := Left("shop"); left != nil {
		t.Errorf("a live run's faults are listed as left: %v", left)
	}
	path, _ := LeftoversPath("shop")
	var rec leftoversFile
	b, _ := os.ReadFile(path)
	_ = json.Unmarshal(b, &rec)
	rec.Process = deadProcess(t)
	b, _ = json.Marshal(rec)
	_ = os.WriteFile(path, b, 0o600)
	left := Left("shop")
	if len(left) != 1 || !strings.HasSuffix(left[0].Left(), " paused") {
		t.Errorf("Left = %v, want one paused worker", left)
	}
	if !leftoversOnDisk(t) {
		t.Error("Left removed the record")
	}
}
