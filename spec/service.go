package spec

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

var serviceFields = []string{"image", "build", "replicas", "port", "command", "env", "check", "update", "resources", "placement"}

// service decodes one entry of services.
func (d *decoder) service(e field, stack string) *Service {
	svc := &Service{Name: e.key.Value, Pos: d.at(e.key), Replicas: DefaultReplicas}
	path := "services." + pathKey(svc.Name)
	where := fmt.Sprintf("in service %s", quote(svc.Name))
	switch {
	case !isName(svc.Name):
		d.addf(e.key, "service name %s is not valid (expected %s)", quote(svc.Name), nameRule)
	case contains(reservedServiceNames, svc.Name):
		d.addf(e.key, "service name %s is reserved (expected another name: the stack's own Consul server registers under it)", quote(svc.Name))
	}
	fields, ok := d.mapping(e.val, path, where, serviceFields)
	if !ok {
		return svc
	}
	if f, ok := fields["image"]; ok {
		svc.Image = d.image(f.val, path+".image")
	}
	if f, ok := fields["build"]; ok {
		svc.Build = d.build(f, path+".build")
		if _, hasImage := fields["image"]; !hasImage && stack != "" {
			svc.Image = DefaultImage(stack, svc.Name)
		}
	}
	_, hasImage := fields["image"]
	_, hasBuild := fields["build"]
	if !hasImage && !hasBuild {
		d.addf(e.key, "service %s has neither image nor build (expected image: NAME:TAG, or build: FOLDER to build one)", quote(svc.Name))
	}
	if f, ok := fields["replicas"]; ok {
		svc.Replicas, _ = d.integer(f.val, path+".replicas", 0, MaxReplicas)
	}
	if f, ok := d.require(fields, "port", e.key, where, "the container port the service listens on, 1 to 65535"); ok {
		svc.Port, _ = d.integer(f.val, path+".port", 1, 65535)
	}
	if f, ok := fields["command"]; ok {
		svc.Command = d.command(f.val, path+".command")
	}
	if f, ok := fields["env"]; ok {
		svc.Env = d.env(f.val, path+".env")
	}
	svc.Check = d.check(fields, path)
	svc.Update = d.update(fields, path, svc.Check, svc.Replicas)
	if f, ok := fields["resources"]; ok {
		svc.Resources = d.resources(f.val, path+".resources")
	}
	if f, ok := fields["placement"]; ok {
		svc.Placement = d.placement(f, path+".placement")
	}
	return svc
}

const commandRule = "a list of arguments, like [\"/primes\", \"-v\"]"

// command reads the arguments a worker runs instead of the image's default.
func (d *decoder) command(n *yaml.Node, path string) []string {
	items, ok := d.list(n, path, commandRule)
	if !ok {
		return nil
	}
	if len(items) == 0 {
		d.addf(n, "%s is empty (expected %s, or no command field to run the image's own)", path, commandRule)
		return nil
	}
	args := make([]string, 0, len(items))
	for i, item := range items {
		if s, ok := d.text(item, fmt.Sprintf("%s[%d]", path, i), "a string"); ok {
			args = append(args, s.text)
		}
	}
	return args
}
