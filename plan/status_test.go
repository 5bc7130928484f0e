package plan_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/stackctl/stackctl/internal/golden"
	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/plan/planfake"
	"github.com/stackctl/stackctl/plan/views"
	"github.com/stackctl/stackctl/spec"
)

const (
	lbRenderOK       = `{"ok":true,"config_sha256":"6c11aa","rendered_at":"2025-11-25T14:00:00Z","instances":3,"template":"stackctl/primes/lb/template","reloads":7}`
	lbRenderRejected = `{"ok":false,"error":"/etc/nginx/conf.d/stackctl.conf kept: config rejected by nginx -t: unknown directive \"sever\" in /etc/nginx/conf.d/stackctl.conf:3","config_sha256":"6c11aa","rendered_sha256":"a81abb","rendered_at":"2025-11-25T14:05:00Z","instances":2,"last_good_at":"2025-11-25T14:00:00Z","template":"stackctl/primes/lb/template","reloads":7}`
	// lbRenderResolve is a resolve-mode LB's report: its render holds no
	// worker, nginx looks them up itself.
	lbRenderResolve = `{"ok":true,"config_sha256":"9d01ee","rendered_at":"2025-11-25T14:00:00Z","instances":0,"template":"stackctl/primes/lb/template","reloads":0}`
	// connRefused is what Consul 1.14 reports for an HTTP check of a
	// killed container, with a second line to show only the first is
	// printed for people.
	connRefused = "Get \"http://172.20.0.6:5000/healthz\": dial tcp 172.20.0.6:5000: connect: connection refused\nsecond line of the output"
)

// statusScenario is a live world and the stack file it is read against.
type statusScenario struct {
	name    string
	desired *spec.Stack
	world   func() *planfake.World
}

// healthy is a fully applied stack whose LB rendered every worker.
func healthy(desired *spec.Stack) *planfake.World {
	w := planfake.Running(desired)
	w.Consul.Put("stackctl/primes/lb/status", []byte(lbRenderOK))
	return w
}

func statusScenarios() []statusScenario {
	return []statusScenario{
		{"healthy", primes(3), func() *planfake.World { return healthy(primes(3)) }},
		{"killed_worker", primes(3), func() *planfake.World {
			w := healthy(primes(3))
			w.Docker.UpdateContainer("primes-web-2", func(c *plan.Container) { c.State = plan.ContainerExited; c.Networks["primes"] = "" })
			w.Consul.SetStatus("primes-web-2", plan.CheckCritical, connRefused)
			return w
		}},
		{"orphan_container", primes(2), func() *planfake.World {
			w := healthy(primes(3)) // scaled down in the file, not yet applied
			w.Docker.PutContainer(plan.Container{ID: "c-old", Name: "primes-api-1", State: plan.ContainerRunning,
				ImageRef: "stackctl.local/api:v1",
				Labels: map[string]string{spec.LabelStack: "primes", spec.LabelRole: plan.RoleWorker,
					spec.LabelService: "api", spec.LabelSlot: "1", spec.LabelHash: "0123456789abcdef"}})
			return w
		}},
		{"registration_without_container", primes(3), func() *planfake.World {
			w := healthy(primes(3))
			w.Docker.RemoveContainer("primes-web-3")
			w.Consul.SetStatus("primes-web-3", plan.CheckCritical, connRefused)
			return w
		}},
		{"lb_rejected_render", primes(3), func() *planfake.World {
			w := healthy(primes(3))
			w.Consul.Put("stackctl/primes/lb/status", []byte(lbRenderRejected))
			return w
		}},
		{"lb_never_rendered", primes(2), func() *planfake.World { return planfake.Running(primes(2)) }},
		{"resolve_mode", primes(3, resolveTemplate), func() *planfake.World {
			w := healthy(primes(3, resolveTemplate))
			w.Consul.Put("stackctl/primes/lb/status", []byte(lbRenderResolve))
			return w
		}},
		{"unfinished_apply", primes(3), func() *planfake.World {
			w := healthy(primes(3))
			old, _ := w.Docker.Container("primes-web-1")
			old.ID, old.Name, old.State = "c-old-web-1", "primes-web-1.old-c0ffee123456", plan.ContainerExited
			old.Networks["primes"] = ""
			w.Docker.PutContainer(old)
			fresh, _ := w.Docker.Container("primes-web-2")
			fresh.ID, fresh.Name = "c-new-web-2", "primes-web-2.new-a1b2c3"
			fresh.Networks["primes"] = "172.20.0.40"
			w.Docker.PutContainer(fresh)
			w.Consul.Put("stackctl/primes/journal", []byte(`{"format_version":1,"started_at":"2025-11-25T14:00:00Z","steps":[`+
				`{"id":"worker/primes-web-1","status":"done"},{"id":"worker/primes-web-2","status":"running"},`+
				`{"id":"worker/primes-web-3","status":"pending"}]}`))
			return w
		}},
		{"unreadable_journal", primes(1), func() *planfake.World {
			w := healthy(primes(1))
			w.Consul.Put("stackctl/primes/journal", []byte(`{"format_version":1,"steps":`))
			return w
		}},
		{"external_consul", primes(2, func(s *spec.Stack) { s.Consul = spec.Consul{Address: "consul.internal:8500"} }),
			func() *planfake.World {
				w := healthy(primes(2))
				w.Consul.SetLeader("10.1.0.7:8300", "10.1.0.5:8300", "10.1.0.6:8300", "10.1.0.7:8300")
				return w
			}},
		{"consul_stopped", primes(2), func() *planfake.World {
			w := healthy(primes(2))
			w.Docker.UpdateContainer("primes-consul", func(c *plan.Container) { c.State = plan.ContainerExited })
			return w
		}},
		{"no_leader", primes(1), func() *planfake.World {
			w := healthy(primes(1))
			w.Consul.SetLeader("")
			return w
		}},
		{"reconciled", primes(3), func() *planfake.World {
			w := healthy(primes(3))
			w.Consul.Put("stackctl/primes/reconcile/applied", []byte(reconcileApplied))
			w.Consul.Put("stackctl/primes/reconcile/history", []byte(reconcileHistory))
			return w
		}},
		{"reconcile_unreadable", primes(1), func() *planfake.World {
			w := healthy(primes(1))
			w.Consul.Put("stackctl/primes/reconcile/applied", []byte(`{"format_version":9}`))
			return w
		}},
		{"empty", primes(2), planfake.NewWorld},
		{"reconcile_agent", primes(2, withReconcile), func() *planfake.World { return planfake.Running(primes(2, withReconcile)) }},
		{"reconcile_agent_missing", primes(2, withReconcile), func() *planfake.World { return planfake.Running(primes(2)) }},
	}
}

