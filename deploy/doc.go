// Package deploy holds no code: it is the home of the example Kubernetes
// manifest (kubernetes/sidecar.yaml) and the Grafana dashboard
// (grafana/orderguard.json), and of the test that keeps both honest against a
// real orderguard binary: the manifest's flags exist, its probes hit the admin
// port, and every metric the dashboard queries is exported.
package deploy
