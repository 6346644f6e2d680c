package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/orderguard/orderguard/internal/redact"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/orderguard/orderguard/internal/cli"
	"github.com/orderguard/orderguard/internal/outbox"
	"github.com/orderguard/orderguard/internal/outbox/natsjs"
	"github.com/orderguard/orderguard/internal/secret"
)

// outboxProbeEvery is how often serve checks that the outbox can still write
// (Store.Probe; /readyz reads the outcome): a few seconds, well inside a
// Kubernetes readiness period, and one small fsync'd write each time.
const outboxProbeEvery = 3 * time.Second

const outboxUsageLine = "orderguard outbox <command> [flags]"

const outboxUsage = `usage: ` + outboxUsageLine + `

Inspect and replay the outbox of requests the proxy answered with a fallback
and resends to Forter later.

commands:
  list            list entries (--state pending|dead|delivered, --limit N)
  stats           depth, oldest age, delivered and dead-lettered totals
  retry ID|all    make a pending entry due now, or bring a dead one (all dead ones) back
  drop ID         delete a pending or dead entry for good
  export          every pending and dead entry as NDJSON, bodies included

Against the file (no proxy may hold it: bbolt locks it) or a running proxy:
  --file PATH     the outbox file (default data/outbox.db, as serve's --outbox), or
                  nats://host:4222[,…] for a fleet's JetStream outbox (stream from
                  $ORDERGUARD_OUTBOX_STREAM, credentials as serve's)
  --admin URL     a running proxy's admin listener, e.g. http://127.0.0.1:9090
                  (from another host, with the proxy's admin token: --admin-token-file
                  or $ORDERGUARD_ADMIN_TOKEN)

flags:
`

// outboxBackend is the file or a running proxy's admin API.
type outboxBackend interface {
	Stats() (outbox.Stats, error)
	List(state outbox.State, limit int) ([]outbox.Entry, error)
	Retry(arg string) (string, error)
	Drop(id uint64) error
	Export(w io.Writer) error
	Close() error
}

