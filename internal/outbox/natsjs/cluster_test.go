package natsjs

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// cluster is three real JetStream servers routed together on loopback.
type cluster struct {
	opts    []*server.Options
	servers []*server.Server
}

func startCluster(t *testing.T) *cluster { return startClusterB(t) }

func startClusterB(t testing.TB) *cluster {
	c := &cluster{}
	var routes []string
	cports := []int{freePort(t), freePort(t), freePort(t)}
	for _, p := range cports {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", p))
	}
	for i := range 3 {
		o := &server.Options{
			ServerName: fmt.Sprintf("n%d", i), Host: "127.0.0.1", Port: freePort(t),
			JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true,
			Cluster: server.ClusterOpts{Name: "og", Host: "127.0.0.1", Port: cports[i]},
			Routes:  server.RoutesFromStr(strings.Join(routes, ",")),
		}
		c.opts = append(c.opts, o)
		c.servers = append(c.servers, startWith(t, o))
	}
	return c
}

func (c *cluster) urls() string {
	var u []string
	for _, o := range c.opts {
		u = append(u, fmt.Sprintf("nats://127.0.0.1:%d", o.Port))
	}
	return strings.Join(u, ",")
}

// A 3-node cluster, R3 streams: the stream's leader is killed with requests
// kept; enqueues go on (the other two hold a quorum), nothing acknowledged is
// lost; the node comes back and delivery completes.
func TestClusterLeaderLoss(t *testing.T) {
	c := startCluster(t)
	var s *Store
	waitFor(t, "the cluster takes an R3 stream", 30*time.Second, func() bool {
		var err error
		s, err = Open(c.urls(), Options{Replicas: 3, Timeout: 3 * time.Second, AckWait: 2 * time.Second})
		return err == nil
	})
	defer s.Close()
	kept := map[string]bool{}
	add := func(prefix string, n int) {
		for i := range n {
			id := fmt.Sprintf("%s-%d", prefix, i)
			if err := s.Enqueue(request("orderV2", id)); err == nil {
				kept["/v2/orders/"+id] = true
			}
		}
	}
	add("BEFORE", 20) // Forter is "down": nothing is delivered yet
	ctx := t.Context()
	info, err := s.pending.Info(ctx)
	if err != nil || info.Cluster == nil {
		t.Fatalf("stream info: %v %+v", err, info)
	}
	leader := -1
	for i, o := range c.opts {
		if o.ServerName == info.Cluster.Leader {
			leader = i
		}
	}
	if leader < 0 {
		t.Fatalf("no leader among the nodes: %q", info.Cluster.Leader)
	}
	c.servers[leader].Shutdown()
	c.servers[leader].WaitForShutdown()
	// Enqueue during the election and after: each one answered nil is kept.
	deadline := time.Now().Add(10 * time.Second)
	for len(kept) < 40 && time.Now().Before(deadline) {
		add(fmt.Sprintf("DURING%d", len(kept)), 1)
	}
	if len(kept) < 40 {
		t.Fatalf("only %d enqueues kept within 10s of the leader's loss", len(kept))
	}
	c.servers[leader] = startWith(t, c.opts[leader])

	up := &counting{}
	srv := httptest.NewServer(http.HandlerFunc(up.serve))
	defer srv.Close()
	runResender(t, s, srv.URL)
	waitFor(t, "every kept request delivered", 30*time.Second, func() bool {
		got := map[string]bool{}
		for _, p := range up.got() {
			got[p] = true
		}
		for p := range kept {
			if !got[p] {
				return false
			}
		}
		return true
	})
	waitFor(t, "the queue empties", 10*time.Second, func() bool { st, err := s.Stats(); return err == nil && st.Pending == 0 })
}