// The records of a reconcile agent that applied a commit, healed a killed
// worker and then refused an invalid commit.
const (
	reconcileApplied = `{"format_version":1,"commit":"abc1234def5678abc1234def5678abc1234def56","short":"abc1234",` +
		`"subject":"web: 3 replicas","commit_time":"2025-11-25T13:50:00Z","repo":"file:///srv/git/stacks.git","ref":"main",` +
		`"path":"primes/stack.yaml","applied_at":"2025-11-25T13:55:00Z"}`
	reconcileHistory = `{"format_version":1,"entries":[` +
		`{"commit":"abc1234def5678abc1234def5678abc1234def56","short":"abc1234","subject":"web: 3 replicas","time":"2025-11-25T13:54:40Z",` +
		`"trigger":"commit","result":"applied","duration_ms":20000,"changes":"1 to add, 0 to change, 0 to replace, 0 to destroy"},` +
		`{"commit":"abc1234def5678abc1234def5678abc1234def56","short":"abc1234","subject":"web: 3 replicas","time":"2025-11-25T13:58:00Z",` +
		`"trigger":"drift","result":"applied","duration_ms":4100,"drift":["create worker/primes-web-2: container does not exist"],` +
		`"changes":"1 to add, 0 to change, 0 to replace, 0 to destroy"},` +
		`{"commit":"0ff1ce0ff1ce0ff1ce0ff1ce0ff1ce0ff1ce0ff1","short":"0ff1ce0","subject":"web: typo","time":"2025-11-25T13:59:00Z",` +
		`"trigger":"commit","result":"invalid","duration_ms":12,` +
		`"error":"primes/stack.yaml:9:5: unknown field \"replica\" in service \"web\" (did you mean \"replicas\"?)"}]}`
)

func TestGoldenStatus(t *testing.T) {
	local := time.Local
	time.Local = time.UTC // the human view prints local times
	t.Cleanup(func() { time.Local = local })
	for _, sc := range statusScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			state, err := sc.world().Observe(sc.desired)
			if err != nil {
				t.Fatalf("observe: %v", err)
			}
			st := plan.BuildStatus(sc.desired, state)
			assertStatusGolden(t, sc.name, st)
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		st := plan.StatusError("primes", errors.New("Docker at unix:///var/run/docker.sock (the default socket): connection refused"))
		st.ObservedAt = time.Date(2025, 11, 25, 14, 0, 0, 0, time.UTC)
		assertStatusGolden(t, "unreachable", st)
	})
}

