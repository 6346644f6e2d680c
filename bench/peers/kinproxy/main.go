// Command kinproxy is the benchmark's kin-openapi peer: the validating proxy a Go
// team would otherwise build from the standard library and kin-openapi. It
// validates each request with openapi3filter.ValidateRequest against the spec
// embedded in gen (openapi/forter.yaml) and forwards it with
// httputil.ReverseProxy. orderguard's rules (openapi/rules.yaml) cannot be
// expressed in kin-openapi, so it checks the spec alone: less than orderguard.
//
// The benchmark suite builds and starts it (target kin-openapi):
//
//	kinproxy --listen 127.0.0.1:0 --upstream http://127.0.0.1:8090 [--ca-file sandbox.pem]
//
// It prints "kinproxy: listening on http://ADDR" once it accepts connections.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kinproxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on (port 0: a free port, printed)")
	upstream := fs.String("upstream", "", "where to forward valid requests: http://host:port or https://host:port")
	caFile := fs.String("ca-file", "", "PEM bundle the upstream's certificate must chain to (default: the system's)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "kinproxy: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	p, err := newKinProxy(*upstream, *caFile)
	if err != nil {
		fmt.Fprintf(stderr, "kinproxy: %v\n", err)
		return 2
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "kinproxy: listen %q: %v\n", *listen, err)
		return 1
	}
	if err := serve(ctx, ln, p, stdout); err != nil {
		fmt.Fprintf(stderr, "kinproxy: %v\n", err)
		return 1
	}
	return 0
}

// serve serves h on ln until ctx ends, then lets requests in flight finish.
func serve(ctx context.Context, ln net.Listener, h http.Handler, stdout io.Writer) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    16 << 10,
	}
	fmt.Fprintf(stdout, "kinproxy: listening on http://%s\n", ln.Addr())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
