package standalone

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orderguard/orderguard/internal/testlog"
)

// Addresses of `make run`'s defaults, as the README's examples use them.
const (
	defaultListen = "127.0.0.1:8080"
	defaultAdmin  = "127.0.0.1:9090"
)

var inlineComment = regexp.MustCompile(`(?m)\s+#\s.*$`)

// example is one command of a README block and the output its comment lines
// promise (empty when the command promises nothing but success).
type example struct {
	line    int    // README line of the command
	command string // with its continuation lines
	expect  string // the comment lines right below it, "# " removed, joined
}

// readmeExamples returns the fenced sh blocks of the README whose commands
// (not their comments) talk to `make run`'s listen address, split into
// commands: a command is a line not starting with #, with its `\`
// continuation lines; the comment lines directly below it are its output.
func readmeExamples(t *testing.T, readme string) [][]example {
	t.Helper()
	var blocks [][]example
	lines := strings.Split(readme, "\n")
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```sh" {
			continue
		}
		var block []example
		talks := false
		var cur *example
		inExpect := false
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			l := strings.TrimSpace(lines[i])
			switch {
			case l == "":
				inExpect = false
			case strings.HasPrefix(l, "#"):
				if inExpect && cur != nil {
					cur.expect += strings.TrimSpace(strings.TrimPrefix(l, "#"))
				}
			default:
				block = append(block, example{line: i + 1, command: l})
				cur = &block[len(block)-1]
				for strings.HasSuffix(l, `\`) && i+1 < len(lines) {
					i++
					l = strings.TrimSpace(lines[i])
					cur.command += "\n" + l
				}
				// An inline comment (`make run  # the proxy on 127.0.0.1:8080`)
				// says nothing about what the command talks to.
				if strings.Contains(inlineComment.ReplaceAllString(cur.command, ""), defaultListen) {
					talks = true
				}
				inExpect = true
			}
		}
		if talks {
			blocks = append(blocks, block)
		}
	}
	return blocks
}

// matches reports whether out holds want's pieces in order: want is a
// command's promised output with "..." or "…" standing for anything;
// whitespace is ignored on both sides (the README wraps and spaces JSON).
func matches(out, want string) bool {
	strip := regexp.MustCompile(`\s+`)
	out = strip.ReplaceAllString(out, "")
	for _, piece := range regexp.MustCompile(`\.\.\.|…`).Split(strip.ReplaceAllString(want, ""), -1) {
		piece = strings.TrimSuffix(strings.TrimPrefix(piece, ","), ",")
		k := strings.Index(out, piece)
		if k < 0 {
			return false
		}
		out = out[k+len(piece):]
	}
	return true
}

// TestReadmeExampleSelection: the blocks run are those that talk to make
// run's proxy; a block that runs make itself (the two commands) is not.
func TestReadmeExampleSelection(t *testing.T) {
	readme := "```sh\nmake run    # the proxy on 127.0.0.1:8080\nmake test\n```\n" +
		"```sh\nB=x\n\n# what it is\ncurl -s \\\n  http://127.0.0.1:8080/v2/orders/1\n# {\"status\":...}\n#   ,\"more\":1}\n\n# later\ncurl -s http://127.0.0.1:9090/metrics\n```\n" +
		"```sh\norderguard sandbox --listen 127.0.0.1:8090 &\n```\n"
	blocks := readmeExamples(t, readme)
	if len(blocks) != 1 || len(blocks[0]) != 3 {
		t.Fatalf("blocks %+v: want only the curl block, with its three commands", blocks)
	}
	b := blocks[0]
	if b[1].command != "curl -s \\\nhttp://127.0.0.1:8080/v2/orders/1" || b[1].expect != `{"status":...},"more":1}` || b[0].expect != "" || b[2].expect != "" {
		t.Errorf("commands %+v", b)
	}
}

func TestMatches(t *testing.T) {
	out := `{"status":"success","transaction":"t1","action":"approve","message":"x y"}`
	for want, ok := range map[string]bool{
		`{"status":"success","transaction":"t1","action":"approve",...}`:    true,
		`{"status": "success", ... "message":"x y"}`:                        true,
		`{"status":"success","transaction":"t2",...}`:                       false,
		`{"action":"approve", ... "status":"success"}`:                      false, // order matters
		`{"status":"success","transaction":"t1","action":"approve",…"x y"}`: true,
	} {
		if matches(out, want) != ok {
			t.Errorf("matches(%q) = %v, want %v", want, !ok, ok)
		}
	}
}

