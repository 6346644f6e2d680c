// Command imagebuild is `make image`: it compiles orderguard as a static
// binary and writes its reproducible OCI image under bin/image (an OCI layout
// and a `docker load` tarball), then prints the image digest. No container
// daemon and no network beyond the Go module proxy: internal/image does the
// work with go-containerregistry. The identity comes from the flags, which the
// Makefile computes with git, so that the same commit gives the same digest.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/orderguard/orderguard/internal/image"
)

func main() {
	var m image.Meta
	var created, out, goBin string
	flag.StringVar(&m.Version, "version", "", "module version: the image tag and org.opencontainers.image.version")
	flag.StringVar(&m.Revision, "revision", "", "the commit hash")
	flag.StringVar(&created, "created", "", "the commit time, RFC 3339: every timestamp in the image")
	flag.BoolVar(&m.Modified, "modified", false, "the checkout has uncommitted changes (the image is then not reproducible)")
	flag.StringVar(&out, "out", "bin/image", "directory for the OCI layout (oci/) and the tarball (orderguard.tar)")
	flag.StringVar(&goBin, "go", "go", "the go command")
	arch := flag.String("arch", runtime.GOARCH, "GOARCH of the image")
	flag.Parse()
	t, err := time.Parse(time.RFC3339, created)
	if err != nil {
		fail(fmt.Errorf("-created: %w", err))
	}
	m.Created = t
	if err := run(context.Background(), m, *arch, goBin, out); err != nil {
		fail(err)
	}
}

func run(ctx context.Context, m image.Meta, arch, goBin, out string) error {
	tmp, err := os.MkdirTemp("", "orderguard-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := os.Setenv("GOARCH", arch); err != nil {
		return err
	}
	bin, err := image.Compile(ctx, goBin, ".", tmp, m)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	img, err := image.Build(b, arch, m)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	digest, err := image.Write(img, out, m)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "image %s written to %s and %s\n", m.Tag(), filepath.Join(out, "oci"), filepath.Join(out, "orderguard.tar"))
	fmt.Println(digest)
	return nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "imagebuild:", err)
	os.Exit(1)
}
