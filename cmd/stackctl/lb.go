package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/stackctl/stackctl/internal/consulapi"
	"github.com/stackctl/stackctl/internal/lbsync"
	"github.com/stackctl/stackctl/internal/tmpl"
	"github.com/stackctl/stackctl/plan"
)

func newLBCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lb",
		Short: "The load balancer's config sync (runs inside the LB container)",
		Long: `The load balancer container runs "stackctl lb run": it renders the stack's
nginx template from Consul's passing instances, checks every config with
nginx -t before nginx loads it, and reloads nginx whenever the passing set
changes. "stackctl lb render" prints what the template renders to now.`,
		Example: `  stackctl lb render -f stacks/primes/nginx.ctmpl --consul 127.0.0.1:8500
  stackctl lb run --consul http://primes-consul:8500 \
    --template-key stackctl/primes/lb/template --status-key stackctl/primes/lb/status \
    -- nginx -g 'daemon off;'`,
	}
	cmd.AddCommand(newLBRunCmd(), newLBRenderCmd())
	return cmd
}

// lbTemplateFlags are the flags naming the template, shared by run and render.
type lbTemplateFlags struct {
	consul string
	key    string
	file   string
}

func (f *lbTemplateFlags) add(cmd *cobra.Command, fileShorthand string) {
	cmd.Flags().StringVar(&f.consul, "consul", "", "the Consul agent's address (default $CONSUL_HTTP_ADDR, else 127.0.0.1:8500)")
	cmd.Flags().StringVar(&f.key, "template-key", "", "the Consul KV key holding the template (stackctl apply writes stackctl/<stack>/lb/template)")
	cmd.Flags().StringVarP(&f.file, "template", fileShorthand, "", "a template file, used when --template-key is not set or not in KV")
}

func (f *lbTemplateFlags) check() error {
	if f.key == "" && f.file == "" {
		return usageError{errors.New("no template: give --template-key or --template")}
	}
	return nil
}

type lbRunOptions struct {
	lbTemplateFlags
	out       string
	statusKey string
	wait      string
	checkCmd  string
	reloadCmd string
	settle    time.Duration
	dns       string
}

