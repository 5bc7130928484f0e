// Command primes is the worker of the reference stack: GET / answers with a
// random prime. Its cost per request is tunable so that rolling updates can
// be exercised with requests in flight.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// shutdownGrace outlasts any PRIME_WORK a test or demo uses, so that a
// SIGTERM during a rollout never cuts a request short. Docker's own stop
// timeout must be at least this long for it to matter.
const shutdownGrace = 30 * time.Second

func main() {
	log.SetFlags(log.LstdFlags | log.LUTC)
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		log.Print(err)
		os.Exit(2)
	}
	// As PID 1 in a scratch image, SIGTERM is ignored unless handled here.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		log.Print(err)
		os.Exit(1)
	}
	log.Printf("primes %s listening on %s (digits=%d work=%s healthz_fail=%t)",
		cfg.version, ln.Addr(), cfg.digits, cfg.work, cfg.healthzFail)
	traffic := &trafficLog{}
	go traffic.run(ctx, time.Second)
	if err := serve(ctx, traffic.wrap(newHandler(cfg)), ln); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

// serve answers on ln until ctx is done, then stops accepting connections and
// waits for the requests already in flight before it returns.
func serve(ctx context.Context, h http.Handler, ln net.Listener) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Print("shutting down: finishing requests in flight")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Print("stopped")
	return nil
}
