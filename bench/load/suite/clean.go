package suite

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// errDirty refuses to publish figures that no commit can reproduce; wrapped
// with what made the tree or the binary dirty.
var errDirty = errors.New("--out writes published figures, which must come from a committed tree; commit (or stash) first, or pass --allow-dirty")

// checkPublishable is run before a suite that writes --out: the figures go
// into bench/results/ and the README, so they must name the commit they were
// measured on. A given binary must record a clean commit in its build info;
// otherwise the checkout it will be built from must have no change outside
// outDir (the previous results there do not change what is measured).
func checkPublishable(ctx context.Context, binary, outDir string) error {
	if binary != "" {
		rev := revision(binary)
		switch {
		case rev == "":
			return fmt.Errorf("%w (%s records no commit in its build info)", errDirty, binary)
		case strings.HasSuffix(rev, "+modified"):
			return fmt.Errorf("%w (%s was built from %s)", errDirty, binary, rev)
		}
		return nil
	}
	root, err := moduleDir(ctx)
	if err != nil {
		return err
	}
	dirty, err := dirtyFiles(ctx, root, outDir)
	if err != nil {
		return err
	}
	if len(dirty) > 0 {
		more := ""
		if len(dirty) > 5 {
			dirty, more = dirty[:5], fmt.Sprintf(" and %d more", len(dirty)-5)
		}
		return fmt.Errorf("%w (changed in %s: %s%s)", errDirty, root, strings.Join(dirty, ", "), more)
	}
	return nil
}

// dirtyFiles lists the paths of the checkout at root that differ from HEAD:
// modified, staged, deleted, and untracked files not ignored (an untracked
// .go file changes the build), except those under outDir.
func dirtyFiles(ctx context.Context, root, outDir string) ([]string, error) {
	out, err := exec.CommandContext(ctx, "git", "-C", root, "status", "--porcelain=v1", "-z").Output()
	if err != nil {
		return nil, fmt.Errorf("--out needs a git checkout to tell the commit (git status in %s: %v); pass --allow-dirty to write anyway", root, err)
	}
	skip := ""
	if outDir != "" {
		abs, err := filepath.Abs(outDir)
		if err != nil {
			return nil, err
		}
		if rel, err := filepath.Rel(root, abs); err == nil && rel != "." && !strings.HasPrefix(rel, "..") {
			skip = filepath.ToSlash(rel) + "/"
		}
	}
	var dirty []string
	entries := strings.Split(string(out), "\x00")
	for i := 0; i < len(entries); i++ {
		e := entries[i]
		if len(e) < 4 {
			continue
		}
		if e[0] == 'R' || e[0] == 'C' {
			i++ // a rename or copy is followed by its source path
		}
		path := e[3:]
		if skip != "" && (strings.HasPrefix(path, skip) || path+"/" == skip) {
			continue
		}
		dirty = append(dirty, path)
	}
	return dirty, nil
}
