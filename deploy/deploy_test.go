package deploy

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"gopkg.in/yaml.v3"

	"github.com/orderguard/orderguard/internal/image"
)

// binary is orderguard as the image carries it, taken out of the image's
// layer: compiled once (image.Compile) for the package's tests, so that the
// manifest is checked against the binary that would run in the pod.
var binary string

// img is the image built around it, and meta its identity (this commit's).
var (
	img  v1.Image
	meta image.Meta
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "orderguard-deploy-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	err = buildImage(dir)
	code := 1
	if err == nil {
		code = m.Run()
	} else {
		fmt.Fprintln(os.Stderr, "build the image:", err)
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildImage compiles orderguard as `make image` does, builds the image and
// extracts its binary into dir.
func buildImage(dir string) error {
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	meta = commitMeta()
	compiled, err := image.Compile(context.Background(), gobin, "..", dir, meta)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(compiled)
	if err != nil {
		return err
	}
	if img, err = image.Build(b, runtime.GOARCH, meta); err != nil {
		return err
	}
	files, err := layerFiles(img)
	if err != nil {
		return err
	}
	f, ok := files[strings.TrimPrefix(image.BinaryPath, "/")]
	if !ok {
		return fmt.Errorf("no %s in the image", image.BinaryPath)
	}
	binary = filepath.Join(dir, "from-image", "orderguard")
	if err := os.MkdirAll(filepath.Dir(binary), 0o755); err != nil {
		return err
	}
	return os.WriteFile(binary, f.body, 0o755)
}

// commitMeta is HEAD's identity as the Makefile computes it; outside a git
// checkout, a fixed one (the image tests need some identity, not this one).
func commitMeta() image.Meta {
	git := func(args ...string) string {
		out, err := exec.Command("git", args...).Output()
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(out))
	}
	m := image.Meta{Version: "v0.0.0-19700101000000-000000000000", Revision: strings.Repeat("0", 40), Created: time.Unix(0, 0)}
	if rev := git("rev-parse", "HEAD"); rev != "" {
		m.Revision = rev
		m.Created, _ = time.Parse(time.RFC3339, git("log", "-1", "--format=%cI"))
		m.Version = "v0.0.0-" + m.Created.UTC().Format("20060102150405") + "-" + rev[:12]
	}
	return m
}

type layerFile struct {
	hdr  *tar.Header
	body []byte
}

// layerFiles reads the image's only layer.
func layerFiles(img v1.Image) (map[string]layerFile, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	if len(layers) != 1 {
		return nil, fmt.Errorf("%d layers, want 1", len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	files := map[string]layerFile{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		files[h.Name] = layerFile{h, body}
	}
}

// Only the parts of the manifest the tests read.
type manifest struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		Template struct {
			Spec podSpec `yaml:"spec"`
		} `yaml:"template"`
		VolumeClaimTemplates []struct {
			Metadata struct {
				Name string `yaml:"name"`
			} `yaml:"metadata"`
		} `yaml:"volumeClaimTemplates"`
	} `yaml:"spec"`
}

type podSpec struct {
	SecurityContext struct {
		RunAsNonRoot *bool `yaml:"runAsNonRoot"`
		RunAsUser    *int  `yaml:"runAsUser"`
		FSGroup      *int  `yaml:"fsGroup"`
	} `yaml:"securityContext"`
	Containers []container `yaml:"containers"`
	Volumes    []struct {
		Name   string `yaml:"name"`
		Secret *struct {
			SecretName string `yaml:"secretName"`
		} `yaml:"secret"`
	} `yaml:"volumes"`
}

type container struct {
	Name  string   `yaml:"name"`
	Image string   `yaml:"image"`
	Args  []string `yaml:"args"`
	Env   []struct {
		Name      string         `yaml:"name"`
		Value     string         `yaml:"value"`
		ValueFrom map[string]any `yaml:"valueFrom"`
	} `yaml:"env"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	StartupProbe   *probe `yaml:"startupProbe"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
	} `yaml:"resources"`
	SecurityContext struct {
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
		Capabilities             struct {
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
}

type probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"`
	} `yaml:"httpGet"`
}