// TestReadmeExamples runs the README's examples for `make run` as written,
// with bash and curl, against a real `orderguard serve` with every default
// but its two ports (free ones, substituted into the commands): each command
// exits 0 and prints what its comment lines say.
func TestReadmeExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("builds orderguard and runs a real proxy; not in -short")
	}
	for _, tool := range []string{"bash", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the README's examples need %s: %v", tool, err)
		}
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := readmeExamples(t, string(readme))
	promised := 0
	safe := regexp.MustCompile(`^(curl |[A-Z_]+=\S+$)`)
	for _, b := range blocks {
		for _, ex := range b {
			// The test runs curl and variables only: a block that also runs
			// make, orderguard or rm is a README mistake, not a test step.
			if !safe.MatchString(ex.command) {
				t.Fatalf("README line %d: %q: a block for make run's defaults should hold curl commands and variables only", ex.line, ex.command)
			}
			if ex.expect != "" {
				promised++
			}
		}
	}
	if len(blocks) < 3 || promised < 5 {
		t.Fatalf("%d blocks with %d promised outputs found: the README's examples for make run are missing or not recognised", len(blocks), promised)
	}

	bin := filepath.Join(t.TempDir(), "orderguard")
	build := exec.Command("go", "build", "-o", bin, "./cmd/proxy")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	listen, admin := freeAddr(t), freeAddr(t)
	startServe(t, bin, listen, admin)

	for bi, block := range blocks {
		t.Run(fmt.Sprintf("line %d", block[0].line), func(t *testing.T) {
			// One bash process per block, so that B=… carries over; each
			// command's output and exit status are framed by markers.
			var script strings.Builder
			for i, ex := range block {
				cmd := strings.NewReplacer(defaultListen, listen, defaultAdmin, admin).Replace(ex.command)
				fmt.Fprintf(&script, "echo '@@begin %d'\n%s\necho\necho \"@@end %d $?\"\n", i, cmd, i)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			sh := exec.CommandContext(ctx, "bash", "-c", script.String())
			sh.Dir = root // "From the repository"
			out, err := sh.CombinedOutput()
			if err != nil {
				t.Fatalf("block %d: %v\n%s", bi, err, out)
			}
			for i, ex := range block {
				got, code, ok := framed(string(out), i)
				switch {
				case !ok:
					t.Errorf("README line %d: no output framed for %q:\n%s", ex.line, ex.command, out)
				case code != 0:
					t.Errorf("README line %d: %q exited %d:\n%s", ex.line, ex.command, code, got)
				case ex.expect != "" && !matches(got, ex.expect):
					t.Errorf("README line %d: %q printed\n%s\nwhich does not match the README's\n%s", ex.line, ex.command, got, ex.expect)
				}
			}
		})
	}
}

// framed cuts command i's output and exit status out of the block's output.
func framed(out string, i int) (text string, code int, ok bool) {
	begin := fmt.Sprintf("@@begin %d\n", i)
	b := strings.Index(out, begin)
	if b < 0 {
		return "", 0, false
	}
	rest := out[b+len(begin):]
	end := fmt.Sprintf("@@end %d ", i)
	e := strings.Index(rest, end)
	if e < 0 {
		return "", 0, false
	}
	codeText, _, _ := strings.Cut(rest[e+len(end):], "\n")
	code, err := strconv.Atoi(codeText)
	return rest[:e], code, err == nil
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServe runs `orderguard serve` with every default but the two
// addresses, in an empty directory (its outbox is data/outbox.db there, as
// with make run), until the test ends; it returns once the proxy serves.
func startServe(t *testing.T, bin, listen, admin string) {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--listen", listen, "--admin-listen", admin)
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + cmd.Dir}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := &testlog.Buffer{}
	serving := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(io.TeeReader(stderr, logs))
		for sc.Scan() {
			if strings.Contains(sc.Text(), `"msg":"orderguard serving"`) {
				close(serving)
				break
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("orderguard serve's log:\n%s", logs.String())
		}
	})
	select {
	case <-serving:
	case <-time.After(30 * time.Second):
		t.Fatalf("orderguard serve did not start within 30s:\n%s", logs.String())
	}
}
