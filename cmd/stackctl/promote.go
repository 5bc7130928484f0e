package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/stackctl/stackctl/internal/atomicfile"
	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

type diffOptions struct {
	file string
	envs []string
}

func newDiffCmd() *cobra.Command {
	var o diffOptions
	cmd := &cobra.Command{
		Use:   "diff [-f FILE] -e ENV -e ENV",
		Short: "Show what differs between two environments of the stack file",
		Long: `Diff loads the stack file for two environments (each merged with its
overlay; "-e ''" is the stack file on its own) and lists what differs
between them: each service's image, replicas, the names of its environment
variables (never their values: they may be secrets), and the published
ports of Consul and the LB. It reads no live state and changes nothing.
Exit status is 0 whether or not they differ, 1 on error.`,
		Example: `  stackctl diff -f stacks/primes/stack.yaml -e staging -e prod`,
		Args:    args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(o.envs) != 2 {
				return usageError{fmt.Errorf("diff compares two environments: give -e twice (got %d)", len(o.envs))}
			}
			return runDiff(cmd.OutOrStdout(), o)
		},
	}
	cmd.Flags().StringVarP(&o.file, "file", "f", "stack.yaml", "the stack file")
	cmd.Flags().StringArrayVarP(&o.envs, "env", "e", nil, "an environment to compare (give it twice)")
	return cmd
}

// envDifference is one value that differs between two environments.
type envDifference struct {
	Field string
	A, B  string
}

func runDiff(w io.Writer, o diffOptions) error {
	a, _, err := spec.LoadEnv(o.file, o.envs[0])
	if err != nil {
		return exitWith(exitFailure, err)
	}
	b, _, err := spec.LoadEnv(o.file, o.envs[1])
	if err != nil {
		return exitWith(exitFailure, err)
	}
	diffs := envDifferences(a, b)
	if len(diffs) == 0 {
		_, err := fmt.Fprintf(w, "%s and %s run the same images, replicas, variables and ports.\n", a.Name, b.Name)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintf(tw, "\t%s\t%s\n", a.Name, b.Name)
	for _, d := range diffs {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", d.Field, d.A, d.B)
	}
	return tw.Flush()
}

// envDifferences lists what differs between two stacks, in a fixed order:
// per service (by name) image, replicas and variable names; then ports.
func envDifferences(a, b *spec.Stack) []envDifference {
	var out []envDifference
	add := func(field, x, y string) {
		if x != y {
			out = append(out, envDifference{field, x, y})
		}
	}
	names := map[string]bool{}
	for _, s := range append(append([]*spec.Service{}, a.Services...), b.Services...) {
		names[s.Name] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		sa, sb := a.Service(n), b.Service(n)
		if sa == nil || sb == nil {
			add("services."+n, present(sa), present(sb))
			continue
		}
		add("services."+n+".image", sa.Image, sb.Image)
		add("services."+n+".replicas", strconv.Itoa(sa.Replicas), strconv.Itoa(sb.Replicas))
		onlyA, onlyB := envNameDiff(sa.Env, sb.Env)
		add("services."+n+".env", onlyA, onlyB)
	}
	add("consul.ports", portList(a.Consul.Ports), portList(b.Consul.Ports))
	var la, lb []spec.PortMapping
	if a.LB != nil {
		la = a.LB.Ports
	}
	if b.LB != nil {
		lb = b.LB.Ports
	}
	add("lb.ports", portList(la), portList(lb))
	return out
}

func present(s *spec.Service) string {
	if s == nil {
		return "(none)"
	}
	return "present"
}

// envNameDiff names the variables only one side sets, as "+NAME" lists
// ("-" when one side sets none the other lacks).
func envNameDiff(a, b []spec.EnvVar) (string, string) {
	in := func(vs []spec.EnvVar, name string) bool {
		for _, v := range vs {
			if v.Name == name {
				return true
			}
		}
		return false
	}
	only := func(x, y []spec.EnvVar) string {
		var names []string
		for _, v := range x {
			if !in(y, v.Name) {
				names = append(names, "+"+v.Name)
			}
		}
		if len(names) == 0 {
			return "-"
		}
		return strings.Join(names, " ")
	}
	return only(a, b), only(b, a)
}

func portList(ps []spec.PortMapping) string {
	if len(ps) == 0 {
		return "(none)"
	}
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}

type promoteOptions struct {
	file   string
	dryRun bool
}

func newPromoteCmd() *cobra.Command {
	var o promoteOptions
	cmd := &cobra.Command{
		Use:   "promote [-f FILE] FROM TO [--dry-run]",
		Short: "Make environment TO run environment FROM's images, as a change to TO's overlay",
		Long: `Promote writes TO's overlay (stack.TO.yaml beside the stack file) so that
every service of TO runs the image FROM runs, and prints the change as a
patch. It touches no container: commit the overlay, and plan and apply it
(GitOps applies it on merge). The rest of the overlay is kept, comments
included; a service whose image already matches is left alone.`,
		Example: `  stackctl promote -f stacks/primes/stack.yaml staging prod
  git commit -am "promote staging to prod" stacks/primes/stack.prod.yaml`,
		Args: args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			return runPromote(cmd.OutOrStdout(), o, a[0], a[1])
		},
	}
	cmd.Flags().StringVarP(&o.file, "file", "f", "stack.yaml", "the stack file")
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "print the patch, write nothing")
	return cmd
}

