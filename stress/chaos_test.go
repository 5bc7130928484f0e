package stress

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseChaos(t *testing.T) {
	run := 30 * time.Second
	cases := []struct {
		in   string
		want string // the faults' spellings, sorted, joined by ","
	}{
		{"kill=5@10s", "kill=5@10s"},
		{"disconnect=3@5s:10s", "disconnect=3@5s:10s"},
		{"pause=2@8s", "pause=2@8s:10s"},   // FOR defaults to 10s
		{"pause", "pause=1@10s:10s"},       // N to 1, AT to a third of the run
		{"restart-lb@3s", "restart-lb@3s"}, // instant, hits no workers
		{"restart-consul", "restart-consul@10s"},
		{"cut-consul=2@1s:2s", "cut-consul=2@1s:2s"},
		{"stop-host=box2@5s:5s", "stop-host=box2@5s:5s"},
		{"kill=1@20s, pause=1@2s:1s", "pause=1@2s:1s,kill=1@20s"}, // sorted by start
	}
	for _, c := range cases {
		faults, err := ParseChaos([]string{c.in}, run)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		var got []string
		for _, f := range faults {
			got = append(got, f.String())
		}
		if strings.Join(got, ",") != c.want {
			t.Errorf("%q: got %q, want %q", c.in, strings.Join(got, ","), c.want)
		}
	}
}

func TestParseChaosRefuses(t *testing.T) {
	run := 30 * time.Second
	for in, want := range map[string]string{
		"explode=1@1s":        "unknown fault",
		"kill=0@1s":           "at least 1",
		"kill=x@1s":           "whole number",
		"kill=1@1s:5s":        "instant",
		"restart-lb=2@1s":     "takes no =2",
		"pause=1@25s:10s":     "ends at 35s, not before the run does",
		"kill=1@30s":          "not before the run does",
		"disconnect=1@soon":   "not a time",
		"disconnect=1@1s:-2s": "not a length",
		"stop-host@1s:1s":     "needs the host's name",
	} {
		_, err := ParseChaos([]string{in}, run)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want an error containing %q", in, err, want)
		}
	}
}

func TestRandomFaultsRepeatFromTheSeed(t *testing.T) {
	run := 60 * time.Second
	a := RandomFaults(42, 5, run, 20)
	b := RandomFaults(42, 5, run, 20)
	if !slices.Equal(a, b) {
		t.Fatalf("the same seed gave two schedules:\n%v\n%v", a, b)
	}
	if len(a) != 5 {
		t.Fatalf("asked for 5 faults, got %d", len(a))
	}
	if c := RandomFaults(43, 5, run, 20); slices.Equal(a, c) {
		t.Errorf("seeds 42 and 43 gave the same schedule %v", a)
	}
	for _, f := range a {
		if f.At+f.For >= run || f.Count < 1 || f.Count > 5 {
			t.Errorf("fault %s: must end before %s and hit 1 to 5 of 20 workers", f, run)
		}
		// Every drawn fault reads back as itself.
		back, err := ParseChaos([]string{f.String()}, run)
		if err != nil || len(back) != 1 || back[0] != f {
			t.Errorf("%s does not parse back: %v %v", f, back, err)
		}
	}
}

func TestVictimsRepeatFromTheSeedAndSkipBusyWorkers(t *testing.T) {
	names := []string{"w-1", "w-2", "w-3", "w-4", "w-5", "w-6"}
	a := Victims(7, 0, names, nil, 3)
	if b := Victims(7, 0, names, nil, 3); !slices.Equal(a, b) {
		t.Errorf("the same seed picked %v, then %v", a, b)
	}
	shuffled := []string{"w-6", "w-2", "w-4", "w-1", "w-5", "w-3"}
	if c := Victims(7, 0, shuffled, nil, 3); !slices.Equal(a, c) {
		t.Errorf("the order of the names changed the victims: %v, %v", a, c)
	}
	if len(a) != 3 {
		t.Fatalf("got %d victims, want 3", len(a))
	}
	differs := false
	for i := 1; i < 10 && !differs; i++ {
		differs = !slices.Equal(a, Victims(7, i, names, nil, 3))
	}
	if !differs {
		t.Errorf("ten faults of one run all hit %v", a)
	}
	busy := map[string]bool{a[0]: true, a[1]: true}
	for _, v := range Victims(7, 0, names, busy, 6) {
		if busy[v] {
			t.Errorf("busy worker %s was picked again", v)
		}
	}
	if got := Victims(7, 0, names, busy, 6); len(got) != 4 {
		t.Errorf("6 asked, 4 free: got %v", got)
	}
}

func TestChaosDrawsRandomFaultsFromTheSeed(t *testing.T) {
	run := time.Minute
	got, err := Chaos([]string{"kill=1@5s,random=2", "random"}, run, 9, 12)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]Fault{{Kind: Kill, Count: 1, At: 5 * time.Second}}, RandomFaults(9, 5, run, 12)...)
	SortFaults(want)
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want kill=1@5s and the 5 faults seed 9 draws: %v", got, want)
	}
	for _, bad := range []string{"random=0", "random=x", "random@5s", "randomly"} {
		if _, err := Chaos([]string{bad}, run, 9, 12); err == nil || !strings.Contains(err.Error(), "random=N with N at least 1") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