func loadManifests(t *testing.T) []manifest {
	t.Helper()
	return loadManifestFile(t, "kubernetes/sidecar.yaml")
}

func loadManifestFile(t *testing.T, path string) []manifest {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []manifest
	for {
		var m manifest
		err := dec.Decode(&m)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s document %d: %v", path, len(out)+1, err)
		}
		out = append(out, m)
	}
	return out
}

// orderguardContainer returns the pod spec and the orderguard container.
func orderguardContainer(t *testing.T) (podSpec, container, manifest) {
	t.Helper()
	for _, m := range loadManifests(t) {
		if m.Kind != "StatefulSet" && m.Kind != "Deployment" {
			continue
		}
		for _, c := range m.Spec.Template.Spec.Containers {
			if c.Name == "orderguard" {
				return m.Spec.Template.Spec, c, m
			}
		}
	}
	t.Fatal("sidecar.yaml has no workload with an orderguard container")
	return podSpec{}, container{}, manifest{}
}

// flagValue returns the value of --name=value in args.
func flagValue(args []string, name string) (string, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

func TestManifestSidecar(t *testing.T) {
	pod, og, m := orderguardContainer(t)
	if len(pod.Containers) < 2 {
		t.Errorf("the pod has %d containers, want the checkout app beside orderguard", len(pod.Containers))
	}
	if v, _ := flagValue(og.Args, "listen"); !strings.HasPrefix(v, "127.0.0.1:") && !strings.HasPrefix(v, "unix:") {
		t.Errorf("--listen=%q: a sidecar listens on loopback or a socket", v)
	}

	// Probes: /healthz and /readyz on the admin port, which --admin-listen serves.
	admin, ok := flagValue(og.Args, "admin-listen")
	if !ok {
		t.Fatal("no --admin-listen: probes and metrics need it")
	}
	_, adminPort, err := net.SplitHostPort(admin)
	if err != nil {
		t.Fatal(err)
	}
	ports := map[string]int{}
	for _, p := range og.Ports {
		ports[p.Name] = p.ContainerPort
	}
	paths := map[string]bool{}
	for name, p := range map[string]*probe{"startup": og.StartupProbe, "readiness": og.ReadinessProbe, "liveness": og.LivenessProbe} {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("no %s probe", name)
			continue
		}
		paths[p.HTTPGet.Path] = true
		port := fmt.Sprint(p.HTTPGet.Port)
		if n, ok := ports[port]; ok {
			port = fmt.Sprint(n)
		}
		if port != adminPort {
			t.Errorf("%s probe on port %s, want the admin port %s", name, port, adminPort)
		}
	}
	if !paths["/healthz"] || !paths["/readyz"] {
		t.Errorf("probe paths %v, want /healthz and /readyz", paths)
	}
	if og.LivenessProbe != nil && og.LivenessProbe.HTTPGet != nil && og.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Error("liveness must be /healthz: an upstream outage must not restart the proxy")
	}

	// The API key comes from a Secret mounted as a file, never from a value.
	keyFile, ok := flagValue(og.Args, "api-key-file")
	if !ok {
		t.Fatal("no --api-key-file")
	}
	secretVolumes := map[string]bool{}
	for _, v := range pod.Volumes {
		if v.Secret != nil {
			secretVolumes[v.Name] = true
		}
	}
	mountOf := func(path string) (name string, readOnly bool) {
		best := ""
		for _, vm := range og.VolumeMounts {
			if strings.HasPrefix(path, vm.MountPath+"/") && len(vm.MountPath) > len(best) {
				best, name, readOnly = vm.MountPath, vm.Name, vm.ReadOnly
			}
		}
		return name, readOnly
	}
	if name, ro := mountOf(keyFile); !secretVolumes[name] || !ro {
		t.Errorf("--api-key-file %s is not on a read-only Secret volume (volume %q)", keyFile, name)
	}
	for _, e := range og.Env {
		if e.Name == "ORDERGUARD_API_KEY" && e.Value != "" {
			t.Error("ORDERGUARD_API_KEY given as a literal value in the manifest")
		}
	}

	// The outbox lives on its own persistent volume.
	outboxPath, ok := flagValue(og.Args, "outbox")
	if !ok {
		t.Fatal("no --outbox")
	}
	name, ro := mountOf(outboxPath)
	claims := map[string]bool{}
	for _, c := range m.Spec.VolumeClaimTemplates {
		claims[c.Metadata.Name] = true
	}
	if !claims[name] || ro {
		t.Errorf("--outbox %s is not on a writable volume claim (volume %q, claims %v)", outboxPath, name, claims)
	}

	// Hardening and resources, for every container of the pod.
	if pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
		t.Error("pod securityContext.runAsNonRoot is not true")
	}
	if pod.SecurityContext.FSGroup == nil {
		t.Error("pod securityContext.fsGroup unset: the non-root proxy could not write the outbox volume")
	}
	for _, c := range pod.Containers {
		sc := c.SecurityContext
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("%s: readOnlyRootFilesystem is not true", c.Name)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s: allowPrivilegeEscalation is not false", c.Name)
		}
		if !slices.Contains(sc.Capabilities.Drop, "ALL") {
			t.Errorf("%s: capabilities not dropped", c.Name)
		}
		if c.Resources.Requests["cpu"] == "" || c.Resources.Requests["memory"] == "" {
			t.Errorf("%s: no cpu and memory requests", c.Name)
		}
	}
}

