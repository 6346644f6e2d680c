// Package image builds orderguard's OCI image without a container daemon:
// one layer holding the static binary, a passwd entry for the non-root user
// and an empty /tmp, on no base image at all (so no shell, no package
// manager, nothing to patch but orderguard itself). Every timestamp in the
// layer and the config is the commit's time, so one commit gives one digest.
//
// CA certificates: the binary embeds Mozilla's roots through
// golang.org/x/crypto/x509roots/fallback (imported by cmd/proxy), used only
// when the system has none, which is the case in this image. That keeps the
// image byte-for-byte the same on every build machine (the roots are pinned
// by go.sum, where a copy of the build host's /etc/ssl bundle would change the
// digest with the host's ca-certificates package), and a bundle mounted at
// /etc/ssl/certs still takes over (SSL_CERT_FILE, SSL_CERT_DIR work too).
package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's fixed facts, which deploy's tests check.
const (
	// Repository is where releases are pushed; deploy/kubernetes names it.
	Repository = "ghcr.io/orderguard/orderguard"
	// Source is the org.opencontainers.image.source label.
	Source = "https://github.com/orderguard/orderguard"
	// BinaryPath is the binary inside the image.
	BinaryPath = "/usr/local/bin/orderguard"
	// UID is the non-root user (and group) the image runs as: distroless's
	// "nonroot", which Kubernetes manifests can name in runAsUser.
	UID = 65532
)

// Meta identifies the build. Version is the image tag (see Tag); Created is
// the commit's time, used for every timestamp.
type Meta struct {
	Version  string
	Revision string
	Created  time.Time
	Modified bool // the checkout had uncommitted changes
}

// Tag is the image's reference: Repository:Version. Version is the module
// version git gives (vX.Y.Z on a tagged commit, else Go's pseudo-version
// v0.0.0-<commit time>-<12 hex of the commit>), with "+" (not allowed in a
// tag) written "-".
func (m Meta) Tag() string {
	return Repository + ":" + strings.ReplaceAll(m.Version, "+", "-")
}

// Compile builds the static binary the image carries, into dir: no cgo,
// paths trimmed, no VCS stamping (Go finds none in a git worktree, and a dirty
// file would change it), the build id emptied, symbol tables stripped, and the
// identity set with the linker, so that the bytes depend on the source and
// Meta only. goBin is the go command; moduleDir the module's root.
func Compile(ctx context.Context, goBin, moduleDir, dir string, m Meta) (string, error) {
	out := filepath.Join(dir, "orderguard")
	pkg := "github.com/orderguard/orderguard/internal/buildinfo"
	ldflags := fmt.Sprintf("-s -w -buildid= -X %[1]s.version=%[2]s -X %[1]s.revision=%[3]s -X %[1]s.commitTime=%[4]s -X %[1]s.modified=%[5]t",
		pkg, m.Version, m.Revision, m.Created.UTC().Format(time.RFC3339), m.Modified)
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-buildvcs=false", "-ldflags="+ldflags, "-o", out, "./cmd/proxy")
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOFLAGS=-mod=readonly")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, b)
	}
	return out, nil
}

// Build assembles the image around binary (the bytes of a static linux
// orderguard) for arch (GOARCH).
func Build(binary []byte, arch string, m Meta) (v1.Image, error) {
	if m.Created.IsZero() || m.Revision == "" || m.Version == "" {
		return nil, errors.New("image: Meta needs a version, a revision and the commit time")
	}
	created := m.Created.UTC().Truncate(time.Second)
	layerTar, err := rootfs(binary, created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{Created: v1.Time{Time: created}, CreatedBy: "orderguard imagebuild", Comment: "static orderguard binary, passwd entry, /tmp"},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = arch, "linux"
	cf.Created = v1.Time{Time: created}
	cf.Author = ""
	cf.Config = v1.Config{
		User:       fmt.Sprintf("%d:%d", UID, UID),
		Entrypoint: []string{BinaryPath},
		Cmd:        []string{"serve"},
		Env:        []string{"PATH=/usr/local/bin", "HOME=/home/nonroot"},
		WorkingDir: "/home/nonroot",
		Labels: map[string]string{
			"org.opencontainers.image.source":   Source,
			"org.opencontainers.image.revision": m.Revision,
			"org.opencontainers.image.version":  m.Version,
			"org.opencontainers.image.created":  created.Format(time.RFC3339),
			"org.opencontainers.image.title":    "orderguard",
		},
	}
	return mutate.ConfigFile(img, cf)
}

// rootfs is the layer's tar: directories first, every entry owned by root
// except the home directory, every time the commit's.
func rootfs(binary []byte, t time.Time) ([]byte, error) {
	type entry struct {
		name string
		mode int64
		uid  int
		body []byte
		dir  bool
	}
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", UID, UID)
	group := fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", UID)
	entries := []entry{
		{name: "etc/", mode: 0o755, dir: true},
		{name: "etc/passwd", mode: 0o644, body: []byte(passwd)},
		{name: "etc/group", mode: 0o644, body: []byte(group)},
		{name: "home/", mode: 0o755, dir: true},
		{name: "home/nonroot/", mode: 0o700, uid: UID, dir: true},
		{name: "tmp/", mode: 0o1777, dir: true},
		{name: "usr/", mode: 0o755, dir: true},
		{name: "usr/local/", mode: 0o755, dir: true},
		{name: "usr/local/bin/", mode: 0o755, dir: true},
		{name: strings.TrimPrefix(BinaryPath, "/"), mode: 0o755, body: binary},
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Uid: e.uid, Gid: e.uid, ModTime: t, Format: tar.FormatUSTAR, Typeflag: tar.TypeReg, Size: int64(len(e.body))}
		if e.dir {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Write puts img under dir as an OCI image layout (dir/oci, tagged with
// m.Tag() in its index) and as a tarball `docker load` reads (dir/orderguard.tar),
// replacing earlier ones, and returns the manifest digest.
func Write(img v1.Image, dir string, m Meta) (v1.Hash, error) {
	digest, err := img.Digest()
	if err != nil {
		return v1.Hash{}, err
	}
	tag, err := name.NewTag(m.Tag(), name.StrictValidation)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("image tag: %w", err)
	}
	ociDir := filepath.Join(dir, "oci")
	if err := os.RemoveAll(ociDir); err != nil {
		return v1.Hash{}, err
	}
	p, err := layout.Write(ociDir, empty.Index)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": tag.TagStr(),
		"io.containerd.image.name":          tag.String(),
	})); err != nil {
		return v1.Hash{}, err
	}
	if err := tarball.WriteToFile(filepath.Join(dir, "orderguard.tar"), tag, img); err != nil {
		return v1.Hash{}, err
	}
	return digest, nil
}
