package compiled

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/orderguard/orderguard/internal/validate"
)

// Live is the program serving now. Reload builds a new one from the same
// sources and swaps it atomically: a request that took the old table with
// Current keeps it to its end; a failed reload leaves the old one serving.
type Live struct {
	src      Sources
	log      *slog.Logger
	cur      atomic.Pointer[Program]
	failures atomic.Uint64
	mu       sync.Mutex // one reload at a time
}

// NewLive serves p, built from src, and reloads from src.
func NewLive(p *Program, src Sources, log *slog.Logger) *Live {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Live{src: src, log: log}
	l.cur.Store(p)
	return l
}

// Current is the operations table serving now (the proxy's Validators).
func (l *Live) Current() []validate.Operation { return l.cur.Load().Operations }

// Program is the program serving now.
func (l *Live) Program() *Program { return l.cur.Load() }

// Failures counts the reloads refused since the start.
func (l *Live) Failures() uint64 { return l.failures.Load() }

// Reload re-reads, checks and compiles the sources. On success the new
// program serves from the next request on and the change of what is valid
// is logged (rules and required members added and removed); an unchanged
// spec is left alone. On failure one line names the file and the problem,
// the failure is counted and the current program keeps serving. Reload
// refuses a spec whose operations (ids, methods, paths, names, fallback
// shapes) differ: routes and fallback answers are fixed at start-up.
func (l *Live) Reload(reason string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	old := l.cur.Load()
	p, err := Load(l.src)
	if err == nil {
		err = sameOperations(old.Operations, p.Operations)
	}
	if err != nil {
		l.failures.Add(1)
		l.log.Warn("spec reload refused, the previous spec keeps serving",
			slog.String("reason", reason), slog.String("error", err.Error()), slog.String("sha256", old.SHA256))
		return err
	}
	if p.SHA256 == old.SHA256 {
		return nil
	}
	d := diff(old.doc, p.doc)
	l.cur.Store(p)
	l.log.Info("spec reloaded",
		slog.String("reason", reason), slog.String("source", p.Source), slog.String("sha256", p.SHA256),
		slog.Duration("compile", p.Compile),
		slog.Int("rules_added", len(d.rulesAdded)), slog.Int("rules_removed", len(d.rulesRemoved)),
		slog.Int("required_added", len(d.requiredAdded)), slog.Int("required_removed", len(d.requiredRemoved)),
		slog.String("changes", d.String()))
	return nil
}

// Watch reloads on SIGHUP and, when interval > 0, every interval, until
// stop is called.
func (l *Live) Watch(interval time.Duration) (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	var tick <-chan time.Time
	var t *time.Ticker
	if interval > 0 {
		t = time.NewTicker(interval)
		tick = t.C
	}
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-done:
				return
			case <-ch:
				_ = l.Reload("SIGHUP")
			case <-tick:
				_ = l.Reload("interval")
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			signal.Stop(ch)
			if t != nil {
				t.Stop()
			}
			close(done)
			<-finished
		})
	}
}

func sameOperations(a, b []validate.Operation) error {
	key := func(ops []validate.Operation) string {
		var parts []string
		for _, o := range ops {
			parts = append(parts, o.ID+" "+o.Method+" "+o.Path+" (name "+o.Name+", fallback "+o.Fallback+")")
		}
		return strings.Join(parts, ", ")
	}
	if ka, kb := key(a), key(b); ka != kb {
		return fmt.Errorf("the operations changed (serving: %s; new: %s): routes are fixed at start-up, restart to change them", ka, kb)
	}
	return nil
}

// change is what a reload changed of what is valid.
type change struct {
	rulesAdded, rulesRemoved, requiredAdded, requiredRemoved []string
}

func (c change) String() string {
	var parts []string
	for _, l := range []struct {
		sign  string
		items []string
	}{{"+rule ", c.rulesAdded}, {"-rule ", c.rulesRemoved}, {"+required ", c.requiredAdded}, {"-required ", c.requiredRemoved}} {
		for _, it := range l.items {
			parts = append(parts, l.sign+it)
		}
	}
	return strings.Join(parts, "; ")
}

// diff compares the rules (schema location and rule id) and the required
// members (schema location and name) of two specs.
func diff(a, b *openapi3.T) change {
	ra, qa := facts(a)
	rb, qb := facts(b)
	return change{rulesAdded: minus(rb, ra), rulesRemoved: minus(ra, rb), requiredAdded: minus(qb, qa), requiredRemoved: minus(qa, qb)}
}

func facts(doc *openapi3.T) (rules, required map[string]bool) {
	rules, required = map[string]bool{}, map[string]bool{}
	if doc == nil || doc.Components == nil {
		return
	}
	var walk func(r *openapi3.SchemaRef, loc string)
	walk = func(r *openapi3.SchemaRef, loc string) {
		if r == nil || r.Value == nil {
			return
		}
		s := r.Value
		for _, n := range s.Required {
			required[loc+" "+n] = true
		}
		if list, ok := s.Extensions["x-orderguard-rules"].([]any); ok {
			for _, e := range list {
				if m, ok := e.(map[string]any); ok {
					if id, ok := m["id"].(string); ok {
						rules[loc+" "+id] = true
					}
				}
			}
		}
		eachSub(r, loc, nil, func(sub *openapi3.SchemaRef, l string) {
			if sub.Ref == "" { // inline only: a $ref is visited as its component
				walk(sub, l)
			}
		})
	}
	for _, n := range sortedKeys(doc.Components.Schemas) {
		walk(doc.Components.Schemas[n], "#/components/schemas/"+n)
	}
	return
}

func minus(a, b map[string]bool) []string {
	var out []string
	for k := range a {
		if !b[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
