package apply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stackctl/stackctl/internal/lbsync"
	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// world is an in-memory Docker engine and Consul agent behind apply's
// interfaces. A registration passes while a running container has its
// address and runs an image whose ref does not contain "bad".
type world struct {
	mu          sync.Mutex
	containers  map[string]*plan.Container // by ID
	networks    map[string]plan.Network
	images      map[string]plan.Image
	regs        map[string]Registration
	kv          map[string][]byte
	locks       map[string][]byte
	sessions    map[string]string // lock key → the session holding it
	nextSession int
	held        map[string]*fakeLock
	nextID      int
	lbServes    string // the fake LB's config_sha256
	// failOn makes the named operation fail ("start", "register", ...).
	failOn map[string]error
	// events logs every mutation, for ordering assertions.
	events []string
	// minPassing is the fewest passing instances of "web" seen after
	// any mutation once it had one.
	minPassing int
	hadPassing bool
	// slowDocker makes StopContainer and RemoveContainer take this long,
	// and inFlight counts them meanwhile: maxInFlight is the most seen at
	// once.
	slowDocker            time.Duration
	inFlight, maxInFlight atomic.Int32
	// specs holds the spec of the last container created under each name.
	specs map[string]ContainerSpec
}

// slowCall holds a Docker call for w.slowDocker, counting it in flight.
func (w *world) slowCall() {
	if w.slowDocker == 0 {
		return
	}
	n := w.inFlight.Add(1)
	defer w.inFlight.Add(-1)
	for {
		m := w.maxInFlight.Load()
		if n <= m || w.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(w.slowDocker)
}

func newWorld() *world {
	return &world{
		containers: map[string]*plan.Container{}, networks: map[string]plan.Network{},
		images: map[string]plan.Image{}, regs: map[string]Registration{}, kv: map[string][]byte{},
		locks: map[string][]byte{}, sessions: map[string]string{}, held: map[string]*fakeLock{}, failOn: map[string]error{}, minPassing: -1,
		specs: map[string]ContainerSpec{},
	}
}

func (w *world) addImage(ref string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.images[ref] = plan.Image{Ref: ref, ID: "sha256:" + strings.Repeat(fmt.Sprintf("%x", len(w.images)+1), 64)[:64]}
}

// log records an event and tracks the passing count. Callers hold mu.
func (w *world) log(format string, a ...any) {
	w.events = append(w.events, fmt.Sprintf(format, a...))
	n := 0
	for _, r := range w.regs {
		if r.Service == "web" && w.statusLocked(r) == plan.CheckPassing {
			n++
		}
	}
	if n > 0 {
		w.hadPassing = true
	}
	if w.hadPassing && (w.minPassing < 0 || n < w.minPassing) {
		w.minPassing = n
	}
}

func (w *world) fail(op string) error {
	if err := w.failOn[op]; err != nil {
		return err
	}
	return nil
}

func (w *world) byName(name string) *plan.Container {
	for _, c := range w.containers {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (w *world) find(idOrName string) *plan.Container {
	if c, ok := w.containers[idOrName]; ok {
		return c
	}
	return w.byName(idOrName)
}

func cloneContainer(c *plan.Container) *plan.Container {
	out := *c
	out.Labels = maps.Clone(c.Labels)
	out.Networks = maps.Clone(c.Networks)
	out.Ports = append([]plan.PublishedPort(nil), c.Ports...)
	return &out
}

// --- Docker ---

type fakeDocker struct{ w *world }

func (d fakeDocker) ListContainers(_ context.Context, stack string) ([]plan.Container, error) {
	d.w.mu.Lock()
	defer d.w.mu.Unlock()
	var out []plan.Container
	for _, c := range d.w.containers {
		if c.Labels[spec.LabelStack] == stack {
			out = append(out, *cloneContainer(c))
		}
	}
	return out, nil
}

func (d fakeDocker) InspectNetwork(_ context.Context, name string) (*plan.Network, error) {
	d.w.mu.Lock()
	defer d.w.mu.Unlock()
	n, ok := d.w.networks[name]
	if !ok {
		return nil, nil
	}
	n.Labels = maps.Clone(n.Labels)
	return &n, nil
}

func (d fakeDocker) InspectImage(_ context.Context, ref string) (*plan.Image, error) {
	d.w.mu.Lock()
	defer d.w.mu.Unlock()
	img, ok := d.w.images[ref]
	if !ok {
		return nil, nil
	}
	return &img, nil
}

func (d fakeDocker) CreateNetwork(_ context.Context, name string, labels map[string]string) (string, error) {
	d.w.mu.Lock()
	defer d.w.mu.Unlock()
	if err := d.w.fail("create-network"); err != nil {
		return "", err
	}
	if _, ok := d.w.networks[name]; ok {
		return "", fmt.Errorf("network %s: %w", name, ErrNameConflict)
	}
	d.w.networks[name] = plan.Network{ID: "net-" + name, Name: name, Driver: "bridge", Labels: maps.Clone(labels)}
	d.w.log("create-network %s", name)
	return "net-" + name, nil
}

func (d fakeDocker) RemoveNetwork(_ context.Context, name string) error {
	d.w.mu.Lock()
	defer d.w.mu.Unlock()
	delete(d.w.networks, name)
	d.w.log("remove-network %s", name)
	return nil
}

func (d fakeDocker) CreateContainer(_ context.Context, c ContainerSpec) (string, error) {
	d.w.mu.Lock()
	defer d.w.mu.Unlock()
	if err := d.w.fail("create:" + c.Name); err != nil {
		return "", err
	}
	if d.w.byName(c.Name) != nil {
		return "", fmt.Errorf("create %s: %w", c.Name, ErrNameConflict)
	}
	img, ok := d.w.images[c.Image]
	if !ok {
		return "", fmt.Errorf("no such image %s", c.Image)
	}
	d.w.nextID++
	// Unique in its first 12 characters, as Docker's IDs are in practice.
	id := fmt.Sprintf("%012x%052x", d.w.nextID, d.w.nextID)
	ctr := &plan.Container{ID: id, Name: c.Name, Labels: maps.Clone(c.Labels), State: plan.ContainerCreated,
		ImageRef: c.Image, ImageID: img.ID,
		Networks: map[string]string{c.Network: fmt.Sprintf("10.0.%d.%d", d.w.nextID/200, d.w.nextID%200+2)}}
	if c.HostNetwork {
		ctr.Networks = map[string]string{"host": ""} // as Docker reports it: no address of its own
	}
	for i, p := range c.Ports {
		hp := p.HostPort
		if hp == 0 {
			hp = 40000 + d.w.nextID*10 + i
		}
		ctr.Ports = append(ctr.Ports, plan.PublishedPort{HostIP: "127.0.0.1", HostPort: hp, ContainerPort: p.ContainerPort, Protocol: "tcp"})
	}
	d.w.containers[id] = ctr
	d.w.specs[c.Name] = c
	d.w.log("create %s", c.Name)
	return id, nil
}

func (d fakeDocker) StartContainer(_ context.Context, id string) error {
	d.w.mu.Lock()
	defer d.w.mu.Unlock()
	c := d.w.find(id)
	if c == nil {
		return fmt.Errorf("no such container %s", id)
	}
	if err := d.w.fail("start:" + c.Name); err != nil {
		return err
	}
	if c.State == plan.ContainerRunning {
		return nil // Docker's 304: started already, nothing happens
	}
	c.State = plan.ContainerRunning
	c.StartedAt = time.Now()
	if c.Labels[spec.LabelRole] == plan.RoleLB {
		d.w.renderLBLocked(c.Labels[spec.LabelStack])
	}
	d.w.log("start %s", c.Name)
	return nil
}

func (d fakeDocker) StopContainer(_ context.Context, id string, _ time.Duration) error {
	d.w.slowCall()
	d.w.mu.Lock()
	defer d.w.mu.Unlock()
	if c := d.w.find(id); c != nil {
		c.State = plan.ContainerExited
		d.w.log("stop %s", c.Name)
	}
	return nil
}

func (d fakeDocker) RemoveContainer(_ context.Context, id string) error {
	d.w.slowCall()
	d.w.mu.Lock()
	defer d.w.mu.Unlock()
	if c := d.w.find(id); c != nil {
		if err := d.w.fail("remove:" + c.Name); err != nil {
			return err
		}
		delete(d.w.containers, c.ID)
		d.w.log("remove %s", c.Name)
	}
	return nil
}

func (d fakeDocker) RenameContainer(_ context.Context, id, name string) error {
	d.w.mu.Lock()
	defer d.w.mu.Unlock()
	c := d.w.find(id)
	if c == nil {
		return fmt.Errorf("no such container %s", id)
	}
	if o := d.w.byName(name); o != nil && o != c {
		return fmt.Errorf("rename to %s: %w", name, ErrNameConflict)
	}
	d.w.log("rename %s %s", c.Name, name)
	c.Name = name
	return nil
}

func (d fakeDocker) InspectContainer(_ context.Context, idOrName string) (*plan.Container, error) {
	d.w.mu.Lock()
	defer d.w.mu.Unlock()
	c := d.w.find(idOrName)
	if c == nil {
		return nil, nil
	}
	return cloneContainer(c), nil
}

func (d fakeDocker) NetworkAddresses(context.Context, string) (string, []string, error) {
	return "", nil, nil
}

func (d fakeDocker) BuildImage(_ context.Context, b BuildSpec) (string, error) {
	d.w.mu.Lock()
	defer d.w.mu.Unlock()
	d.w.nextID++
	id := fmt.Sprintf("sha256:%064x", 1<<20+d.w.nextID)
	d.w.images[b.Tag] = plan.Image{Ref: b.Tag, ID: id, Labels: maps.Clone(b.Labels)}
	d.w.log("build %s", b.Tag)
	return id, nil
}

func (d fakeDocker) TagImage(_ context.Context, id, ref string) error {
	d.w.mu.Lock()
	defer d.w.mu.Unlock()
	for _, img := range d.w.images {
		if img.ID == id {
			img.Ref = ref
			d.w.images[ref] = img
			return nil
		}
	}
	d.w.images[ref] = plan.Image{Ref: ref, ID: id}
	return nil
}

func (d fakeDocker) UntagImage(_ context.Context, ref string) error {
	d.w.mu.Lock()
	defer d.w.mu.Unlock()
	delete(d.w.images, ref)
	return nil
}

// --- Consul ---

type fakeConsul struct{ w *world }

func (w *world) statusLocked(r Registration) string {
	for _, c := range w.containers {
		for _, ip := range c.Networks {
			if ip == r.Address && c.Running() {
				if strings.Contains(c.ImageRef, "bad") {
					return plan.CheckCritical
				}
				return plan.CheckPassing
			}
		}
	}
	return plan.CheckCritical
}

func (c fakeConsul) Registrations(_ context.Context, stack string) ([]plan.Registration, error) {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	var out []plan.Registration
	for _, r := range c.w.regs {
		if r.Meta[plan.MetaStack] == stack {
			out = append(out, plan.Registration{ID: r.ID, Service: r.Service, Address: r.Address, Port: r.Port,
				Meta: maps.Clone(r.Meta), Status: c.w.statusLocked(r)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (c fakeConsul) KVGet(_ context.Context, key string) ([]byte, bool, error) {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	v, ok := c.w.kv[key]
	return append([]byte(nil), v...), ok, nil
}

func (c fakeConsul) Leader(context.Context) (string, error) { return "10.0.0.1:8300", nil }
func (c fakeConsul) Peers(context.Context) ([]string, error) {
	return []string{"10.0.0.1:8300"}, nil
}

// LocalStatus: the fake agent and catalog are one, always in sync.
func (c fakeConsul) LocalStatus(ctx context.Context, id string) (string, error) {
	return c.Status(ctx, id)
}
func (c fakeConsul) SyncNow(context.Context, string) error { return nil }

func (c fakeConsul) Register(_ context.Context, r Registration) error {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	if err := c.w.fail("register:" + r.ID); err != nil {
		return err
	}
	r.Meta = maps.Clone(r.Meta)
	r.Passing = false
	c.w.regs[r.ID] = r
	c.w.log("register %s %s", r.ID, r.Address)
	return nil
}

func (c fakeConsul) Deregister(_ context.Context, id string) error {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	if _, ok := c.w.regs[id]; ok {
		delete(c.w.regs, id)
		c.w.log("deregister %s", id)
	}
	return nil
}

func (c fakeConsul) Registration(_ context.Context, id string) (*Registration, error) {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	r, ok := c.w.regs[id]
	if !ok {
		return nil, nil
	}
	r.Meta = maps.Clone(r.Meta)
	return &r, nil
}

func (c fakeConsul) Status(_ context.Context, id string) (string, error) {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	r, ok := c.w.regs[id]
	if !ok {
		return "", nil
	}
	return c.w.statusLocked(r), nil
}

func (c fakeConsul) Serving(_ context.Context, service, id, address string) (bool, error) {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	r, ok := c.w.regs[id]
	return ok && r.Service == service && r.Address == address && c.w.statusLocked(r) == plan.CheckPassing, nil
}

// probe answers a worker's health URL as the world's container at its
// address would: passing unless its image is a "bad" one.
func (w *world) probe(_ context.Context, url string, _ time.Duration) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.containers {
		for _, ip := range c.Networks {
			if c.Running() && strings.Contains(url, "//"+ip+":") {
				if strings.Contains(c.ImageRef, "bad") {
					return errors.New("HTTP 503 Service Unavailable")
				}
				return nil
			}
		}
	}
	return errors.New("connection refused")
}

func (c fakeConsul) KVPut(_ context.Context, key string, value []byte) error {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	c.w.kv[key] = append([]byte(nil), value...)
	if !strings.HasSuffix(key, "/journal") {
		c.w.log("kv-put %s", key)
	}
	if stack, ok := strings.CutSuffix(strings.TrimPrefix(key, "stackctl/"), "/"+plan.KVLBTemplate); ok {
		for _, ctr := range c.w.containers {
			if ctr.Labels[spec.LabelStack] == stack && ctr.Labels[spec.LabelRole] == plan.RoleLB && ctr.State == plan.ContainerRunning {
				c.w.renderLBLocked(stack)
			}
		}
	}
	return nil
}

// fakeRejected in a template makes the fake LB's nginx -t reject it.
const fakeRejected = "nginx_rejects_this"

// renderLBLocked is the fake LB rendering the stack's template at once,
// with a status as lbsync writes it.
func (w *world) renderLBLocked(stack string) {
	src := w.kv["stackctl/"+stack+"/"+plan.KVLBTemplate]
	st := lbsync.Status{OK: true, ConfigSHA256: "fake", Instances: 1000,
		RenderedAt: time.Now().UTC().Add(time.Millisecond), TemplateSHA256: lbsync.TemplateSum(string(src))}
	if strings.Contains(string(src), fakeRejected) {
		st.OK, st.Rejected, st.ConfigSHA256 = false, true, w.lbServes
		st.Error = "/etc/nginx/conf.d/stackctl.conf kept: config rejected by nginx -t: exit status 1: nginx: [emerg] unknown directive \"" + fakeRejected + "\""
	} else {
		w.lbServes = st.ConfigSHA256
	}
	b, _ := json.Marshal(st)
	w.kv["stackctl/"+stack+"/"+plan.KVLBStatus] = b
}

func (c fakeConsul) KVDelete(_ context.Context, key string) error {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	delete(c.w.kv, key)
	return nil
}

// Lock takes a free lock at once; a held one is tried once more after
// wait (Consul would take it the moment it is released).
func (c fakeConsul) Lock(_ context.Context, key string, value []byte, _, wait time.Duration) (Lock, *LockPair, error) {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	if _, ok := c.w.locks[key]; ok && wait > 0 {
		c.w.mu.Unlock()
		time.Sleep(wait)
		c.w.mu.Lock()
	}
	if held, ok := c.w.locks[key]; ok {
		return nil, &LockPair{Session: c.w.sessions[key], Value: held}, nil
	}
	c.w.lockLocked(key, value)
	l := &fakeLock{w: c.w, key: key, lost: make(chan struct{})}
	c.w.held[key] = l
	return l, nil, nil
}

func (c fakeConsul) ReadLock(_ context.Context, key string) (*LockPair, error) {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	if held, ok := c.w.locks[key]; ok {
		return &LockPair{Session: c.w.sessions[key], Value: held}, nil
	}
	return nil, nil
}

func (c fakeConsul) DestroySession(_ context.Context, id string) error {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	for key, s := range c.w.sessions {
		if s == id {
			c.w.log("session-destroy %s", key)
			c.w.releaseLocked(key)
		}
	}
	return nil
}

// lockLocked gives the lock at key to a new session, whose ID it returns.
// Callers hold mu.
func (w *world) lockLocked(key string, value []byte) string {
	w.nextSession++
	id := fmt.Sprintf("session-%d", w.nextSession)
	w.locks[key], w.sessions[key] = value, id
	return id
}

// releaseLocked ends the session of the lock at key. Callers hold mu.
func (w *world) releaseLocked(key string) {
	l := w.held[key]
	delete(w.locks, key)
	delete(w.sessions, key)
	delete(w.held, key)
	if l != nil {
		l.once.Do(func() { close(l.lost) })
	}
}

// holdLock makes a holder outside the test's executors hold the lock at
// key, as another stackctl would, and returns its session ID.
func (w *world) holdLock(key string, h LockHolder) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	value, _ := json.Marshal(h)
	return w.lockLocked(key, value)
}

// fakeLock is a held lock; world.loseLock ends its session.
type fakeLock struct {
	w    *world
	key  string
	lost chan struct{}
	once sync.Once
}

func (l *fakeLock) Lost() <-chan struct{} { return l.lost }
func (l *fakeLock) Unlock(context.Context) error {
	l.w.mu.Lock()
	defer l.w.mu.Unlock()
	if l.w.held[l.key] == l {
		l.w.releaseLocked(l.key)
	}
	l.once.Do(func() { close(l.lost) })
	return nil
}

// loseLock ends the session of the lock held at key, as Consul does when
// its TTL runs out; taker, when set, takes the lock at once.
func (w *world) loseLock(key string, taker []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.held[key] == nil {
		return
	}
	w.releaseLocked(key)
	if taker != nil {
		w.lockLocked(key, taker)
	}
}
