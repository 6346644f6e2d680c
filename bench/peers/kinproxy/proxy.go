package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/orderguard/orderguard/gen"
	"github.com/orderguard/orderguard/internal/spec"
)

// maxBody is the largest request body accepted, the same limit as orderguard's
// and the baseline's.
const maxBody = 1 << 20

// kinProxy validates each request against the spec with kin-openapi, then
// forwards it with httputil.ReverseProxy.
type kinProxy struct {
	router  routers.Router
	options *openapi3filter.Options
	forward http.Handler
}

// newKinProxy loads the embedded spec and builds the proxy to upstream
// (http://host:port or https://host:port). caFile, when set, is the PEM bundle
// that the upstream's certificate must chain to (the sandbox's self-signed one).
func newKinProxy(upstream, caFile string) (*kinProxy, error) {
	u, err := url.Parse(upstream)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("upstream %q: want http://host:port or https://host:port", upstream)
	}
	doc, err := gen.GetSpec()
	if err != nil {
		return nil, fmt.Errorf("load the embedded spec: %w", err)
	}
	// The spec's servers name Forter's hosts; the proxy routes on the path alone.
	doc.Servers = nil
	spec.RegisterFormats() // ipv4, ipv6, email, uri: the formats orderguard checks too
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route the spec: %w", err)
	}
	transport, err := newTransport(caFile)
	if err != nil {
		return nil, err
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = pr.In.Host // forward the Host the client sent, as orderguard and the baseline do
		},
		Transport: transport,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) {
			http.Error(w, "kinproxy: upstream error", http.StatusBadGateway)
		},
	}
	return &kinProxy{
		router: router,
		// As the validator micro-benchmark (bench/validate_bench_test.go) uses it:
		// every error, formats checked; authentication is the upstream's job.
		options: &openapi3filter.Options{
			MultiError:              true,
			AuthenticationFunc:      openapi3filter.NoopAuthenticationFunc,
			SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.EnableFormatValidation()},
		},
		forward: rp,
	}, nil
}

// newTransport is http.DefaultTransport with as many idle connections to the
// upstream as the baseline keeps (its default of 2 would make most requests
// dial afresh at 32 connections in flight: no one runs a proxy like that).
func newTransport(caFile string) (*http.Transport, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 512
	t.MaxIdleConnsPerHost = 512
	t.IdleConnTimeout = time.Minute
	t.ResponseHeaderTimeout = 5 * time.Second
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("read ca file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca file %s: no PEM certificates", caFile)
		}
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return t, nil
}

// ServeHTTP answers 404 to what the spec has no operation for, 413 to a body over
// maxBody, 400 to a request the spec rejects, and forwards the rest. Answers
// never echo the request: kin-openapi's messages quote the values they reject.
func (p *kinProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route, params, err := p.router.FindRoute(r)
	if err != nil {
		http.Error(w, "kinproxy: no operation in the spec for this method and path", http.StatusNotFound)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	err = openapi3filter.ValidateRequest(r.Context(), &openapi3filter.RequestValidationInput{
		Request: r, PathParams: params, Route: route, Options: p.options,
	})
	if err != nil {
		if _, tooLarge := errors.AsType[*http.MaxBytesError](err); tooLarge {
			http.Error(w, "kinproxy: request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "kinproxy: the request does not match the spec", http.StatusBadRequest)
		return
	}
	p.forward.ServeHTTP(w, r)
}
