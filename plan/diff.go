package plan

import (
	"sort"
	"strings"

	"github.com/stackctl/stackctl/spec"
)

// configDiff lists the fields that differ between two flat configurations
// (see WorkerConfig), sorted by field. Secret fields are shown as env.NAME
// with both values replaced by Sensitive.
func configDiff(before, after map[string]string) []FieldDiff {
	type side struct {
		value  string
		secret bool
		set    bool
	}
	fields := map[string][2]side{}
	collect := func(cfg map[string]string, i int) {
		for k, v := range cfg {
			name, secret := k, false
			if strings.HasPrefix(k, secretPrefix) {
				name, secret = envPrefix+strings.TrimPrefix(k, secretPrefix), true
			}
			f := fields[name]
			f[i] = side{value: v, secret: secret, set: true}
			fields[name] = f
		}
	}
	collect(before, 0)
	collect(after, 1)
	var d []FieldDiff
	for name, f := range fields {
		if f[0] == f[1] {
			continue
		}
		fd := FieldDiff{Field: name, Before: f[0].value, After: f[1].value}
		if f[0].secret || f[1].secret {
			fd = FieldDiff{Field: name, Before: masked(f[0].set), After: masked(f[1].set), Sensitive: true}
		}
		d = append(d, fd)
	}
	sort.Slice(d, func(i, j int) bool { return d[i].Field < d[j].Field })
	return d
}

func masked(set bool) string {
	if set {
		return Sensitive
	}
	return ""
}

// hashDiff explains a hash change field by field when the container carries
// its configuration, and by the hash alone when it does not.
func hashDiff(c *Container, wantHash string, want map[string]string) []FieldDiff {
	if have, ok := decodeConfig(c.Labels); ok {
		if d := configDiff(have, want); len(d) > 0 {
			return d
		}
	}
	return []FieldDiff{{Field: "hash", Before: c.Labels[spec.LabelHash], After: wantHash}}
}

func sortContainers(cs []*Container) {
	sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
}
