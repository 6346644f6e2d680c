package deploy

import (
	"bytes"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/orderguard/orderguard/internal/image"
)

// The same binary and commit give the same image, byte for byte: built again,
// written as a layout and read back, the digest does not change. (The binary
// itself is reproducible by -trimpath and the fixed flags of image.Compile;
// `make image` twice checks the whole chain.)
func TestImageReproducible(t *testing.T) {
	want, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	files, err := layerFiles(img)
	if err != nil {
		t.Fatal(err)
	}
	again, err := image.Build(files[strings.TrimPrefix(image.BinaryPath, "/")].body, runtime.GOARCH, meta)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := again.Digest(); got != want {
		t.Errorf("second build: digest %s, want %s", got, want)
	}

	dir := t.TempDir()
	written, err := image.Write(img, dir, meta)
	if err != nil {
		t.Fatal(err)
	}
	if written != want {
		t.Errorf("Write returned %s, want %s", written, want)
	}
	ii, err := layout.ImageIndexFromPath(filepath.Join(dir, "oci"))
	if err != nil {
		t.Fatal(err)
	}
	im, err := ii.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Digest != want ||
		im.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != strings.TrimPrefix(meta.Tag(), image.Repository+":") {
		t.Errorf("OCI layout index: %+v, want one manifest %s tagged %s", im.Manifests, want, meta.Tag())
	}
	// The tarball is what `docker load` reads: its manifest.json names the tag,
	// and its config is the image's.
	tb, err := tarball.ImageFromPath(filepath.Join(dir, "orderguard.tar"), nil)
	if err != nil {
		t.Fatal(err)
	}
	c1, _ := tb.ConfigName()
	c2, _ := img.ConfigName()
	if c1 != c2 {
		t.Errorf("tarball config %s, want %s", c1, c2)
	}
	if m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(filepath.Join(dir, "orderguard.tar")) }); err != nil ||
		len(m) != 1 || !slices.Equal(m[0].RepoTags, []string{meta.Tag()}) {
		t.Errorf("tarball manifest.json: %+v %v, want RepoTags [%s]", m, err, meta.Tag())
	}
}

func TestImageConfig(t *testing.T) {
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if c.User != "65532:65532" {
		t.Errorf("user %q, want 65532:65532", c.User)
	}
	if !slices.Equal(c.Entrypoint, []string{"/usr/local/bin/orderguard"}) || !slices.Equal(c.Cmd, []string{"serve"}) {
		t.Errorf("entrypoint %q cmd %q, want [/usr/local/bin/orderguard] [serve]", c.Entrypoint, c.Cmd)
	}
	created := meta.Created.UTC().Format(time.RFC3339)
	for k, v := range map[string]string{
		"org.opencontainers.image.source":   "https://github.com/orderguard/orderguard",
		"org.opencontainers.image.revision": meta.Revision,
		"org.opencontainers.image.version":  meta.Version,
		"org.opencontainers.image.created":  created,
	} {
		if c.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, c.Labels[k], v)
		}
	}
	if !cf.Created.Time.Equal(meta.Created.Truncate(time.Second)) || len(cf.History) != 1 || !cf.History[0].Created.Time.Equal(cf.Created.Time) {
		t.Errorf("config created %v, history %+v: want the commit time %v everywhere", cf.Created, cf.History, meta.Created)
	}

	files, err := layerFiles(img)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for name, f := range files {
		names = append(names, name)
		if !f.hdr.ModTime.Equal(cf.Created.Time) {
			t.Errorf("%s: mtime %v, want the commit time", name, f.hdr.ModTime)
		}
		if base := filepath.Base(name); slices.Contains([]string{"sh", "bash", "ash", "dash", "busybox"}, base) {
			t.Errorf("the image has a shell: %s", name)
		}
	}
	slices.Sort(names)
	want := []string{"etc/", "etc/group", "etc/passwd", "home/", "home/nonroot/", "tmp/", "usr/", "usr/local/", "usr/local/bin/", "usr/local/bin/orderguard"}
	if !slices.Equal(names, want) {
		t.Errorf("layer holds %q, want %q", names, want)
	}
	if !bytes.Contains(files["etc/passwd"].body, []byte("nonroot:x:65532:65532:")) {
		t.Errorf("/etc/passwd has no nonroot 65532: %q", files["etc/passwd"].body)
	}

	// Static: no program interpreter (dynamic loader) to find in an image
	// with no libc.
	f, err := elf.Open(binary)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary is dynamically linked (PT_INTERP)")
		}
	}
	// The binary inside says the build the labels say.
	out, err := exec.Command(binary, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if wantLine := "orderguard " + meta.Version + " commit " + meta.Revision + " built " + created + " "; !strings.HasPrefix(string(out), wantLine) {
		t.Errorf("version in the image: %q, want prefix %q", out, wantLine)
	}
}

// The manifest runs the image this repository builds, as the user it was
// built for, under a tag of the convention image.Meta.Tag documents.
func TestManifestImage(t *testing.T) {
	pod, og, _ := orderguardContainer(t)
	repo, tag, ok := strings.Cut(og.Image, ":")
	if !ok || repo != image.Repository {
		t.Fatalf("orderguard image %q, want %s:<tag>", og.Image, image.Repository)
	}
	if !regexp.MustCompile(`^v\d+\.\d+\.\d+(-\d{14}-[0-9a-f]{12})?$`).MatchString(tag) {
		t.Errorf("tag %q is neither vX.Y.Z nor a pseudo-version v0.0.0-<yyyymmddhhmmss>-<12 hex>", tag)
	}
	if pod.SecurityContext.RunAsUser == nil || *pod.SecurityContext.RunAsUser != image.UID {
		t.Errorf("runAsUser %v, want the image's user %d", pod.SecurityContext.RunAsUser, image.UID)
	}
}