// Every flag the manifest passes to orderguard serve exists.
func TestManifestFlagsExist(t *testing.T) {
	_, og, _ := orderguardContainer(t)
	if len(og.Args) == 0 || og.Args[0] != "serve" {
		t.Fatalf("args %v do not start with serve", og.Args)
	}
	checkServeFlags(t, "sidecar.yaml", og.Args[1:])
}

// checkServeFlags fails for every argument that orderguard serve does not know.
func checkServeFlags(t *testing.T, file string, args []string) {
	t.Helper()
	out, err := exec.Command(binary, "serve", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("serve --help: %v\n%s", err, out)
	}
	for _, a := range args {
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		// --help lists each flag as "  --name type" (internal/cli).
		listed := regexp.MustCompile(`(?m)^  --` + regexp.QuoteMeta(name) + `( \S+)?$`)
		if !strings.HasPrefix(a, "--") || !listed.Match(out) {
			t.Errorf("%s passes %q, which orderguard serve does not know", file, a)
		}
	}
}

type dashboard struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID      int    `json:"id"`
		Type    string `json:"type"`
		Title   string `json:"title"`
		Targets []struct {
			Expr  string `json:"expr"`
			RefID string `json:"refId"`
		} `json:"targets"`
		GridPos struct{ X, Y, W, H int } `json:"gridPos"`
	} `json:"panels"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	data, err := os.ReadFile("grafana/orderguard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("orderguard.json: %v", err)
	}
	return d
}

var metricName = regexp.MustCompile(`\borderguard_[a-z0-9_]+`)

// dashboardMetrics returns the metric names the dashboard's queries use.
func dashboardMetrics(d dashboard) []string {
	seen := map[string]bool{}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			for _, m := range metricName.FindAllString(tg.Expr, -1) {
				seen[m] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for m := range seen {
		out = append(out, m)
	}
	slices.Sort(out)
	return out
}

func TestDashboardShape(t *testing.T) {
	d := loadDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Error("dashboard without uid or title")
	}
	hasDS := false
	for _, v := range d.Templating.List {
		hasDS = hasDS || (v.Name == "datasource" && v.Type == "datasource")
	}
	if !hasDS {
		t.Error("no datasource variable: the dashboard would be tied to one Prometheus")
	}
	ids := map[int]bool{}
	queries := 0
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.W <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: grid position %+v outside the 24 columns", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			queries++
			if tg.Expr == "" || tg.RefID == "" || refs[tg.RefID] {
				t.Errorf("panel %q: query %q with refId %q", p.Title, tg.Expr, tg.RefID)
			}
			refs[tg.RefID] = true
			if strings.Count(tg.Expr, "(") != strings.Count(tg.Expr, ")") ||
				strings.Count(tg.Expr, "{") != strings.Count(tg.Expr, "}") {
				t.Errorf("panel %q: unbalanced query %q", p.Title, tg.Expr)
			}
		}
	}
	if queries < 10 {
		t.Errorf("%d queries: the dashboard should show the main metrics", queries)
	}
	for _, want := range []string{"orderguard_requests_total", "orderguard_violations_total",
		"orderguard_request_duration_seconds_bucket", "orderguard_upstream_duration_seconds_bucket",
		"orderguard_validation_duration_seconds_bucket", "orderguard_circuit_state",
		"orderguard_outbox_depth", "orderguard_outbox_oldest_age_seconds", "orderguard_response_drift_total",
		"orderguard_upstream_tls_handshakes_total", "orderguard_upstream_retries_total"} {
		if !slices.Contains(dashboardMetrics(d), want) {
			t.Errorf("the dashboard does not show %s", want)
		}
	}
}

// Every metric the dashboard queries is exported by a real proxy's /metrics.
func TestDashboardMetricsExported(t *testing.T) {
	d := loadDashboard(t)
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "inbound-secret")
	if err := os.WriteFile(secretFile, []byte("deploy-test-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "og.sock")
	adminAddr := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "serve",
		"--listen=unix:"+sock, "--admin-listen="+adminAddr,
		"--outbox="+filepath.Join(dir, "outbox.db"),
		"--inbound-secret-file="+secretFile, "--log-level=warn")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("orderguard output:\n%s", logs.String())
		}
	}()
	waitReady(t, "http://"+adminAddr+"/readyz")

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
	order, err := os.ReadFile("../internal/sandbox/testdata/recorded/order-request/workarea_01_get-decision_approve.json")
	if err != nil {
		order = []byte(`{"orderId":"x"}`)
	}
	// A valid order, an invalid one (so violation series exist), and one
	// without the inbound secret.
	for i, body := range [][]byte{order, []byte(`{"orderId":1}`), nil} {
		req, _ := http.NewRequest("POST", "http://orderguard/v2/orders/deploy"+fmt.Sprint(i), bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("api-version", "2.36")
		if body != nil {
			req.Header.Set("X-Orderguard-Secret", "deploy-test-secret")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		resp.Body.Close()
	}

	resp, err := http.Get("http://" + adminAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	exported := map[string]string{} // family name → type
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			exported[f[2]] = f[3]
		}
	}
	for _, m := range dashboardMetrics(d) {
		base := m
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(m, suffix); ok && exported[b] == "histogram" {
				base = b
			}
		}
		if _, ok := exported[base]; !ok {
			t.Errorf("the dashboard queries %s, which the proxy does not export", m)
		}
	}
	// Prometheus naming: counters end in _total, durations in _seconds.
	for name, typ := range exported {
		if !strings.HasPrefix(name, "orderguard_") {
			continue
		}
		if typ == "counter" && !strings.HasSuffix(name, "_total") {
			t.Errorf("counter %s does not end in _total", name)
		}
		if (strings.Contains(name, "duration") || strings.Contains(name, "age")) && !strings.HasSuffix(name, "_seconds") {
			t.Errorf("%s is a time but does not end in _seconds", name)
		}
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// waitReady polls url until it answers 200. The bound keeps a proxy that
// never gets ready from hanging the run; it is not a timing assertion.
func waitReady(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