func runPromote(w io.Writer, o promoteOptions, from, to string) error {
	if to == "" {
		return usageError{errors.New("promote writes TO's overlay: TO must be an environment")}
	}
	src, _, err := spec.LoadEnv(o.file, from)
	if err != nil {
		return exitWith(exitFailure, err)
	}
	dst, sources, err := spec.LoadEnv(o.file, to)
	if err != nil {
		return exitWith(exitFailure, err)
	}
	path, old := sources[1].Path, sources[1].Data
	images := map[string]string{}
	for _, s := range dst.Services {
		if from := src.Service(s.Name); from != nil && from.Image != s.Image {
			images[s.Name] = from.Image
		}
	}
	if len(images) == 0 {
		_, err := fmt.Fprintf(w, "%s already runs %s's images: nothing to change.\n", dst.Name, src.Name)
		return err
	}
	updated, err := setImages(old, images)
	if err != nil {
		return exitWith(exitFailure, fmt.Errorf("%s: %w", path, err))
	}
	// The result must load, and run exactly the promoted images.
	check, err := spec.ParseEnv(o.file, sources[0].Data, &spec.Overlay{Env: to, File: path, Data: updated}, os.LookupEnv, filepath.Dir(o.file))
	if err != nil {
		return exitWith(exitFailure, fmt.Errorf("the promoted overlay would not load: %w", err))
	}
	for svc, img := range images {
		if got := check.Service(svc).Image; got != img {
			return exitWith(exitFailure, fmt.Errorf("the promoted overlay runs %s for service %s, not %s (an interpolated image?): edit %s by hand", got, svc, img, path))
		}
	}
	fmt.Fprint(w, plan.UnifiedDiff("a/"+path, "b/"+path, string(old), string(updated)))
	if o.dryRun {
		return nil
	}
	if err := writeFileLike(path, updated); err != nil {
		return exitWith(exitFailure, err)
	}
	_, err = fmt.Fprintf(w, "\nWrote %s: %s now runs %s's images once it is applied (stackctl plan -f %s -e %s).\n", path, dst.Name, src.Name, o.file, to)
	return err
}

// setImages sets services.NAME.image in an overlay's YAML for each entry,
// keeping everything else, comments included.
func setImages(data []byte, images map[string]string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		*root = yaml.Node{Kind: yaml.MappingNode}
	}
	if root.Kind != yaml.MappingNode {
		return nil, errors.New("top level is not a mapping")
	}
	names := make([]string, 0, len(images))
	for n := range images {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		services, err := child(root, "services")
		if err != nil {
			return nil, err
		}
		svc, err := child(services, n)
		if err != nil {
			return nil, err
		}
		if err := setScalar(svc, "image", images[n]); err != nil {
			return nil, err
		}
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	return out.Bytes(), enc.Close()
}

// child returns the mapping under key in m, adding an empty one if absent.
func child(m *yaml.Node, key string) (*yaml.Node, error) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			v := m.Content[i+1]
			if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
				*v = yaml.Node{Kind: yaml.MappingNode}
			}
			if v.Kind != yaml.MappingNode {
				return nil, fmt.Errorf("%s at line %d is not a mapping", key, v.Line)
			}
			return v, nil
		}
	}
	v := &yaml.Node{Kind: yaml.MappingNode}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, v)
	return v, nil
}

func setScalar(m *yaml.Node, key, value string) error {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			v := m.Content[i+1]
			if v.Kind != yaml.ScalarNode {
				return fmt.Errorf("%s at line %d is not a plain value", key, v.Line)
			}
			v.Value, v.Tag, v.Style = value, "!!str", 0
			return nil
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, &yaml.Node{Kind: yaml.ScalarNode, Value: value})
	return nil
}

// writeFileLike replaces path's content atomically, keeping its mode.
func writeFileLike(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	return atomicfile.Write(path, data, mode)
}
