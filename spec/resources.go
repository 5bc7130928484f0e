package spec

import (
	"math"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

var resourceFields = []string{"memory", "cpus"}

const (
	memoryRule = "a size like 128m, 512k or 1g, or a number of bytes; at least 6m, Docker's minimum"
	cpusRule   = "a number of CPUs from 0.01 to 1024, like 0.5"
)

// resources decodes a worker's limits.
func (d *decoder) resources(n *yaml.Node, path string) Resources {
	var r Resources
	fields, ok := d.mapping(n, path, "in "+path, resourceFields)
	if !ok {
		return r
	}
	if f, ok := fields["memory"]; ok {
		r.MemoryBytes = d.memory(f.val, path+".memory")
	}
	if f, ok := fields["cpus"]; ok {
		if v, ok := d.number(f.val, path+".cpus", cpusRule); ok {
			if v < MinCPUs || v > MaxCPUs {
				d.addf(f.val, "%s.cpus is %s (expected %s)", path, strconv.FormatFloat(v, 'g', -1, 64), cpusRule)
			} else {
				r.NanoCPUs = int64(math.Round(v * 1e9))
			}
		}
	}
	return r
}

func (d *decoder) memory(n *yaml.Node, path string) int64 {
	s, ok := d.scalar(n, path, memoryRule)
	if !ok {
		return 0
	}
	var bytes int64
	switch {
	case n.Tag == "!!int":
		if err := n.Decode(&bytes); err != nil {
			d.addf(n, "%s is %s (expected %s)", path, quote(s.text), memoryRule)
			return 0
		}
	case s.fromString:
		v, ok := parseMemory(s.text)
		if !ok {
			d.addf(n, "%s is %s, not a size (expected %s)", path, quote(s.text), memoryRule)
			return 0
		}
		bytes = v
	default:
		d.typeMismatch(n, path, memoryRule)
		return 0
	}
	if bytes < MinMemory {
		d.addf(n, "%s is %s, %d bytes (expected %s)", path, quote(s.text), bytes, memoryRule)
		return 0
	}
	return bytes
}

var memoryPattern = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?) ?([bB]|[kKmMgGtT](?:[iI]?[bB])?)?$`)

// parseMemory parses "128m", "1.5g", "512KiB", "1024": binary units, as
// Docker reads them, rounded down to whole bytes.
func parseMemory(s string) (int64, bool) {
	m := memoryPattern.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, false
	}
	unit := 1.0
	if m[2] != "" {
		switch m[2][0] | 0x20 { // lowercase
		case 'k':
			unit = 1 << 10
		case 'm':
			unit = 1 << 20
		case 'g':
			unit = 1 << 30
		case 't':
			unit = 1 << 40
		}
	}
	bytes := v * unit
	if bytes >= 1<<62 {
		return 0, false
	}
	return int64(bytes), true
}
