// Command load runs docker-ecr-cache many times at once against an
// in-process registry on loopback and one Docker daemon, checks that the
// runs agree with each other and with the registry, and reports wall time
// and peak RSS per process. bench/load.sh drives it.
//
// Groups, one after the other, each run all at once:
//   - distinct: N runs with N different keys (all misses);
//   - same:     N runs with one key (one build wanted, the others waiting
//     on the build lock in a lock directory shared by all the runs);
//   - hit:      N runs of that key again (all hits, image on the daemon).
//
// It exits 1 when an invariant fails, unless -report-only.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

const dockerfile = `FROM scratch
COPY busybox /bin/busybox
ARG N
RUN ["/bin/busybox", "sh", "-c", "echo $N > /n"]
`

type run struct {
	group   string
	i       int
	code    int
	err     error
	wall    time.Duration
	rssKB   int64
	outputs map[string]string
	log     string
}

func main() {
	bin := flag.String("bin", "bin/docker-ecr-cache", "the built command")
	n := flag.Int("runs", 20, "runs per group")
	timeout := flag.Duration("timeout", 5*time.Minute, "limit for the whole load")
	reportOnly := flag.Bool("report-only", os.Getenv("LOAD_REPORT_ONLY") == "1", "report failed invariants without failing")
	flag.Parse()
	if err := realMain(*bin, *n, *timeout, *reportOnly); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func realMain(bin string, n int, timeout time.Duration, reportOnly bool) error {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "docker-ecr-cache-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	busybox, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return fmt.Errorf("reading /bin/busybox (apt-get install busybox-static): %w", err)
	}
	if err := os.WriteFile(filepath.Join(work, "busybox"), busybox, 0o755); err != nil {
		return err
	}
	reg, err := testenv.NewRegistry(testenv.RegistryOptions{}, work)
	if err != nil {
		return fmt.Errorf("starting the registry: %w", err)
	}
	defer reg.Close()
	repo := reg.Host + "/load"
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// A unique value per load run, so that keys never hit the daemon's
	// leftovers of an earlier run.
	salt := fmt.Sprint(time.Now().UnixNano())
	fmt.Printf("load: %d runs per group against %s, daemon %s\n", n, repo, os.Getenv("DOCKER_HOST"))

	start := time.Now()
	var all []run
	var problems []string
	for _, g := range []string{"distinct", "same", "hit"} {
		runs := group(ctx, bin, work, repo, g, salt, n)
		all = append(all, runs...)
		problems = append(problems, checkGroup(g, runs)...)
		report(g, runs)
	}
	total := time.Since(start)
	problems = append(problems, checkRegistry(ctx, reg.Host, "load", all)...)
	removeImages(all)

	fmt.Printf("total wall time: %s for %d processes\n", total.Round(time.Millisecond), len(all))
	if len(problems) == 0 {
		fmt.Println("invariants: all hold")
		return nil
	}
	fmt.Printf("invariants: %d failed\n", len(problems))
	for _, p := range problems {
		fmt.Println("  FAIL", p)
	}
	if reportOnly {
		return nil
	}
	return errors.New("invariants failed (set LOAD_REPORT_ONLY=1 or -report-only to only report)")
}

// group starts n runs at once and waits for all of them.
func group(ctx context.Context, bin, work, repo, name, salt string, n int) []run {
	runs := make([]run, n)
	var wg sync.WaitGroup
	for i := range runs {
		value := salt + "-same"
		if name == "distinct" {
			value = fmt.Sprintf("%s-distinct-%d", salt, i)
		}
		wg.Go(func() { runs[i] = one(ctx, bin, work, repo, name, i, value) })
	}
	wg.Wait()
	return runs
}

// one runs the command under /usr/bin/time for its peak RSS. (The rusage
// of a child of this process would not do: Linux counts the parent's peak
// RSS, registry and all, into the child's when the child execs.)
func one(ctx context.Context, bin, work, repo, group string, i int, value string) run {
	r := run{group: group, i: i, outputs: map[string]string{}}
	rssFile := filepath.Join(work, fmt.Sprintf("rss-%s-%d", group, i))
	// One lock directory for the whole load, as the runs of one agent
	// share one: concurrent misses of a key build it once.
	cmd := exec.CommandContext(ctx, "/usr/bin/time", "-f", "%M", "-o", rssFile, bin,
		"--registry-provider", "registry", "--registry", repo, "--lock-dir", filepath.Join(work, "locks"),
		"--dockerfile-inline", dockerfile, "--build-args", "N="+value)
	cmd.Dir = work
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "DOCKER_HOST=" + os.Getenv("DOCKER_HOST")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) } // time and the run
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	r.err = cmd.Run()
	r.wall = time.Since(start)
	if cmd.ProcessState != nil {
		r.code = cmd.ProcessState.ExitCode()
	}
	if b, err := os.ReadFile(rssFile); err == nil {
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		r.rssKB, _ = strconv.ParseInt(lines[len(lines)-1], 10, 64)
	}
	sc := bufio.NewScanner(strings.NewReader(stdout.String()))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			r.outputs[k] = v
		}
	}
	r.log = stderr.String()
	return r
}

func (r run) name() string { return fmt.Sprintf("%s[%d]", r.group, r.i) }

// builds counts the runs of a group that missed and built.
func builds(runs []run) int {
	n := 0
	for _, r := range runs {
		if r.outputs["CACHE_HIT"] == "false" {
			n++
		}
	}
	return n
}