func runOutbox(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("outbox", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // help and errors in the shared layout, below
	fs.Usage = func() {}
	usageError := func(err error) int { return cli.UsageError(stderr, "outbox", outboxUsageLine, err) }
	file := fs.String("file", outbox.DefaultPath, "outbox file `path`")
	admin := fs.String("admin", "", "admin `URL` of a running proxy (instead of --file)")
	tokenFile := fs.String("admin-token-file", "", "file holding the proxy's admin token, sent as a bearer token with --admin (else $"+secret.EnvAdminToken+")")
	state := fs.String("state", "pending", "list: `state` to list: pending, dead or delivered")
	limit := fs.Int("limit", 100, "list: at most `N` entries (0: all)")
	asJSON := fs.Bool("json", false, "list, stats: print JSON")
	out := fs.String("o", "", "export: write to `file` (mode 0600) instead of standard output")

	// Flags may come before or after the command and its argument.
	var pos []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(stdout, outboxUsage)
				cli.WriteFlags(stdout, cli.Visible(fs), nil)
				return 0
			}
			return usageError(err)
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(pos) == 0 {
		return usageError(errors.New("no command given (list, stats, retry, drop or export)"))
	}
	verb, want := pos[0], map[string]int{"list": 1, "stats": 1, "retry": 2, "drop": 2, "export": 1}
	n, ok := want[verb]
	if !ok {
		return usageError(fmt.Errorf("unknown command %q (want list, stats, retry, drop or export)", verb))
	}
	if len(pos) != n {
		if n == 2 {
			return usageError(fmt.Errorf("%s: want exactly one ID", verb))
		}
		return usageError(fmt.Errorf("%s: unexpected argument %q", verb, pos[1]))
	}
	var id uint64
	if verb == "drop" || (verb == "retry" && pos[1] != "all") {
		var err error
		if id, err = strconv.ParseUint(pos[1], 10, 64); err != nil {
			fmt.Fprintf(stderr, "orderguard outbox %s: ID %q: want a number (the id column of list)\n", verb, pos[1])
			return 2
		}
	}

	var be outboxBackend
	if *admin != "" {
		u, err := url.Parse(*admin)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			fmt.Fprintf(stderr, "orderguard outbox: --admin %q: want a URL such as http://127.0.0.1:9090\n", *admin)
			return 2
		}
		token, err := secret.Load("admin token", *tokenFile, secret.EnvAdminToken, nil)
		if err != nil {
			fmt.Fprintf(stderr, "orderguard outbox: %v\n", err)
			return 2
		}
		be = &adminBackend{base: strings.TrimSuffix(u.String(), "/"), client: &http.Client{Timeout: 30 * time.Second}, token: token}
	} else if natsjs.IsURL(*file) {
		// The fleet's outbox: the CLI reads and repairs the shared streams
		// directly, whichever pod kept the requests.
		conn, err := natsjs.ConnOptions(os.Getenv("ORDERGUARD_OUTBOX_NATS_CREDS"), os.Getenv("ORDERGUARD_OUTBOX_NATS_CA"), os.Getenv)
		if err == nil {
			var s *natsjs.Store
			if s, err = natsjs.Open(*file, natsjs.Options{Stream: envOr("ORDERGUARD_OUTBOX_STREAM", natsjs.DefaultStream), Conn: conn, Attach: true}); err == nil {
				be = fileBackend{s}
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "orderguard %v\n", err)
			return 1
		}
	} else {
		// An inspection tool must not create an empty outbox where the
		// operator mistyped the path.
		if _, err := os.Stat(*file); err != nil {
			fmt.Fprintf(stderr, "orderguard outbox: no outbox file at %s (serve creates it; give its --outbox path with --file, or --admin URL): %v\n", *file, err)
			return 1
		}
		s, err := outbox.Open(*file, outbox.Options{LockTimeout: 500 * time.Millisecond})
		if err != nil {
			fmt.Fprintf(stderr, "orderguard %v\n", err)
			return 1
		}
		be = fileBackend{s}
	}
	defer be.Close()

	err := func() error {
		switch verb {
		case "stats":
			st, err := be.Stats()
			if err != nil {
				return err
			}
			if *asJSON {
				return printJSON(stdout, st)
			}
			printStats(stdout, st)
		case "list":
			entries, err := be.List(outbox.State(*state), *limit)
			if err != nil {
				return err
			}
			for i := range entries { // read from the file, they are as sent
				entries[i].OrderID = redact.MaskString(entries[i].OrderID)
				entries[i].Path = redact.MaskString(entries[i].Path)
			}
			if *asJSON {
				if entries == nil {
					entries = []outbox.Entry{}
				}
				return printJSON(stdout, entries)
			}
			printEntries(stdout, outbox.State(*state), entries)
		case "retry":
			msg, err := be.Retry(pos[1])
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, msg)
		case "drop":
			if err := be.Drop(id); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "dropped %d\n", id)
		case "export":
			w := stdout
			if *out != "" {
				f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
				if err != nil {
					return fmt.Errorf("export: %w", err)
				}
				defer f.Close()
				w = f
			}
			if err := be.Export(w); err != nil {
				return err
			}
		}
		return nil
	}()
	if err != nil {
		fmt.Fprintf(stderr, "orderguard outbox %s: %s\n", verb, strings.TrimPrefix(err.Error(), "outbox: "))
		return 1
	}
	return 0
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printStats(w io.Writer, st outbox.Stats) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "file\t%s\n", st.Path)
	fmt.Fprintf(tw, "pending\t%d\n", st.Pending)
	oldest := "-"
	if !st.Oldest.IsZero() {
		oldest = fmt.Sprintf("%s (first try %s)", roundAge(time.Duration(st.OldestAgeSec*float64(time.Second))), st.Oldest.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(tw, "oldest\t%s\n", oldest)
	fmt.Fprintf(tw, "dead\t%d\n", st.Dead)
	fmt.Fprintf(tw, "enqueued total\t%d\n", st.Enqueued)
	fmt.Fprintf(tw, "deduplicated total\t%d\n", st.Deduplicated)
	fmt.Fprintf(tw, "delivered total\t%d\n", st.Delivered)
	fmt.Fprintf(tw, "dead-lettered total\t%d\n", st.DeadLettered)
	if st.Resender {
		fmt.Fprintf(tw, "resender\trunning, paused=%v, %d attempts, %d failures this process\n", st.Paused, st.Attempts, st.Failures)
	}
	tw.Flush()
}

func printEntries(w io.Writer, state outbox.State, entries []outbox.Entry) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	switch state {
	case outbox.StateDelivered:
		fmt.Fprintln(tw, "ID\tOPERATION\tORDER\tSTATUS\tATTEMPTS\tRESPONSE")
		for _, e := range entries {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%s\n", e.ID, e.Operation, e.OrderID, e.LastStatus, e.Attempts, clip(string(e.LastResponse), 80))
		}
	case outbox.StateDead:
		fmt.Fprintln(tw, "ID\tOPERATION\tORDER\tAGE\tATTEMPTS\tSTATUS\tREASON")
		for _, e := range entries {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%s\n", e.ID, e.Operation, e.OrderID, roundAge(time.Since(e.FirstTry)), e.Attempts, e.LastStatus, e.DeadReason)
		}
	default:
		fmt.Fprintln(tw, "ID\tOPERATION\tORDER\tAGE\tATTEMPTS\tNEXT TRY\tLAST")
		for _, e := range entries {
			last := e.LastError
			if e.LastStatus != 0 {
				last = strconv.Itoa(e.LastStatus)
			}
			next := "now"
			if d := time.Until(e.NextTry); d > 0 {
				next = "in " + roundAge(d)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", e.ID, e.Operation, e.OrderID, roundAge(time.Since(e.FirstTry)), e.Attempts, next, clip(last, 60))
		}
	}
	tw.Flush()
	if len(entries) == 0 {
		fmt.Fprintf(w, "(no %s entries)\n", state)
	}
}

func roundAge(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
	case d >= time.Minute:
		return d.Round(time.Second).String()
	default:
		return d.Round(time.Millisecond).String()
	}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// fileBackend works on the backend directly: the bbolt file, or the fleet's
// JetStream streams.
type fileBackend struct{ s outbox.Backend }

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func (f fileBackend) Stats() (outbox.Stats, error) { return f.s.Stats() }
func (f fileBackend) List(state outbox.State, limit int) ([]outbox.Entry, error) {
	return f.s.List(state, limit)
}
func (f fileBackend) Drop(id uint64) error     { return f.s.Drop(id) }
func (f fileBackend) Export(w io.Writer) error { return f.s.Export(w) }
func (f fileBackend) Close() error             { return f.s.Close() }
func (f fileBackend) Retry(arg string) (string, error) {
	if arg == "all" {
		n, err := f.s.RetryAllDead()
		return fmt.Sprintf("retried %d dead entries (a running proxy resends them)", n), err
	}
	id, _ := strconv.ParseUint(arg, 10, 64)
	return fmt.Sprintf("retry %d: due now", id), f.s.Retry(id)
}

// adminBackend talks to a running proxy's admin listener.
type adminBackend struct {
	base   string
	client *http.Client
	token  *secret.Key // sent as a bearer token when set
}

func (a *adminBackend) Close() error { return nil }

// send makes one admin request and returns the answer when it is 200; any
// other status becomes an error carrying the proxy's own message.
func (a *adminBackend) send(method, path string) (*http.Response, error) {
	req, err := http.NewRequest(method, a.base+path, nil)
	if err != nil {
		return nil, fmt.Errorf("admin request %s: %w", path, err)
	}
	if a.token.IsSet() {
		req.Header.Set("Authorization", "Bearer "+a.token.Value().Reveal())
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("admin API at %s: %w", a.base, err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e struct{ Error string }
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return nil, fmt.Errorf("admin API %s: %s", path, e.Error)
	}
	return nil, fmt.Errorf("admin API %s: HTTP %d (is %s a proxy's admin listener?)", path, resp.StatusCode, a.base)
}

func (a *adminBackend) do(method, path string, into any) error {
	resp, err := a.send(method, path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("admin API %s: read answer: %w", path, err)
	}
	if into == nil {
		return nil
	}
	if err := json.Unmarshal(body, into); err != nil {
		return fmt.Errorf("admin API %s: decode answer: %w", path, err)
	}
	return nil
}

func (a *adminBackend) Stats() (outbox.Stats, error) {
	var st outbox.Stats
	return st, a.do(http.MethodGet, "/outbox/stats", &st)
}

func (a *adminBackend) List(state outbox.State, limit int) ([]outbox.Entry, error) {
	var list []outbox.Entry
	q := url.Values{"state": {string(state)}, "limit": {strconv.Itoa(limit)}}
	return list, a.do(http.MethodGet, "/outbox/list?"+q.Encode(), &list)
}

func (a *adminBackend) Retry(arg string) (string, error) {
	var ans map[string]any
	if err := a.do(http.MethodPost, "/outbox/retry/"+arg, &ans); err != nil {
		return "", err
	}
	if n, ok := ans["retried"]; ok {
		return fmt.Sprintf("retried %v dead entries", n), nil
	}
	return fmt.Sprintf("retry %s: due now", arg), nil
}

func (a *adminBackend) Drop(id uint64) error {
	return a.do(http.MethodPost, "/outbox/drop/"+strconv.FormatUint(id, 10), nil)
}

func (a *adminBackend) Export(w io.Writer) error {
	resp, err := a.send(http.MethodGet, "/outbox/export")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}
