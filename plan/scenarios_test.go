package plan_test

import (
	"time"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/plan/planfake"
	"github.com/stackctl/stackctl/spec"
)

const templateV1 = `upstream web {
{{- range service "web" }}
  server {{ .Address }}:{{ .Port }};
{{- end }}
}

server {
  listen 80;
  location / {
    proxy_pass http://web;
  }
}
`

// primes is the reference stack with n workers of web.
func primes(n int, changes ...func(*spec.Stack)) *spec.Stack {
	s := &spec.Stack{
		Version: 1,
		Name:    "primes",
		File:    "stacks/primes/stack.yaml",
		Dir:     "/src/stacks/primes",
		Consul: spec.Consul{
			Image: "stackctl.local/consul:1.14.8",
			Ports: []spec.PortMapping{{HostIP: "127.0.0.1", HostPort: 8500, ContainerPort: 8500, Protocol: "tcp"}},
		},
		Services: []*spec.Service{{
			Name:     "web",
			Image:    "stackctl.local/primes:v1",
			Replicas: n,
			Port:     5000,
			Env:      []spec.EnvVar{{Name: "PRIME_DIGITS", Value: "8"}},
			Check:    spec.Check{HTTP: "/healthz", Interval: 5 * time.Second, Timeout: 2 * time.Second},
			Update: spec.Update{Parallelism: 4, Order: spec.OrderStartFirst,
				HealthyDeadline: time.Minute, OnFailure: spec.OnFailureRollback},
			Resources: spec.Resources{MemoryBytes: 128 << 20, NanoCPUs: 5e8},
		}},
		LB: &spec.LB{
			Image:          "stackctl.local/nginx:1.22",
			Template:       "/src/stacks/primes/nginx.ctmpl",
			TemplateSource: templateV1,
			Ports:          []spec.PortMapping{{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}},
		},
	}
	for _, change := range changes {
		change(s)
	}
	return s
}

func web(s *spec.Stack) *spec.Service { return s.Service("web") }

// withReconcile gives the stack a reconcile section following main of a
// bare repository on the host.
func withReconcile(s *spec.Stack) {
	s.Reconcile = &spec.Reconcile{Repo: "/srv/git/stacks.git", Ref: "main", Path: "primes/stack.yaml",
		Interval: 30 * time.Second, Image: spec.DefaultReconcileImage}
}

type scenario struct {
	name    string
	desired *spec.Stack
	world   func() *planfake.World
}

// secretOld and secretNew must never appear in any output.
const (
	secretOld = "s3cr3t-old-value"
	secretNew = "s3cr3t-new-value"
)

func withSecret(value string) func(*spec.Stack) {
	return func(s *spec.Stack) {
		web(s).Env = append(web(s).Env, spec.EnvVar{Name: "API_TOKEN", Value: value, Secret: true})
	}
}