func newLBRunCmd() *cobra.Command {
	var o lbRunOptions
	cmd := &cobra.Command{
		Use:   "run [flags] [-- COMMAND...]",
		Short: "Keep an nginx config in step with Consul, and supervise nginx",
		Long: `Run renders the template whenever what it reads from Consul changes: the
passing instances of each service it names, KV keys, and the template itself
when it lives in KV. Changes within the --wait window are rendered once. A
render whose bytes did not change does nothing; a new one is written
atomically to --out, checked with --check-cmd, and only then loaded: the
first time by starting COMMAND, afterwards by sending it SIGHUP (or running
--reload-cmd). A config the check rejects is taken back at once and nginx
keeps the last good one.

Every outcome is logged to stderr and, with --status-key, written to Consul
KV as JSON ({"ok":false,"error":...}) for "stackctl status".

When Consul cannot be reached, nginx keeps serving and the watch retries
with backoff (at most 2s apart). For --settle after it answers again, renders
that would remove instances wait: a restarted Consul reports every health
check critical until it has run it again. If it is unreachable at start, the
template is rendered with no instances (its {{else}} case) so nginx can start.

Renders (and COMMAND) see STACKCTL_CONSUL_DNS, the --consul agent's host at
Consul's DNS port 8600, for a template whose nginx resolves its upstream
servers in Consul itself: resolver {{env "STACKCTL_CONSUL_DNS"}} valid=1s;

With --dns ADDR, stackctl answers those queries itself on ADDR (UDP and
TCP), and STACKCTL_CONSUL_DNS is ADDR: SRV _NAME._tcp.service.consul and
NAME.service.consul give the passing instances of service NAME (port and
an NNNNNNNN.addr.dc1.consul target each, whose A record comes along and is
answered too), from its own blocking queries with its own token. Use it
where Consul's DNS interface answers with a default token that reads no
service (ACLs, default deny: stacks with hosts). A service Consul does not
know is NXDOMAIN, one with nothing passing an empty answer; while Consul
does not answer, the instances it gave last. At most 64 services are
watched. UDP answers over 512 bytes are cut and marked truncated (TC), and
nginx asks again over TCP.

SIGTERM, SIGINT and SIGQUIT stop COMMAND gracefully with SIGQUIT; stackctl
exits with its status. If COMMAND exits on its own, so does stackctl.`,
		Example: `  # in the load balancer container (its entrypoint):
  stackctl lb run --consul http://primes-consul:8500 \
    --template-key stackctl/primes/lb/template --status-key stackctl/primes/lb/status \
    -- nginx -g 'daemon off;'`,
		RunE: func(cmd *cobra.Command, argv []string) error {
			if n := cmd.ArgsLenAtDash(); n > 0 || (n < 0 && len(argv) > 0) {
				return usageError{fmt.Errorf("unexpected argument %q: put the command to run after --", argv[0])}
			}
			return runLB(cmd.Context(), cmd, o, argv)
		},
	}
	o.add(cmd, "")
	cmd.Flags().StringVar(&o.out, "out", "/etc/nginx/conf.d/stackctl.conf", "the config file to render: one nginx.conf includes (conf.d), or nginx.conf itself for a whole-config template")
	cmd.Flags().StringVar(&o.statusKey, "status-key", "", "a Consul KV key to write the JSON status to after every render")
	cmd.Flags().StringVar(&o.wait, "wait", "250ms:2s", "quiescence MIN[:MAX]: render once no change came for MIN, at most MAX after the first; 0 renders every change")
	cmd.Flags().StringVar(&o.checkCmd, "check-cmd", "nginx -t", "the command that must accept a config before it is loaded (split on spaces; empty: none)")
	cmd.Flags().StringVar(&o.reloadCmd, "reload-cmd", "", "the command that reloads the server (split on spaces; default: SIGHUP to COMMAND)")
	cmd.Flags().DurationVar(&o.settle, "settle", 10*time.Second, "after Consul comes back from an outage, hold renders that would remove instances this long, while its restarted checks pass again (negative: no hold)")
	cmd.Flags().StringVar(&o.dns, "dns", "", "answer DNS for Consul services on this host:port (UDP and TCP), from stackctl's own watch and token, and set STACKCTL_CONSUL_DNS to it (e.g. 127.0.0.1:8600)")
	return cmd
}

func runLB(ctx context.Context, cmd *cobra.Command, o lbRunOptions, command []string) error {
	if err := o.check(); err != nil {
		return err
	}
	waitMin, waitMax, err := parseWait(o.wait)
	if err != nil {
		return usageError{fmt.Errorf("--wait: %w", err)}
	}
	if _, _, err := net.SplitHostPort(o.dns); o.dns != "" && err != nil {
		return usageError{fmt.Errorf("--dns %q: want host:port, such as 127.0.0.1:8600", o.dns)}
	}
	consul, err := consulapi.NewWatcher(o.consul, "")
	if err != nil {
		return exitWith(exitFailure, err)
	}
	if err := setConsulDNSEnv(o); err != nil {
		return exitWith(exitFailure, err)
	}
	// Docker stops a container with its STOPSIGNAL (SIGQUIT for the nginx
	// image) or SIGTERM; a terminal sends SIGINT. Each is a graceful stop.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT)
	defer stop()
	err = lbsync.Run(ctx, lbsync.Config{
		Consul:       consul,
		TemplateKey:  o.key,
		TemplateFile: o.file,
		OutPath:      o.out,
		StatusKey:    o.statusKey,
		WaitMin:      waitMin,
		WaitMax:      waitMax,
		CheckCmd:     strings.Fields(o.checkCmd),
		ReloadCmd:    strings.Fields(o.reloadCmd),
		Command:      command,
		Settle:       o.settle,
		DNSAddr:      o.dns,
		Stdout:       cmd.OutOrStdout(),
		Stderr:       cmd.ErrOrStderr(),
	})
	var exit *lbsync.ExitError
	switch {
	case errors.As(err, &exit) && exit.Unexpected:
		return exitWith(exit.ExitCode(), err)
	case errors.As(err, &exit):
		return exitWith(exit.ExitCode(), nil) // a stop it was asked for: its status says it all
	case err != nil:
		return exitWith(exitFailure, err)
	}
	return nil
}

