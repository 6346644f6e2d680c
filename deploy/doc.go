// Package deploy holds no code: it is the home of the example Kubernetes
// manifest (kubernetes/sidecar.yaml) and the Grafana dashboard
// (grafana/orderguard.json), and of the test that keeps both honest against a
// real orderguard binary, the one inside the image `make image` builds
// (internal/image): the image runs as 65532 with no shell and the labels of its
// commit, rebuilding it gives the same digest, the manifest names it and its
// flags exist in that binary, its probes hit the admin port, and every metric
// the dashboard queries is exported.
package deploy
