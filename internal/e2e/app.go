package e2e

// AppPort is the port the primes app listens on.
const AppPort = "5000"

// StartApp starts a primes image (images.PrimesV1, ...) with extra env such as
// "PRIME_WORK=3s", publishes its port and waits until it answers HTTP. Any
// status counts: the bad image is up too, it only fails its health check.
func (e *Env) StartApp(name, image string, env ...string) *Container {
	e.t.Helper()
	c := e.Start(ContainerSpec{Name: name, Image: image, Env: env, Ports: []string{AppPort}})
	e.WaitHTTP(c, AppPort, "/healthz", AnyStatus)
	return c
}
