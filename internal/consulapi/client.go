// Package consulapi is stackctl's adapter to the Consul HTTP API: the only
// package that imports the Consul client library. It speaks stackctl's own
// types (plan.Registration, ...) to the rest of the code.
//
// Reading lives in read.go; apply adds its mutating methods (register,
// deregister, KV put and check-and-set, sessions) in files of their own on
// the same Client.
package consulapi

import (
	"net/http"
	"sync"

	"github.com/hashicorp/consul/api"

	"github.com/stackctl/stackctl/plan"
)

// Client talks to one Consul agent.
type Client struct {
	api       *api.Client
	addr      string
	transport *http.Transport
	// token is the ACL token the client sends ("" for none); ReadSecrets
	// gives it back as the management token that read them.
	token string
}

var _ plan.ConsulReader = (*Client)(nil)

// New makes a client for the agent at addr ("host:port" or a URL). The
// usual environment is honoured for the rest: CONSUL_HTTP_TOKEN,
// CONSUL_HTTP_SSL, CONSUL_CACERT, ... No request is made yet.
func New(addr string) (*Client, error) {
	return newClient(addr, nil)
}

// NewWithToken is New with an ACL token of the caller's instead of
// CONSUL_HTTP_TOKEN's: a multi-host stack's management token, or a
// narrower one (the LB's) to check what it may do.
func NewWithToken(addr, token string) (*Client, error) {
	return newClient(addr, &token)
}

func newClient(addr string, token *string) (*Client, error) {
	cfg := api.DefaultConfig()
	if addr != "" {
		cfg.Address = addr
	}
	if token != nil {
		cfg.Token, cfg.TokenFile = *token, ""
	}
	c, err := api.NewClient(cfg) // reads TokenFile into Token
	if err != nil {
		return nil, err
	}
	return &Client{api: c, addr: cfg.Address, transport: cfg.Transport, token: cfg.Token}, nil
}

// Dial is New as a plan.ConsulDialer, for a single plan. Callers that plan
// again and again use a Pool.
func Dial(addr string) (plan.ConsulReader, error) { return New(addr) }

// Address is the agent's address as dialled.
func (c *Client) Address() string { return c.addr }

// Close closes the client's idle connections.
func (c *Client) Close() {
	if c.transport != nil {
		c.transport.CloseIdleConnections()
	}
}

// Pool hands out one Client per address, so that repeated plans reuse
// their connections: a new client per plan leaves its idle connections
// open, and Consul refuses a host's connections beyond
// limits.http_max_conns_per_client (200). The zero Pool is ready to use.
type Pool struct {
	mu      sync.Mutex
	clients map[string]*Client
}

// Dial returns the pool's client for addr, making it on first use. It is a
// plan.ConsulDialer.
func (p *Pool) Dial(addr string) (plan.ConsulReader, error) { return p.Client(addr) }

// Client is Dial for callers that also write (reconcile's records).
func (p *Pool) Client(addr string) (*Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.clients[addr]; ok {
		return c, nil
	}
	c, err := New(addr)
	if err != nil {
		return nil, err
	}
	if p.clients == nil {
		p.clients = map[string]*Client{}
	}
	p.clients[addr] = c
	return c, nil
}

// Close closes the idle connections of every client of the pool.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.clients {
		c.Close()
	}
}
