package apply

import (
	"context"
	"errors"
	"sync"
)

// errNoConsul is what needs Consul gets when there is no client, nor one
// to wait for: Consul does not run, and no step of this apply starts it.
var errNoConsul = errors.New("Consul is not reachable")

// consulConn is the stack's Consul client as an apply has it. A Consul that
// runs already is connected before the steps (set). One that this apply
// creates is connected in the background while the workers are created:
// the plan announces it (expect), the step that starts its container
// starts the connection (start) or says it never will (fail), and the steps
// that need Consul wait for it (get).
type consulConn struct {
	mu     sync.Mutex
	client Consul
	// done is made by expect and closed when the awaited connection ended;
	// nil while none is awaited. err is why it failed.
	done chan struct{}
	err  error
	// begin lets at most one background connection start, and none after
	// fail; cancel and running are how stop ends it.
	begin   sync.Once
	cancel  context.CancelFunc
	running sync.WaitGroup
}

// current is the client connected so far, or nil: for the steps that do
// without Consul when there is none (journal writes wait for it in memory).
func (c *consulConn) current() Consul {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.client
}

// set records a client connected in the foreground; nil forgets one whose
// Consul is gone (recover rolled back the first apply that created it).
func (c *consulConn) set(client Consul) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.client = client
}

// expect makes get wait for a background connection that a step will start
// or fail, when there is no client yet. It reports whether one is awaited.
func (c *consulConn) expect() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil && c.client == nil {
		c.done = make(chan struct{})
	}
	return c.done != nil
}

// awaited reports whether there is, or will be, a client to get: a stack
// with nothing but a network left has none.
func (c *consulConn) awaited() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.client != nil || c.done != nil
}

// start runs connect in the background, unless a client is connected
// already; get waits for it. Only the first start or fail counts. connect
// sets the client itself (it is the foreground connection's code too) and
// may do more once it is connected.
func (c *consulConn) start(ctx context.Context, connect func(context.Context) error) {
	c.begin.Do(func() {
		if c.expect() {
			ctx, cancel := context.WithCancel(ctx)
			c.mu.Lock()
			c.cancel = cancel
			c.mu.Unlock()
			c.running.Add(1)
			go func() {
				defer c.running.Done()
				c.end(connect(ctx))
			}()
		}
	})
}

// stop cancels a background connection still under way and waits for it
// to return. Run stops it before it lets go of the lock, so that a
// connection that ends late cannot take the lock (part of connect) for a
// run that is over.
func (c *consulConn) stop() {
	c.mu.Lock()
	cancel := c.cancel
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	c.running.Wait()
}

// fail ends the wait for a connection that will never start (the step that
// creates Consul failed) or must not be waited for any longer (the apply
// failed), so that no step waits for it in vain.
func (c *consulConn) fail(err error) {
	c.begin.Do(func() {})
	c.end(err)
}

// end closes the wait, if one is open, with its outcome.
func (c *consulConn) end(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		return
	}
	select {
	case <-c.done:
		return // the first outcome stands
	default:
	}
	c.err = err
	close(c.done)
}

// get returns the client, once the awaited connection (if any) ended.
func (c *consulConn) get(ctx context.Context) (Consul, error) {
	c.mu.Lock()
	done := c.done
	c.mu.Unlock()
	if done != nil {
		select {
		case <-done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return nil, c.err
	}
	if c.client == nil {
		return nil, errNoConsul
	}
	return c.client, nil
}
