package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orderguard/orderguard/internal/sandbox"
)

// startProxy serves the kin-openapi proxy on 127.0.0.1 in front of a real
// sandbox over TLS (its self-signed certificate trusted through --ca-file, as
// for any upstream with a private CA). The sandbox does not validate: what it
// receives is what the proxy let through.
func startProxy(t *testing.T) (proxyURL string, sb *sandbox.Running) {
	t.Helper()
	sb, err := sandbox.Start(sandbox.Options{Config: sandbox.Config{SkipValidation: true}, TLS: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	p, err := newKinProxy(sb.URL, sb.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() { done <- serve(ctx, ln, p, &out) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String(), sb
}

func TestValidatesAndForwards(t *testing.T) {
	proxyURL, sb := startProxy(t)
	load := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "load", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var forwarded uint64
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("kinproxy-test:"))
	for _, tc := range []struct {
		name, method, path string
		body               []byte
		noAPIVersion       bool
		want               int
		// forwardedTo is the sandbox endpoint that must have received the
		// request once; empty: the proxy must stop it.
		forwardedTo string
	}{
		{"valid order", "POST", "/v2/orders/kin-1", load("order-workarea-approve.json"), false, 200, sandbox.EndpointOrderV2},
		{"valid large order", "POST", "/v2/orders/kin-2", load("order-maisonette-full-sample.json"), false, 200, sandbox.EndpointOrderV2},
		{"valid status", "PUT", "/v2/status/kin-3", load("status-commercetools-docs.json"), false, 200, sandbox.EndpointStatusPut},
		{"order without orderType", "POST", "/v2/orders/kin-4", load("invalid-order-workarea-no-ordertype.json"), false, 400, ""},
		{"not JSON", "POST", "/v2/orders/kin-5", []byte(`{"orderId":`), false, 400, ""},
		{"no api-version header", "POST", "/v2/orders/kin-6", load("order-workarea-approve.json"), true, 400, ""},
		{"no such operation", "POST", "/v9/nothing/kin-7", load("order-workarea-approve.json"), false, 404, ""},
		{"body over 1 MiB", "POST", "/v2/orders/kin-8", append([]byte(`{"orderId":"`), bytes.Repeat([]byte("a"), 1<<20)...), false, 413, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, proxyURL+tc.path, bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", auth)
			if !tc.noAPIVersion {
				req.Header.Set("api-version", "2.3")
			}
			resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.want, body)
			}
			if tc.forwardedTo != "" {
				forwarded++
				id := tc.path[strings.LastIndexByte(tc.path, '/')+1:]
				if got := sb.Received().Order(tc.forwardedTo, id).Received; got != 1 || !bytes.Contains(body, []byte(`"status":"success"`)) {
					t.Errorf("sandbox received %d, answer %s; want the request forwarded once and the sandbox's answer back", got, body)
				}
			} else if bytes.Contains(body, []byte("orderType")) || bytes.Contains(body, []byte("aaaa")) {
				t.Errorf("the refusal %q quotes the request", body)
			}
			if got := sb.Received().Total; got != forwarded {
				t.Errorf("sandbox received %d requests so far, want %d: only valid ones pass", got, forwarded)
			}
		})
	}
}

func TestRunFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--upstream", "nope"}, 2, `upstream "nope": want http://host:port`},
		{[]string{"--upstream", "http://127.0.0.1:1", "--ca-file", "/nonexistent"}, 2, "read ca file"},
		{[]string{"--upstream", "http://127.0.0.1:1", "--listen", "256.0.0.1:0"}, 1, "listen"},
		{[]string{"--upstream", "http://127.0.0.1:1", "extra"}, 2, "unexpected argument"},
		{[]string{"--nope"}, 2, "flag provided but not defined"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run(context.Background(), tc.args, &out, &errOut); code != tc.code || !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("exit %d, want %d; stderr %q, want it to contain %q", code, tc.code, errOut.String(), tc.want)
			}
		})
	}
}
