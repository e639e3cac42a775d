package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/test/realmail"
)

// cliTimeout bounds one CLI command.
const cliTimeout = 30 * time.Second

// setup describes the daemon a test runs.
type setup struct {
	// campaign is the campaign mailbox (its From and reply address), a
	// user of the servers.
	campaign string
	// imaps selects implicit TLS (imaps://, port IMAPS) for the campaign
	// mailbox; otherwise imap:// with STARTTLS.
	imaps bool
	// env adds OUTREACH_* settings (KEY=VALUE), after the defaults.
	env []string
}

// daemon is `outreach serve` running as a child process, with its data in
// dir, against the real servers.
type daemon struct {
	t    *testing.T
	dir  string
	env  []string
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan error
}

// runID returns a short random id that makes this test's users and
// messages unique among those of earlier runs and parallel tests.
func runID(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// startDaemon starts the daemon configured for s as in su, through the
// environment only, with fast retry, probe and poll settings.
func startDaemon(t *testing.T, s *realmail.Servers, su setup) *daemon {
	t.Helper()
	if binary == "" {
		t.Fatal("the outreach binary was not built (TestMain)")
	}
	pass := url.UserPassword(s.Address("sender"), s.Password)
	imapURL := "imap://" + url.UserPassword(su.campaign, s.Password).String() + "@" + s.IMAP + "/INBOX"
	if su.imaps {
		imapURL = "imaps://" + url.UserPassword(su.campaign, s.Password).String() + "@" + s.IMAPS + "/INBOX"
	}
	dir := t.TempDir()
	env := []string{
		"OUTREACH_DATA_DIR=" + dir,
		"OUTREACH_LOG_LEVEL=debug",
		"OUTREACH_HTTP_PUBLIC_URL=https://outreach.example.test",
		"OUTREACH_SMTP_URL=smtp://" + pass.String() + "@" + s.Submission,
		"OUTREACH_SMTP_CA_FILE=" + s.CAFile,
		"OUTREACH_SMTP_TIMEOUT=10s",
		"OUTREACH_IMAP_URL=" + imapURL,
		"OUTREACH_IMAP_CA_FILE=" + s.CAFile,
		"OUTREACH_IMAP_POLL_INTERVAL=1s",
		"OUTREACH_CAMPAIGN_NAME=Campaña por el PF-PIDESC",
		"OUTREACH_CAMPAIGN_FROM=Coalición PF-PIDESC <" + su.campaign + ">",
		"OUTREACH_CAMPAIGN_REPLY_TO=" + su.campaign,
		"OUTREACH_OUTBOX_RETRY_BASE=1s",
		"OUTREACH_OUTBOX_PROBE_INTERVAL=1s",
		"OUTREACH_OUTBOX_PAUSE_AFTER=3",
	}
	d := &daemon{t: t, dir: dir, env: append(env, su.env...)}
	d.start()
	t.Cleanup(func() {
		d.stop()
		if t.Failed() {
			t.Logf("daemon log (%s):\n%s", dir, tail(d.logs.String(), 150))
		}
	})
	return d
}

// start runs serve on a free port and waits until it has written its
// address.
func (d *daemon) start() {
	d.t.Helper()
	addrFile := filepath.Join(d.dir, "serve.addr")
	os.Remove(addrFile) // left behind by a killed daemon
	if d.logs == nil {
		d.logs = &syncBuffer{}
	}
	d.done = make(chan error, 1)
	d.cmd = exec.Command(binary, "serve", "--data", d.dir, "--http", "127.0.0.1:0")
	d.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + d.dir}, d.env...)
	d.cmd.Stdout, d.cmd.Stderr = d.logs, d.logs
	if err := d.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(addrFile); err == nil {
			return
		}
		select {
		case err := <-d.done:
			d.done <- err
			d.t.Fatalf("serve exited: %v\n%s", err, d.logs)
		default:
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("daemon did not start:\n%s", d.logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// kill9 kills the daemon with SIGKILL and waits until it is gone.
func (d *daemon) kill9() {
	d.t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		d.t.Fatalf("kill -9: %v", err)
	}
	<-d.done
	d.done <- nil
	fmt.Fprintf(d.logs, "---- e2e: killed with SIGKILL at %s ----\n", time.Now().Format(time.RFC3339Nano))
}

// stop ends the daemon with SIGTERM and checks that it exits cleanly and,
// when built with -race, without a data race.
func (d *daemon) stop() {
	select {
	case err := <-d.done:
		d.done <- err
		return
	default:
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		d.done <- nil
		if err != nil {
			d.t.Errorf("serve: %v", err)
		}
	case <-time.After(20 * time.Second):
		d.cmd.Process.Kill()
		d.t.Errorf("serve did not stop within 20s of SIGTERM")
	}
	if strings.Contains(d.logs.String(), "WARNING: DATA RACE") {
		d.t.Errorf("the daemon reported a data race")
	}
}

// cli runs the binary's client command args against the daemon.
func (d *daemon) cli(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append([]string{"--data", d.dir}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + d.dir}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("outreach %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

func (d *daemon) mustCLI(args ...string) string {
	d.t.Helper()
	out, err := d.cli(args...)
	if err != nil {
		d.t.Fatal(err)
	}
	return out
}

// cliJSON runs args with --json and decodes the output into v.
func (d *daemon) cliJSON(v any, args ...string) {
	d.t.Helper()
	out := d.mustCLI(append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		d.t.Fatalf("outreach %s --json: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// contact is one row of a contacts CSV.
type contact struct {
	email, name, org, country, lang string
}

// importContacts imports partner contacts through the CLI.
func (d *daemon) importContacts(cs []contact) {
	d.t.Helper()
	var b strings.Builder
	b.WriteString("email,name,organization,kind,country,language\n")
	for _, c := range cs {
		fmt.Fprintf(&b, "%s,%s,%s,partner,%s,%s\n", c.email, csvField(c.name), csvField(c.org), c.country, c.lang)
	}
	path := filepath.Join(d.t.TempDir(), "contacts.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		d.t.Fatal(err)
	}
	out := d.mustCLI("contacts", "import", path)
	if want := fmt.Sprintf("created %d,", len(cs)); !strings.Contains(out, want) {
		d.t.Fatalf("contacts import said %q; want %q", out, want)
	}
}

func csvField(s string) string {
	if strings.ContainsAny(s, ",\"\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

// waveView is what `outreach waves show ID --json` prints.
type waveView struct {
	outreach.Wave
	Runs []outreach.Send `json:"runs"`
}

// counts sums the counts of the wave's runs.
func (v waveView) counts() outreach.SendCounts {
	var k outreach.SendCounts
	for _, r := range v.Runs {
		k.Add(r.Counts)
	}
	return k
}

// addWave starts a wave of template to every partner now and returns its
// id.
func (d *daemon) addWave(name, template string, extra ...string) uint64 {
	d.t.Helper()
	var v waveView
	d.cliJSON(&v, append([]string{"waves", "add", "--name", name, "--template", template, "--filter", "kind = partner", "--at", "now"}, extra...)...)
	if v.ID == 0 {
		d.t.Fatalf("waves add returned no wave id: %+v", v)
	}
	return v.ID
}

func (d *daemon) wave(id uint64) waveView {
	d.t.Helper()
	var v waveView
	d.cliJSON(&v, "waves", "show", fmt.Sprint(id))
	return v
}

// waitWave waits until the wave has a run with total deliveries and none
// pending, and returns it.
func (d *daemon) waitWave(id uint64, total int, timeout time.Duration) waveView {
	d.t.Helper()
	var v waveView
	waitFor(d.t, timeout, fmt.Sprintf("wave %d done", id), func() (bool, string) {
		v = d.wave(id)
		k := v.counts()
		return k.Total == total && k.Pending() == 0, fmt.Sprintf("state %s, counts %+v", v.State, k)
	})
	return v
}

// replies returns every reply the daemon recorded.
func (d *daemon) replies() []outreach.Reply {
	d.t.Helper()
	var rs []outreach.Reply
	d.cliJSON(&rs, "replies", "list")
	return rs
}

// endorsements returns every endorsement the daemon recorded.
func (d *daemon) endorsements() []outreach.Endorsement {
	d.t.Helper()
	var es []outreach.Endorsement
	d.cliJSON(&es, "endorsements", "list")
	return es
}

func (d *daemon) suppressions() []outreach.Suppression {
	d.t.Helper()
	var ss []outreach.Suppression
	d.cliJSON(&ss, "suppress", "list")
	return ss
}

func (d *daemon) contact(email string) outreach.Contact {
	d.t.Helper()
	var c outreach.Contact
	out := d.mustCLI("contacts", "show", email)
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		d.t.Fatalf("contacts show %s: %v\n%s", email, err, out)
	}
	return c
}

// attempts returns the delivery log of a wave, optionally of one status.
func (d *daemon) attempts(wave uint64, status string) []outreach.Attempt {
	d.t.Helper()
	args := []string{"log", "--wave", fmt.Sprint(wave)}
	if status != "" {
		args = append(args, "--status", status)
	}
	var as []outreach.Attempt
	d.cliJSON(&as, args...)
	return as
}

// waitFor polls cond every 200 ms until it holds; after timeout the test
// fails with what and cond's last description of the state.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v: %s", what, timeout, state)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a child
// process's stdout and stderr.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("... %d lines before", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}