func assertStatusGolden(t *testing.T, name string, st *plan.Status) {
	t.Helper()
	var human, js bytes.Buffer
	if err := views.StatusHuman(&human, st, false); err != nil {
		t.Fatal(err)
	}
	if err := views.StatusJSON(&js, st, false); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "status/"+name+".txt.golden", human.Bytes())
	golden.Assert(t, "status/"+name+".json.golden", js.Bytes())
}

func TestBuildStatusIsPure(t *testing.T) {
	sc := statusScenarios()[1]
	state, err := sc.world().Observe(sc.desired)
	if err != nil {
		t.Fatal(err)
	}
	var first, second bytes.Buffer
	if err := views.StatusJSON(&first, plan.BuildStatus(sc.desired, state), true); err != nil {
		t.Fatal(err)
	}
	if err := views.StatusJSON(&second, plan.BuildStatus(sc.desired, state), true); err != nil {
		t.Fatal(err)
	}
	if first.String() != second.String() {
		t.Errorf("two builds of one state differ:\n%s\n%s", first.String(), second.String())
	}
	if bytes.Count(first.Bytes(), []byte("\n")) != 1 {
		t.Errorf("one-line JSON is not one line: %q", first.String())
	}
}

func TestStatusKeepsFullCheckOutput(t *testing.T) {
	sc := statusScenarios()[1]
	state, err := sc.world().Observe(sc.desired)
	if err != nil {
		t.Fatal(err)
	}
	st := plan.BuildStatus(sc.desired, state)
	var killed *plan.WorkerStatus
	for i := range st.Workers {
		if st.Workers[i].Name == "primes-web-2" {
			killed = &st.Workers[i]
		}
	}
	if killed == nil || killed.Health != plan.CheckCritical || killed.Output != connRefused {
		t.Fatalf("killed worker: %+v; want critical with the whole output", killed)
	}
	if st.Summary != (plan.StatusSummary{Desired: 3, Total: 3, Passing: 2, Critical: 1}) {
		t.Errorf("summary %+v", st.Summary)
	}
}

// resolveTemplate makes the stack's LB template one in resolve mode.
func resolveTemplate(s *spec.Stack) {
	s.LB.TemplateSource = "resolver {{env \"STACKCTL_CONSUL_DNS\"}} valid=1s ipv6=off;\n" +
		"upstream web {\n    zone web 64k;\n    server service.consul service=web resolve;\n}\n" +
		"server {\n    listen 80;\n    location / { proxy_pass http://web; }\n}\n"
}

// TestStatusSaysHowLongAgoTheCommitWasApplied: a status read live knows
// when it was read, and says "applied 2m ago" rather than only a time.
func TestStatusSaysHowLongAgoTheCommitWasApplied(t *testing.T) {
	desired := primes(3)
	w := healthy(desired)
	w.Consul.Put("stackctl/primes/reconcile/applied", []byte(reconcileApplied))
	w.Consul.Put("stackctl/primes/reconcile/history", []byte(reconcileHistory))
	state, err := w.Observe(desired)
	if err != nil {
		t.Fatal(err)
	}
	st := plan.BuildStatus(desired, state)
	st.ObservedAt = time.Date(2025, 11, 25, 13, 57, 30, 0, time.UTC)
	var out bytes.Buffer
	if err := views.StatusHuman(&out, st, false); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out.Bytes(), []byte("at commit abc1234 (web: 3 replicas), applied 2m ago (")) {
		t.Errorf("no \"applied 2m ago\" in:\n%s", out.String())
	}
}

func TestReconcileHistoryKeepsTheNewestEntries(t *testing.T) {
	var h plan.ReconcileHistory
	for i := range plan.ReconcileHistoryLimit + 5 {
		h.Append(plan.ReconcileEntry{DurationMS: int64(i)})
	}
	if len(h.Entries) != plan.ReconcileHistoryLimit || h.Entries[0].DurationMS != 5 || h.FormatVersion != 1 {
		t.Errorf("history of %d entries from %d, version %d; want the newest %d",
			len(h.Entries), h.Entries[0].DurationMS, h.FormatVersion, plan.ReconcileHistoryLimit)
	}
}