// setConsulDNSEnv tells renders and nginx where to resolve Consul
// services ({{env "STACKCTL_CONSUL_DNS"}}): stackctl's own responder with
// --dns, else the Consul agent's DNS interface unless already set.
func setConsulDNSEnv(o lbRunOptions) error {
	if o.dns != "" {
		return os.Setenv(plan.ConsulDNSEnv, o.dns)
	}
	if _, set := os.LookupEnv(plan.ConsulDNSEnv); set {
		return nil
	}
	addr := o.consul
	if addr == "" {
		addr = os.Getenv("CONSUL_HTTP_ADDR")
	}
	return os.Setenv(plan.ConsulDNSEnv, plan.ConsulDNSAddress(addr))
}

// parseWait reads consul-template's wait syntax: "MIN:MAX", or "MIN" with
// MAX four times MIN.
func parseWait(s string) (time.Duration, time.Duration, error) {
	minStr, maxStr, hasMax := strings.Cut(s, ":")
	min, err := time.ParseDuration(minStr)
	if err != nil || min < 0 {
		return 0, 0, fmt.Errorf("%q: want MIN[:MAX] durations such as 250ms:2s", s)
	}
	max := 4 * min
	if hasMax {
		if max, err = time.ParseDuration(maxStr); err != nil || max < min {
			return 0, 0, fmt.Errorf("%q: want MIN[:MAX] durations with MAX >= MIN, such as 250ms:2s", s)
		}
	}
	return min, max, nil
}

func newLBRenderCmd() *cobra.Command {
	var o lbTemplateFlags
	cmd := &cobra.Command{
		Use:   "render (-f TEMPLATE | --template-key KEY) [--consul ADDR]",
		Short: "Print what a template renders to against Consul now",
		Long: `Render reads the passing instances, services and keys the template names from
Consul once, and prints the result to stdout: what "stackctl lb run" would
write right now. It changes nothing. Template errors are reported as
FILE:LINE:COL: what went wrong.`,
		Example: `  stackctl lb render -f stacks/primes/nginx.ctmpl --consul 127.0.0.1:8500`,
		Args:    args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(); err != nil {
				return err
			}
			out, err := renderLB(cmd.Context(), o)
			if err != nil {
				return exitWith(exitFailure, err)
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	o.add(cmd, "f")
	return cmd
}

// renderTimeout bounds a one-shot render's reads from Consul.
const renderTimeout = 30 * time.Second

func renderLB(ctx context.Context, o lbTemplateFlags) ([]byte, error) {
	consul, err := consulapi.NewWatcher(o.consul, "")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, renderTimeout)
	defer cancel()
	name, src, err := lbTemplateSource(ctx, consul, o)
	if err != nil {
		return nil, err
	}
	t, err := tmpl.Parse(name, src)
	if err != nil {
		return nil, err
	}
	out, _, err := t.Render(ctx, consul)
	return out, err
}

func lbTemplateSource(ctx context.Context, consul *consulapi.Watcher, o lbTemplateFlags) (name, src string, err error) {
	if o.key != "" {
		src, ok, err := consul.Key(ctx, o.key)
		switch {
		case err != nil:
			return "", "", err
		case ok:
			return o.key, src, nil
		case o.file == "":
			return "", "", fmt.Errorf("template key %s does not exist in Consul KV", o.key)
		}
	}
	b, err := os.ReadFile(o.file)
	if err != nil {
		return "", "", fmt.Errorf("read template: %w", err)
	}
	return o.file, string(b), nil
}
