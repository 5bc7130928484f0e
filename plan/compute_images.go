package plan

import "sort"

// images plans a build for every service image whose build context changed
// (or that is missing) and a pull for any other image not found locally.
func (b *builder) images() {
	builds := map[string]string{} // ref → service that builds it
	refs := map[string]bool{}
	for _, svc := range b.s.Services {
		refs[svc.Image] = true
		if svc.Build != nil {
			if _, dup := builds[svc.Image]; !dup {
				builds[svc.Image] = svc.Name
			}
		}
	}
	if b.s.Consul.Managed() {
		refs[b.s.Consul.Image] = true
	}
	if b.s.LB != nil {
		refs[b.s.LB.Image] = true
	}
	if b.s.Reconcile != nil && !b.s.InAgent {
		refs[b.s.Reconcile.Image] = true
	}
	sorted := make([]string, 0, len(refs))
	for ref := range refs {
		sorted = append(sorted, ref)
	}
	sort.Strings(sorted)
	for _, ref := range sorted {
		if svc, ok := builds[ref]; ok {
			b.buildStep(ref, svc)
			continue
		}
		if b.o.Image(ref) == nil {
			b.imageSteps = append(b.imageSteps, Step{Action: ActionPull, Kind: KindImage, Target: ref,
				Reason: "image not found locally"})
		}
	}
}

func (b *builder) buildStep(ref, svc string) {
	want := b.o.Contexts[svc]
	img := b.o.Image(ref)
	var reason string
	var diff []FieldDiff
	switch {
	case img == nil:
		reason = "image not found locally"
		diff = []FieldDiff{{Field: "context", After: want}}
	case img.Labels[LabelContext] == "":
		reason = "image was not built by stackctl, so its build context is unknown"
		diff = []FieldDiff{{Field: "context", Before: "(unknown)", After: want}}
	case img.Labels[LabelContext] != want:
		reason = "build context of service " + svc + " changed"
		diff = []FieldDiff{{Field: "context", Before: img.Labels[LabelContext], After: want}}
	default:
		return
	}
	b.rebuilt[ref] = true
	b.imageSteps = append(b.imageSteps, Step{Action: ActionBuild, Kind: KindImage, Target: ref,
		Service: svc, Reason: reason, Diff: diff})
}
