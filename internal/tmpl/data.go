package tmpl

import (
	"context"
	"slices"
)

// Data is what a template reads. The load balancer's sync loop serves it
// from its blocking-query cache; plan and `stackctl lb render` serve it
// straight from Consul; tests use tmpltest.Data.
type Data interface {
	// Service returns the instances of a service, only those whose checks
	// all pass when passingOnly is set. tag, when not empty, keeps only
	// instances carrying it.
	Service(ctx context.Context, name, tag string, passingOnly bool) ([]Instance, error)
	// Services returns the catalog's services, whatever their health.
	Services(ctx context.Context) ([]CatalogService, error)
	// Key returns a KV value and whether the key exists.
	Key(ctx context.Context, path string) (string, bool, error)
}

// EnvData is implemented by a Data that supplies the environment `env`
// reads, for a renderer that runs somewhere other than where nginx will
// (plan renders on the host what the LB container will render).
type EnvData interface {
	Env(name string) (string, bool)
}

// Health statuses, as Consul names them. An instance's status is the worst
// of its checks' statuses; an instance without checks is passing.
const (
	StatusPassing  = "passing"
	StatusWarning  = "warning"
	StatusCritical = "critical"
	StatusUnknown  = "unknown"
)

// Instance is one registered instance of a service, with the field names
// consul-template gives it.
type Instance struct {
	Node        string
	NodeAddress string
	Address     string // the service address, or the node's when unset
	Port        int
	ID          string
	Name        string
	Status      string
	Tags        Tags
	ServiceMeta map[string]string
}

// CatalogService is a service name with the union of its instances' tags.
type CatalogService struct {
	Name string
	Tags Tags
}

// Tags are a service's tags; templates test them with `.Tags.Contains "x"`.
type Tags []string

// Contains reports whether tag is among the tags.
func (t Tags) Contains(tag string) bool { return slices.Contains(t, tag) }

// sortInstances orders a copy of instances by Node, Address, Port and ID so
// an unchanged set renders byte-identical output whatever order Consul
// returned it in. Tags are sorted too.
func sortInstances(in []Instance) []Instance {
	out := make([]Instance, len(in))
	for i, inst := range in {
		inst.Tags = sortedTags(inst.Tags)
		out[i] = inst
	}
	slices.SortStableFunc(out, compareInstances)
	return out
}

func compareInstances(a, b Instance) int {
	switch {
	case a.Node != b.Node:
		return compareStrings(a.Node, b.Node)
	case a.Address != b.Address:
		return compareStrings(a.Address, b.Address)
	case a.Port != b.Port:
		return a.Port - b.Port
	default:
		return compareStrings(a.ID, b.ID)
	}
}

func sortCatalog(in []CatalogService) []CatalogService {
	out := make([]CatalogService, len(in))
	for i, svc := range in {
		svc.Tags = sortedTags(svc.Tags)
		out[i] = svc
	}
	slices.SortStableFunc(out, func(a, b CatalogService) int { return compareStrings(a.Name, b.Name) })
	return out
}

func sortedTags(tags Tags) Tags {
	if tags == nil {
		return nil
	}
	out := slices.Clone(tags)
	slices.Sort(out)
	return out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