func scenarios() []scenario {
	return []scenario{
		{"empty_to_full", primes(5, func(s *spec.Stack) { web(s).Update.Parallelism = 2 }), func() *planfake.World {
			w := planfake.NewWorld()
			w.AddImages(primes(5))
			return w
		}},
		{"no_changes", primes(5), func() *planfake.World { return planfake.Running(primes(5)) }},
		{"scale_up_5_to_20", primes(20), func() *planfake.World { return planfake.Running(primes(5)) }},
		{"scale_down_20_to_5", primes(5), func() *planfake.World { return planfake.Running(primes(20)) }},
		{"image_change", primes(4, func(s *spec.Stack) {
			web(s).Image = "stackctl.local/primes:v2"
			web(s).Update.Parallelism = 2
		}), func() *planfake.World {
			w := planfake.Running(primes(4))
			w.Docker.PutImage(plan.Image{Ref: "stackctl.local/primes:v2", ID: planfake.FakeImageID("stackctl.local/primes:v2", "")})
			return w
		}},
		{"env_change", primes(2, func(s *spec.Stack) {
			web(s).Env = []spec.EnvVar{{Name: "LOG_LEVEL", Value: "debug"}, {Name: "PRIME_DIGITS", Value: "9"}}
		}), func() *planfake.World { return planfake.Running(primes(2)) }},
		{"orphan_container", primes(2), func() *planfake.World {
			w := planfake.Running(primes(2))
			w.Docker.PutContainer(plan.Container{ID: "c-old", Name: "primes-old-1", State: plan.ContainerRunning,
				Labels: map[string]string{spec.LabelStack: "primes", spec.LabelRole: plan.RoleWorker,
					spec.LabelService: "old", spec.LabelSlot: "1", spec.LabelHash: "0123456789abcdef"}})
			w.Docker.PutContainer(plan.Container{ID: "c-x", Name: "primes-debug", State: plan.ContainerExited,
				Labels: map[string]string{spec.LabelStack: "primes"}})
			return w
		}},
		{"orphan_registration", primes(2), func() *planfake.World {
			w := planfake.Running(primes(2))
			w.Consul.Register(plan.Registration{ID: "primes-api-1", Service: "api", Address: "172.20.0.99", Port: 6000,
				Status: plan.CheckCritical, Meta: map[string]string{plan.MetaStack: "primes", plan.MetaService: "api", plan.MetaSlot: "1"}})
			return w
		}},
		{"stopped_container", primes(3), func() *planfake.World {
			w := planfake.Running(primes(3))
			w.Docker.UpdateContainer("primes-web-2", func(c *plan.Container) { c.State = plan.ContainerExited; c.Networks["primes"] = "" })
			w.Consul.SetStatus("primes-web-2", plan.CheckCritical, "Get \"http://172.20.0.6:5000/healthz\": dial tcp 172.20.0.6:5000: connect: connection refused")
			return w
		}},
		{"missing_container", primes(3), func() *planfake.World {
			w := planfake.Running(primes(3))
			w.Docker.RemoveContainer("primes-web-3")
			w.Consul.SetStatus("primes-web-3", plan.CheckCritical, "connection refused")
			return w
		}},
		{"critical_check", primes(3), func() *planfake.World {
			w := planfake.Running(primes(3))
			w.Consul.SetStatus("primes-web-3", plan.CheckCritical, "HTTP GET http://172.20.0.7:5000/healthz: 500 Internal Server Error Output: out of primes")
			w.Consul.SetStatus("primes-web-2", plan.CheckWarning, "slow")
			return w
		}},
		{"secrets_masked", primes(2, withSecret(secretNew)), func() *planfake.World {
			return planfake.Running(primes(2, withSecret(secretOld)))
		}},
		{"secrets_masked_create", primes(1, withSecret(secretNew)), func() *planfake.World {
			w := planfake.Running(primes(1, withSecret(secretNew)))
			w.Docker.RemoveContainer("primes-web-1")
			return w
		}},
		{"unlabelled_left_alone", primes(2), func() *planfake.World {
			w := planfake.Running(primes(2))
			w.Docker.PutContainer(plan.Container{ID: "c-mine", Name: "primes-web-9", State: plan.ContainerRunning,
				Labels: map[string]string{"com.example.owner": "someone-else"}})
			w.Docker.PutContainer(plan.Container{ID: "c-other", Name: "other-web-1", State: plan.ContainerRunning,
				Labels: map[string]string{spec.LabelStack: "other", spec.LabelRole: plan.RoleWorker, spec.LabelService: "web", spec.LabelSlot: "1"}})
			w.Consul.Register(plan.Registration{ID: "primes-web-9", Service: "web", Address: "10.9.9.9", Port: 5000})
			w.Consul.Register(plan.Registration{ID: "other-web-1", Service: "web", Meta: map[string]string{plan.MetaStack: "other"}})
			return w
		}},
		{"consul_missing", primes(2), func() *planfake.World {
			w := planfake.Running(primes(2))
			w.Docker.RemoveContainer("primes-consul")
			return w
		}},
		{"consul_stopped", primes(2), func() *planfake.World {
			w := planfake.Running(primes(2))
			w.Docker.UpdateContainer("primes-consul", func(c *plan.Container) { c.State = plan.ContainerExited })
			return w
		}},
		{"unfinished_apply", primes(3), func() *planfake.World {
			w := planfake.Running(primes(3))
			w.Docker.RemoveContainer("primes-web-3")
			w.Consul.Put("stackctl/primes/journal", []byte(`{"format_version":1,"started_at":"2025-11-25T14:00:00Z","steps":[`+
				`{"id":"worker/primes-web-1","status":"done"},{"id":"worker/primes-web-2","status":"done"},`+
				`{"id":"worker/primes-web-3","status":"running"},{"id":"registration/primes-web-3","status":"pending"}]}`))
			return w
		}},
		{"lb_template_change", primes(2, func(s *spec.Stack) {
			s.LB.TemplateSource = `upstream web {
  least_conn;
{{- range service "web" }}
  server {{ .Address }}:{{ .Port }} max_fails=2;
{{- end }}
}

server {
  listen 80;
  location / {
    proxy_pass http://web;
  }
}
`
		}), func() *planfake.World { return planfake.Running(primes(2)) }},
		{"lb_whole_config", primes(2, func(s *spec.Stack) {
			s.LB.Config, s.LB.Form = spec.LBConfigAuto, spec.LBConfigWhole
			s.LB.TemplateSource = `worker_processes 1;
events {}
http {
  upstream web { {{ range service "web" }}server {{ .Address }}:{{ .Port }};{{ else }}server 127.0.0.1:65535 down;{{ end }} }
  server { listen 80; location / { proxy_pass http://web; } }
}
`
		}), func() *planfake.World { return planfake.Running(primes(2)) }},
		{"lb_template_broken", primes(2, func(s *spec.Stack) {
			s.LB.TemplateSource = "upstream web {\n{{ range service \"web\" }}\n  server {{ .Address }:{{ .Port }};\n{{ end }}\n}\n"
		}), func() *planfake.World { return planfake.Running(primes(2)) }},
		{"lb_rejected_render", primes(2), func() *planfake.World {
			w := planfake.Running(primes(2))
			w.Consul.Put("stackctl/primes/lb/status", []byte(`{"ok":false,"error":"nginx -t: unknown directive \"sever\" in /etc/nginx/conf.d/stackctl.conf:3","rendered_at":"2025-11-25T14:00:00Z","instances":2,"reloads":4}`))
			return w
		}},
		{"image_rebuilt_elsewhere", primes(2), func() *planfake.World {
			w := planfake.Running(primes(2))
			w.Docker.PutImage(plan.Image{Ref: "stackctl.local/primes:v1", ID: planfake.FakeImageID("stackctl.local/primes:v1", "rebuilt")})
			return w
		}},
		{"build_missing_images", primes(1, func(s *spec.Stack) {
			web(s).Image = "primes-web:latest"
			web(s).Build = &spec.Build{Context: "testdata/app", Dockerfile: "Dockerfile"}
		}), func() *planfake.World { return planfake.NewWorld() }},
		{"interrupted_replace", primes(2), func() *planfake.World {
			w := planfake.Running(primes(2))
			c, _ := w.Docker.Container("primes-web-2")
			c.ID, c.Name, c.State = "c-old-2", "primes-web-2-old", plan.ContainerExited
			w.Docker.PutContainer(c)
			return w
		}},
		{"external_consul", primes(2, func(s *spec.Stack) {
			s.Consul = spec.Consul{Address: "consul.internal:8500"}
		}), func() *planfake.World { return planfake.Running(primes(2)) }},
		{"lb_removed", primes(2, func(s *spec.Stack) { s.LB = nil }), func() *planfake.World { return planfake.Running(primes(2)) }},
		{"rolling_update_8_by_4", primes(8, v2, newTemplate), running(primes(8))},
		// The example of docs/plan-markdown.md: a new image and an env
		// change, one worker at a time.
		{"update_2_workers", primes(2, v2, func(s *spec.Stack) {
			web(s).Update.Parallelism = 1
			web(s).Env = []spec.EnvVar{{Name: "PRIME_DIGITS", Value: "9"}}
		}), running(primes(2))},
		{"kept_worker_replaced", primes(2, v2), func() *planfake.World {
			// An interrupted apply left slot 2 only its old container,
			// kept under another name: the slot's replace takes its place.
			w := running(primes(2))()
			keepOnly(w, "primes-web-2", "c-kept-2")
			return w
		}},
		{"reconcile_added", primes(2, withReconcile), func() *planfake.World {
			w := planfake.Running(primes(2))
			w.AddImages(primes(2, withReconcile))
			return w
		}},
		{"reconcile_first_apply", primes(2, withReconcile), func() *planfake.World {
			w := planfake.NewWorld()
			w.AddImages(primes(2, withReconcile))
			return w
		}},
		{"reconcile_changed", primes(2, withReconcile, func(s *spec.Stack) { s.Reconcile.Ref = "production" }),
			running(primes(2, withReconcile))},
		{"reconcile_removed", primes(2), running(primes(2, withReconcile))},
		// The agent's own plan of a new commit that scales the stack and
		// changes its reconcile section: its container is left alone.
		{"reconcile_in_agent", primes(3, withReconcile, func(s *spec.Stack) {
			s.Reconcile.Interval = time.Minute
			s.InAgent = true
		}), running(primes(2, withReconcile))},
		{"reconcile_in_agent_removed", primes(2, func(s *spec.Stack) { s.InAgent = true }), running(primes(2, withReconcile))},
		{"unowned_network", primes(1), func() *planfake.World {
			w := planfake.NewWorld()
			w.AddImages(primes(1))
			w.Docker.PutNetwork(plan.Network{ID: "n-1", Name: "primes", Driver: "bridge"})
			return w
		}},
	}
}
