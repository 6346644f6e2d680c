package sandbox

import (
	"strconv"
	"sync"
	"time"

	"github.com/orderguard/orderguard/gen"
)

// Endpoint names used by the received log: an operation's id (endpointOf),
// except that every Accounts event counts under accounts and claims under
// claims.
const (
	EndpointOrderV2     = gen.OpOrderV2    // POST /v2/orders/{orderId}
	EndpointOrderV3     = gen.OpOrderV3    // POST /v3/orders/{orderId}
	EndpointStatusPost  = gen.OpStatusPost // POST /v2/status/{orderId}
	EndpointStatusPut   = gen.OpStatusPut  // PUT /v2/status/{orderId}
	EndpointAccounts    = "accounts"       // POST /v2/accounts/{event}/{accountId}
	EndpointClaims      = "claims"         // POST /v2/claims
	EndpointCredentials = "credentials"    // GET /credentials/test
	EndpointNotFound    = "notFound"       // anything else (answered 404)
)

// Outcome labels in Counts.Status for requests that got no HTTP answer.
const (
	StatusHang  = "hang"
	StatusReset = "reset"
)

// Counts are the requests one endpoint (or one order on it) received.
type Counts struct {
	// Received counts arrivals, whatever the answer (faults included).
	Received uint64 `json:"received"`
	// OK counts 2xx answers: the requests a client saw succeed.
	OK uint64 `json:"ok"`
	// Status counts answers by HTTP status code, plus "hang" and "reset".
	Status map[string]uint64 `json:"status,omitempty"`
}

// OrderCounts are the counts of one order id on one endpoint.
type OrderCounts struct {
	Endpoint string `json:"endpoint"`
	ID       string `json:"id"`
	Counts
}

// Received is a snapshot of the received log, as GET /_sandbox/received
// answers it.
type Received struct {
	Total     uint64            `json:"total"`
	Endpoints map[string]Counts `json:"endpoints"`
	// Orders holds the most recently first-seen (endpoint, id) pairs, oldest
	// first; at most Config.ReceivedMax of them.
	Orders []OrderCounts `json:"orders"`
	// OrdersDropped counts pairs pushed out of Orders by newer ones.
	OrdersDropped uint64 `json:"ordersDropped"`
	// Arrivals are the most recent requests to a known endpoint with the
	// time each arrived, oldest first; at most Config.ReceivedMax of them.
	// A rate is measured from them (requests per second at "Forter").
	Arrivals []Arrival `json:"arrivals"`
}

// Arrival is one request as it arrived: when, where, for which order id.
type Arrival struct {
	At       time.Time `json:"at"`
	Endpoint string    `json:"endpoint"`
	ID       string    `json:"id,omitempty"`
}

// Order returns the counts of one order id on one endpoint (zero if never
// seen or pushed out).
func (r Received) Order(endpoint, id string) Counts {
	for _, o := range r.Orders {
		if o.Endpoint == endpoint && o.ID == id {
			return o.Counts
		}
	}
	return Counts{}
}

type orderKey struct{ endpoint, id string }

// recorder is the bounded received log. One mutex: the sandbox is a test
// double, and a lock held for a map update does not show at its rates.
type recorder struct {
	mu        sync.Mutex
	max       int
	total     uint64
	endpoints map[string]*Counts
	orders    map[orderKey]*Counts
	fifo      []orderKey // first-seen order; fifo[head:] is live
	head      int
	dropped   uint64
	arrivals  []Arrival // a ring of at most max; next is the oldest once full
	next      int
}

func newRecorder(max int) *recorder {
	if max <= 0 {
		max = DefaultReceivedMax
	}
	return &recorder{max: max, endpoints: map[string]*Counts{}, orders: map[orderKey]*Counts{}}
}

// arrive records one arrival; id may be empty (no per-order entry).
func (r *recorder) arrive(endpoint, id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.total++
	r.endpoint(endpoint).Received++
	if endpoint != EndpointNotFound {
		a := Arrival{At: time.Now(), Endpoint: endpoint, ID: id}
		if len(r.arrivals) < r.max {
			r.arrivals = append(r.arrivals, a)
		} else {
			r.arrivals[r.next] = a
			r.next = (r.next + 1) % r.max
		}
	}
	if id == "" {
		return
	}
	k := orderKey{endpoint, id}
	c, ok := r.orders[k]
	if !ok {
		if len(r.orders) >= r.max {
			old := r.fifo[r.head]
			r.fifo[r.head] = orderKey{}
			r.head++
			delete(r.orders, old)
			r.dropped++
		}
		// Compact the queue once half of it is dead, so it stays O(max).
		if r.head > r.max {
			r.fifo = append(r.fifo[:0], r.fifo[r.head:]...)
			r.head = 0
		}
		c = &Counts{}
		r.orders[k] = c
		r.fifo = append(r.fifo, k)
	}
	c.Received++
}

// answer records how a request was answered: an HTTP status, or StatusHang
// or StatusReset.
func (r *recorder) answer(endpoint, id string, status int, label string) {
	ok := false
	if label == "" {
		label = strconv.Itoa(status)
		ok = status >= 200 && status < 300
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	add(r.endpoint(endpoint), label, ok)
	if id != "" {
		if c, found := r.orders[orderKey{endpoint, id}]; found {
			add(c, label, ok)
		}
	}
}

func add(c *Counts, label string, ok bool) {
	if ok {
		c.OK++
	}
	if c.Status == nil {
		c.Status = map[string]uint64{}
	}
	c.Status[label]++
}

func (r *recorder) endpoint(name string) *Counts {
	c, ok := r.endpoints[name]
	if !ok {
		c = &Counts{}
		r.endpoints[name] = c
	}
	return c
}

func (r *recorder) snapshot() Received {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Received{
		Total:         r.total,
		Endpoints:     make(map[string]Counts, len(r.endpoints)),
		Orders:        make([]OrderCounts, 0, len(r.orders)),
		OrdersDropped: r.dropped,
	}
	for name, c := range r.endpoints {
		s.Endpoints[name] = copyCounts(c)
	}
	for _, k := range r.fifo[r.head:] {
		s.Orders = append(s.Orders, OrderCounts{Endpoint: k.endpoint, ID: k.id, Counts: copyCounts(r.orders[k])})
	}
	s.Arrivals = make([]Arrival, 0, len(r.arrivals))
	s.Arrivals = append(s.Arrivals, r.arrivals[r.next:]...)
	s.Arrivals = append(s.Arrivals, r.arrivals[:r.next]...)
	return s
}

func copyCounts(c *Counts) Counts {
	out := Counts{Received: c.Received, OK: c.OK}
	if c.Status != nil {
		out.Status = make(map[string]uint64, len(c.Status))
		for k, v := range c.Status {
			out.Status[k] = v
		}
	}
	return out
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.total, r.dropped, r.head = 0, 0, 0
	r.endpoints = map[string]*Counts{}
	r.orders = map[orderKey]*Counts{}
	r.fifo = nil
	r.arrivals, r.next = nil, 0
}
