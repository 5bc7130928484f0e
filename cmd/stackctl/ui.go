package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"

	"github.com/spf13/cobra"
)

// uiOptions are ui's flags.
type uiOptions struct {
	file stackFile
	open bool
}

func newUICmd() *cobra.Command {
	var opts uiOptions
	cmd := &cobra.Command{
		Use:   "ui [-f FILE] [--open]",
		Short: "Print the URLs of the stack's Consul UI and load balancer",
		Long: `UI prints where a browser on this host reaches the stack: the Consul UI (the
port the managed Consul container publishes for 8500, or consul.address, or
CONSUL_HTTP_ADDR) and the load balancer (each port it publishes; a port bound
on 0.0.0.0 is reached on 127.0.0.1). The ports are read from the running
containers, so ports Docker picked are right.

With --open it also opens each URL in the default browser (xdg-open, open or
rundll32, by system); exit status 1 when there is no way to do that here.`,
		Example: `  stackctl ui -f stack.yaml
  stackctl ui --open`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			return runUI(ctx, cmd.OutOrStdout(), opts)
		},
	}
	addFileFlag(cmd, &opts.file)
	cmd.Flags().BoolVar(&opts.open, "open", false, "open the URLs in the default browser")
	return cmd
}

func runUI(ctx context.Context, stdout io.Writer, o uiOptions) error {
	stack, docker, cs, err := stackContainers(ctx, o.file)
	if err != nil {
		return err
	}
	defer docker.Close()
	u := uiURLs(stack, cs, os.Getenv("CONSUL_HTTP_ADDR"))
	printURLs(stdout, u, styleFor(stdout))
	if !o.open {
		return nil
	}
	urls := u.LB
	if u.Consul != "" {
		urls = append([]string{u.Consul}, urls...)
	}
	if len(urls) == 0 {
		return exitWith(exitFailure, errors.New("nothing to open: the stack runs neither Consul nor an LB that publishes a port"))
	}
	for _, url := range urls {
		if err := openBrowser(runtime.GOOS, url); err != nil {
			return exitWith(exitFailure, err)
		}
	}
	return nil
}

func printURLs(w io.Writer, u stackURLs, s style) {
	if u.Consul != "" {
		fmt.Fprintf(w, "%s  %s  (%s)\n", s.bold("consul"), u.Consul, u.ConsulNote)
	} else {
		fmt.Fprintf(w, "%s  %s\n", s.bold("consul"), s.red(u.ConsulNote))
	}
	for _, url := range u.LB {
		fmt.Fprintf(w, "%s      %s\n", s.bold("lb"), url)
	}
	if len(u.LB) == 0 {
		fmt.Fprintf(w, "%s      %s\n", s.bold("lb"), u.LBNote)
	}
}

// browserCommand is the program that opens a URL in the default browser.
func browserCommand(goos, url string) (string, []string) {
	switch goos {
	case "darwin":
		return "open", []string{url}
	case "windows":
		return "rundll32", []string{"url.dll,FileProtocolHandler", url}
	}
	return "xdg-open", []string{url}
}

// openBrowser starts the browser opener and leaves it: some openers only
// return once the browser window closes.
func openBrowser(goos, url string) error {
	name, argv := browserCommand(goos, url)
	path, err := exec.LookPath(name)
	if err != nil {
		return fmt.Errorf("cannot open a browser here: %s was not found; open %s yourself", name, url)
	}
	cmd := exec.Command(path, argv...)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("open %s with %s: %w", url, name, err)
	}
	return cmd.Process.Release()
}
