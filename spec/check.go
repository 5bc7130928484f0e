package spec

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

var (
	checkFields  = []string{"http", "interval", "timeout", "deregister_after"}
	updateFields = []string{"parallelism", "order", "healthy_deadline", "on_failure"}
)

const httpPathRule = "a URL path starting with /, like /healthz"

// check decodes a service's health check, which Consul runs against every
// worker. Everything has a default, so the field itself may be left out.
func (d *decoder) check(svcFields map[string]field, svcPath string) Check {
	c := Check{HTTP: DefaultCheckHTTP, Interval: DefaultCheckInterval}
	var timeout *yaml.Node
	if f, ok := svcFields["check"]; ok {
		path := svcPath + ".check"
		if fields, ok := d.mapping(f.val, path, "in "+path, checkFields); ok {
			if f, ok := fields["http"]; ok {
				c.HTTP = d.httpPath(f.val, path+".http")
			}
			if f, ok := fields["interval"]; ok {
				if v, ok := d.duration(f.val, path+".interval", MinCheckInterval); ok {
					c.Interval = v
				}
			}
			if f, ok := fields["timeout"]; ok {
				timeout = f.val
				c.Timeout, _ = d.duration(f.val, path+".timeout", time.Nanosecond)
				if c.Timeout > c.Interval {
					d.addf(f.val, "%s.timeout %s is longer than the interval %s (expected at most the interval)", path, c.Timeout, c.Interval)
				}
			}
			if f, ok := fields["deregister_after"]; ok {
				c.DeregisterAfter, _ = d.duration(f.val, path+".deregister_after", MinDeregisterAfter)
			}
		}
	}
	if timeout == nil {
		c.Timeout = min(DefaultCheckTimeout, c.Interval)
	}
	return c
}

func (d *decoder) httpPath(n *yaml.Node, path string) string {
	s, ok := d.str(n, path, httpPathRule)
	if !ok {
		return ""
	}
	u, err := url.ParseRequestURI(s)
	if err != nil || !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || u.Fragment != "" || strings.ContainsAny(s, " \t") {
		d.addf(n, "%s %s is not a URL path (expected %s)", path, quote(s), httpPathRule)
		return ""
	}
	return s
}

// update decodes how a service's workers are replaced. The healthy deadline
// defaults to 60s, or two check intervals when that is longer, so a worker
// always has time to pass its first check.
func (d *decoder) update(svcFields map[string]field, svcPath string, check Check, replicas int) Update {
	u := Update{
		Parallelism:     DefaultParallelism,
		Order:           DefaultOrder,
		HealthyDeadline: max(DefaultHealthyDeadline, 2*check.Interval),
		OnFailure:       DefaultOnFailure,
	}
	f, ok := svcFields["update"]
	if !ok {
		return u
	}
	path := svcPath + ".update"
	fields, ok := d.mapping(f.val, path, "in "+path, updateFields)
	if !ok {
		return u
	}
	if f, ok := fields["parallelism"]; ok {
		u.Parallelism, u.ParallelismPercent = d.parallelism(f.val, path+".parallelism", replicas)
	}
	if f, ok := fields["order"]; ok {
		u.Order = d.oneOf(f.val, path+".order", OrderStartFirst, OrderStopFirst)
	}
	if f, ok := fields["healthy_deadline"]; ok {
		if v, ok := d.duration(f.val, path+".healthy_deadline", time.Second); ok {
			u.HealthyDeadline = v
			if v < check.Interval {
				d.addf(f.val, "%s.healthy_deadline %s is shorter than the check interval %s (expected at least one interval, for a worker to pass its first check)", path, v, check.Interval)
			}
		}
	}
	if f, ok := fields["on_failure"]; ok {
		u.OnFailure = d.oneOf(f.val, path+".on_failure", OnFailureRollback, OnFailurePause)
	}
	return u
}

// oneOf reads a string that must be one of choices.
func (d *decoder) oneOf(n *yaml.Node, path string, choices ...string) string {
	expected := strings.Join(choices, " or ")
	s, ok := d.str(n, path, expected)
	if !ok {
		return ""
	}
	if !contains(choices, s) {
		if hint := suggest(s, choices); hint != "" {
			d.addf(n, "%s is %s (expected %s; did you mean %q?)", path, quote(s), expected, hint)
		} else {
			d.addf(n, "%s is %s (expected %s)", path, quote(s), expected)
		}
		return ""
	}
	return s
}

// parallelism reads update.parallelism: a whole number of workers, or a
// percentage of the replicas ("25%", as Kubernetes' maxSurge is written),
// which is rounded up so that a small service still moves and at least 1.
func (d *decoder) parallelism(n *yaml.Node, path string, replicas int) (count, percent int) {
	if n.Kind == yaml.ScalarNode && n.Tag != "!!int" {
		const expected = "a whole number from 1 to 1000, or a percentage of the replicas from 1% to 100%"
		s, ok := d.scalar(n, path, expected)
		if !ok {
			return DefaultParallelism, 0
		}
		if text, isPercent := strings.CutSuffix(strings.TrimSpace(s.text), "%"); isPercent {
			p, err := strconv.Atoi(strings.TrimSpace(text))
			if err != nil || p < 1 || p > 100 {
				d.addf(n, "%s is %s (expected %s)", path, quote(s.text), expected)
				return DefaultParallelism, 0
			}
			return max(1, (replicas*p+99)/100), p
		}
		if !s.interpolated {
			d.typeMismatch(n, path, expected)
			return DefaultParallelism, 0
		}
	}
	v, ok := d.integer(n, path, 1, MaxReplicas)
	if !ok {
		return DefaultParallelism, 0
	}
	return v, 0
}