func checkGroup(g string, runs []run) []string {
	var p []string
	tags, digests := map[string]bool{}, map[string]bool{}
	for _, r := range runs {
		if r.err != nil || r.code != 0 {
			p = append(p, fmt.Sprintf("%s exited %d (%v): %s", r.name(), r.code, r.err, lastLines(r.log, 5)))
			continue
		}
		for _, k := range []string{"CACHE_HIT", "IMAGE", "TAG", "DIGEST"} {
			if r.outputs[k] == "" {
				p = append(p, fmt.Sprintf("%s has no %s output", r.name(), k))
			}
		}
		tags[r.outputs["TAG"]] = true
		digests[r.outputs["DIGEST"]] = true
	}
	switch g {
	case "distinct":
		if len(tags) != len(runs) {
			p = append(p, fmt.Sprintf("distinct: %d different tags from %d runs with different keys", len(tags), len(runs)))
		}
	case "same", "hit":
		if len(tags) != 1 || len(digests) != 1 {
			p = append(p, fmt.Sprintf("%s: one key gave %d tags and %d digests, want 1 and 1", g, len(tags), len(digests)))
		}
	}
	switch b := builds(runs); {
	case g == "same" && b != 1:
		p = append(p, fmt.Sprintf("same: %d builds of one key, want exactly 1", b))
	case g == "hit" && b != 0:
		p = append(p, fmt.Sprintf("hit: %d builds of a key already pushed, want 0", b))
	}
	return p
}

// checkRegistry compares what the registry holds with the runs: every tag's
// image carries the key label of its tag, latest carries one of the keys,
// and every run's DIGEST is the one the registry holds under its TAG.
func checkRegistry(ctx context.Context, host, repo string, runs []run) []string {
	var p []string
	var list struct{ Tags []string }
	if err := getJSON(ctx, "http://"+host+"/v2/"+repo+"/tags/list", &list); err != nil {
		return []string{fmt.Sprintf("listing tags: %v", err)}
	}
	held := map[string]string{} // tag -> digest
	for _, tag := range list.Tags {
		digest, label, err := keyLabel(ctx, host, repo, tag)
		if err != nil {
			p = append(p, fmt.Sprintf("tag %s: %v", tag, err))
			continue
		}
		held[tag] = digest
		if tag != "latest" && label != tag {
			p = append(p, fmt.Sprintf("tag %s points at %s, whose %s label is %q", tag, digest, engine.LabelKey, label))
		}
		if tag == "latest" && !slices.Contains(list.Tags, label) {
			p = append(p, fmt.Sprintf("latest points at %s, whose key %q has no tag", digest, label))
		}
	}
	stale := 0
	for _, r := range runs {
		tag, digest := r.outputs["TAG"], r.outputs["DIGEST"]
		if tag == "" {
			continue
		}
		if held[tag] != digest {
			stale++
			p = append(p, fmt.Sprintf("%s exported DIGEST %s but the registry holds %s under %s", r.name(), digest, held[tag], tag))
		}
	}
	fmt.Printf("registry: %d tags checked, %d runs exported a digest the registry does not hold under their tag\n", len(list.Tags), stale)
	return p
}

var accept = strings.Join([]string{
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.oci.image.index.v1+json",
}, ", ")

// keyLabel returns the manifest digest of tag and its image's key label
// (through the first manifest of an index).
func keyLabel(ctx context.Context, host, repo, tag string) (digest, label string, err error) {
	base := "http://" + host + "/v2/" + repo
	var m struct {
		Config    struct{ Digest string }
		Manifests []struct{ Digest string }
	}
	resp, err := get(ctx, base+"/manifests/"+tag)
	if err != nil {
		return "", "", err
	}
	digest = resp.Header.Get("Docker-Content-Digest")
	err = json.NewDecoder(resp.Body).Decode(&m)
	resp.Body.Close()
	if err != nil {
		return "", "", err
	}
	if len(m.Manifests) > 0 {
		if err := getJSON(ctx, base+"/manifests/"+m.Manifests[0].Digest, &m); err != nil {
			return "", "", err
		}
	}
	var cfg struct {
		Config struct{ Labels map[string]string }
	}
	if err := getJSON(ctx, base+"/blobs/"+m.Config.Digest, &cfg); err != nil {
		return "", "", err
	}
	return digest, cfg.Config.Labels[engine.LabelKey], nil
}

func get(ctx context.Context, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", accept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return resp, nil
}

func getJSON(ctx context.Context, url string, v any) error {
	resp, err := get(ctx, url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(v)
}

func report(g string, runs []run) {
	walls := make([]time.Duration, 0, len(runs))
	rss := make([]int64, 0, len(runs))
	for _, r := range runs {
		walls = append(walls, r.wall)
		rss = append(rss, r.rssKB)
	}
	sort.Slice(walls, func(i, j int) bool { return walls[i] < walls[j] })
	slices.Sort(rss)
	mid := len(runs) / 2
	fmt.Printf("%-9s %2d runs, %2d builds; wall per process min %s median %s max %s; peak RSS per process min %.1f median %.1f max %.1f MB\n",
		g, len(runs), builds(runs),
		walls[0].Round(time.Millisecond), walls[mid].Round(time.Millisecond), walls[len(walls)-1].Round(time.Millisecond),
		mb(rss[0]), mb(rss[mid]), mb(rss[len(rss)-1]))
}

func mb(kb int64) float64 { return float64(kb) / 1024 }

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// removeImages removes the images the runs left on the daemon.
func removeImages(runs []run) {
	seen := map[string]bool{}
	args := []string{"rmi", "-f"}
	for _, r := range runs {
		if ref := r.outputs["IMAGE"] + ":" + r.outputs["TAG"]; r.outputs["TAG"] != "" && !seen[ref] {
			seen[ref] = true
			args = append(args, ref)
		}
	}
	if len(args) > 2 {
		args = append(args, runs[0].outputs["IMAGE"]+":latest")
		_ = exec.Command("docker", args...).Run()
	}
}
