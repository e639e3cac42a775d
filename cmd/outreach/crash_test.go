package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/outreach-coalition/outreach/internal/devmail"
	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/service"
	"github.com/outreach-coalition/outreach/internal/store"
)

// crashWave is the number of partners the crash test sends to.
const crashWave = 4000

// TestCrashKill9 runs the real binary with fsync on and kills it with
// SIGKILL several times while a wave is being sent, restarting it each
// time (issue 4, acceptance 3). The SMTP server in this process is the
// source of truth of what arrived: in the end every recipient has the
// message, every duplicate is a delivery that was in state sending at a
// kill and that the log marks uncertain, and duplicates stay under 2%.
func TestCrashKill9(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := buildOutreach(t)
	sink, err := devmail.Start(ctx, devmail.Options{Keep: 2 * crashWave})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	dir := t.TempDir()
	env := []string{
		"OUTREACH_SMTP_URL=smtp://" + sink.Addr() + "?tls=none",
		"OUTREACH_HTTP_PUBLIC_URL=https://outreach.example.org",
		"OUTREACH_LOG_LEVEL=warn",
	}
	p := startChild(t, bin, dir, env)

	csvPath := filepath.Join(t.TempDir(), "partners.csv")
	contacts := writeCrashContacts(t, csvPath, crashWave)
	if out := p.mustCLI(ctx, "contacts", "import", csvPath); !strings.Contains(out, fmt.Sprintf("created %d", crashWave)) {
		t.Fatalf("import said %q", out)
	}
	out := p.mustCLI(ctx, "waves", "add", "--name", "crash", "--template", "call-to-action", "--filter", "kind = partner", "--at", "now")
	var waveID uint64
	if _, err := fmt.Sscanf(out, "wave %d", &waveID); err != nil {
		t.Fatalf("waves add said %q: %v", out, err)
	}

	// Kill at 4 random points spread over 10–85% of the wave (the rest of
	// the 90% is a margin for messages arriving while the kill is sent).
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 4))
	var points []int
	for _, lo := range []float64{0.10, 0.30, 0.50, 0.70} {
		points = append(points, int((lo+rng.Float64()*0.15)*crashWave))
	}
	t.Logf("kill points (messages at the sink): %v (seed %d)", points, seed)
	wasSending := map[string]bool{} // emails whose delivery was in sending at a kill
	for i, at := range points {
		if err := sink.Wait(ctx, at); err != nil {
			t.Fatalf("kill %d: %v (%d arrived)\n%s", i+1, err, sink.Count(), p.logs)
		}
		p.kill9()
		arrived := sink.Count()
		if arrived < crashWave/10 || arrived > crashWave*9/10 {
			t.Fatalf("kill %d: %d messages had arrived; want 10–90%% of %d", i+1, arrived, crashWave)
		}
		sending := inflightAtKill(ctx, t, dir, waveID)
		if len(sending) == 0 {
			t.Fatalf("kill %d at %d messages: no delivery was in state sending", i+1, arrived)
		}
		t.Logf("kill %d: %d messages at the sink, %d deliveries in state sending", i+1, arrived, len(sending))
		for _, e := range sending {
			wasSending[outreach.EmailKey(e)] = true
		}
		p = startChild(t, bin, dir, env)
	}

	waitWaveDone(ctx, t, p, waveID)
	uncertain := map[string]bool{}
	var log []outreach.Attempt
	if err := json.Unmarshal([]byte(p.mustCLI(ctx, "log", "--wave", fmt.Sprint(waveID), "--status", "uncertain", "--json")), &log); err != nil {
		t.Fatal(err)
	}
	for _, a := range log {
		uncertain[outreach.EmailKey(a.Email)] = true
	}
	if len(uncertain) != len(wasSending) {
		t.Errorf("the log marks %d deliveries uncertain; %d were in state sending at the kills", len(uncertain), len(wasSending))
	}

	dups := 0
	for _, c := range contacts {
		n := sink.CountFor(c.email)
		switch {
		case n == 0:
			t.Errorf("%s: no message arrived", c.email)
		case n > 1:
			dups += n - 1
			k := outreach.EmailKey(c.email)
			if !uncertain[k] || !wasSending[k] {
				t.Errorf("%s: %d copies, but the log marks it uncertain=%v (in state sending at a kill: %v)", c.email, n, uncertain[k], wasSending[k])
			}
		}
	}
	t.Logf("%d messages for %d recipients: %d duplicates (%.2f%%), %d deliveries marked uncertain",
		sink.Count(), crashWave, dups, 100*float64(dups)/crashWave, len(uncertain))
	if dups*50 > crashWave {
		t.Errorf("%d duplicates; want at most 2%% of %d", dups, crashWave)
	}
	if got := sink.Count(); got != crashWave+dups {
		t.Errorf("sink has %d messages; want %d + %d duplicates", got, crashWave, dups)
	}
	checkRendered(t, sink.Messages(), contacts)
	p.stop()
}

type crashContact struct{ email, name, lang string }

// writeCrashContacts writes n partner contacts in the four template languages.
func writeCrashContacts(t *testing.T, path string, n int) []crashContact {
	t.Helper()
	langs := []string{"en", "es", "fr", "pt"}
	countries := []string{"MY", "PH", "CO", "FR", "BR", "KE"}
	var b bytes.Buffer
	b.WriteString("email,name,organization,kind,country,language\n")
	out := make([]crashContact, n)
	for i := range n {
		out[i] = crashContact{email: fmt.Sprintf("p%05d@org%d.example", i, i%37), name: fmt.Sprintf("Partner %05d", i), lang: langs[i%len(langs)]}
		fmt.Fprintf(&b, "%s,%s,Org %d,partner,%s,%s\n", out[i].email, out[i].name, i, countries[i%len(countries)], out[i].lang)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

// inflightAtKill opens the store of the killed daemon and returns the
// addresses of the wave's deliveries in state sending, checking that the
// send's counts agree.
func inflightAtKill(ctx context.Context, t *testing.T, dir string, waveID uint64) []string {
	t.Helper()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatalf("open the store after the kill: %v", err)
	}
	defer st.Close()
	sends, err := st.Sends(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var emails []string
	for _, s := range sends {
		if s.WaveID != waveID {
			continue
		}
		ds, err := st.SendDeliveries(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, d := range ds {
			if d.State == outreach.DeliverySending {
				n++
				emails = append(emails, d.Email)
			}
		}
		if n != s.Counts.Sending {
			t.Errorf("send %d: %d deliveries in state sending; its counts say %d", s.ID, n, s.Counts.Sending)
		}
	}
	return emails
}

func waitWaveDone(ctx context.Context, t *testing.T, p *childDaemon, waveID uint64) {
	t.Helper()
	for {
		var v service.WaveView
		if err := json.Unmarshal([]byte(p.mustCLI(ctx, "waves", "show", fmt.Sprint(waveID), "--json")), &v); err != nil {
			t.Fatal(err)
		}
		k := totals(v.Runs)
		if k.Total == crashWave && k.Pending() == 0 {
			if k.Sent != crashWave {
				t.Fatalf("wave ended with %+v; want all %d sent", k, crashWave)
			}
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("wave not done: %+v\n%s", k, p.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkRendered checks that each message was rendered for its recipient:
// its subject is the recipient's language's and its body greets them by
// name. Copies of one delivery carry the same Message-ID.
func checkRendered(t *testing.T, msgs []devmail.Message, contacts []crashContact) {
	t.Helper()
	subjects := map[string]string{
		"en": "Call to action", "es": "Llamado", "fr": "Appel", "pt": "Chamado",
	}
	byEmail := map[string]crashContact{}
	for _, c := range contacts {
		byEmail[c.email] = c
	}
	msgIDs := map[string]string{}
	bad := 0
	for _, m := range msgs {
		if len(m.To) != 1 {
			t.Fatalf("message %d has recipients %v", m.ID, m.To)
		}
		c, ok := byEmail[m.To[0]]
		if !ok {
			t.Fatalf("message %d to unknown %s", m.ID, m.To[0])
		}
		body := string(m.Raw)
		id := rawHeader(body, "Message-Id")
		if prev, ok := msgIDs[c.email]; ok && prev != id {
			t.Errorf("%s: copies carry Message-IDs %s and %s", c.email, prev, id)
		}
		msgIDs[c.email] = id
		if !strings.HasPrefix(m.Subject, subjects[c.lang]) || !strings.Contains(body, c.name) {
			if bad++; bad <= 5 {
				t.Errorf("message %d to %s (%s): subject %q; body greets %s: %v", m.ID, c.email, c.lang, m.Subject, c.name, strings.Contains(body, c.name))
			}
		}
	}
	if len(msgIDs) != len(contacts) {
		t.Errorf("kept messages reach %d recipients; want %d", len(msgIDs), len(contacts))
	}
}

// header returns the value of a header field of a raw message.
func rawHeader(raw, name string) string {
	for _, line := range strings.Split(raw, "\r\n") {
		if line == "" {
			break
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// buildOutreach builds the real binary into a temporary directory.
func buildOutreach(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "outreach")
	goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goCmd); err != nil {
		goCmd = "go"
	}
	cmd := exec.Command(goCmd, "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// childDaemon is `outreach serve` running as a child process.
type childDaemon struct {
	t    *testing.T
	dir  string
	env  []string
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan error
}

// startChild starts the binary's serve on a free port with data in dir
// and waits until it has written its address.
func startChild(t *testing.T, bin, dir string, env []string) *childDaemon {
	t.Helper()
	addrFile := filepath.Join(dir, "serve.addr")
	os.Remove(addrFile) // left behind by a killed daemon
	p := &childDaemon{t: t, dir: dir, env: env, logs: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(bin, "serve", "--data", dir, "--http", "127.0.0.1:0")
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, env...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(p.stop)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(addrFile); err == nil {
			return p
		}
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("serve exited: %v\n%s", err, p.logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon did not start:\n%s", p.logs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// kill9 kills the daemon with SIGKILL and waits until it is gone.
func (p *childDaemon) kill9() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		p.t.Fatalf("kill -9: %v", err)
	}
	<-p.done
	p.done <- nil
}

// stop ends the daemon with SIGTERM, as an admin would.
func (p *childDaemon) stop() {
	select {
	case err := <-p.done:
		p.done <- err
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			p.t.Errorf("serve: %v\n%s", err, p.logs)
		}
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		p.t.Errorf("serve did not stop within 20s after SIGTERM")
	}
}

// mustCLI runs a client command (in this process) against the daemon.
func (p *childDaemon) mustCLI(ctx context.Context, args ...string) string {
	p.t.Helper()
	var out, errb bytes.Buffer
	if err := run(ctx, append([]string{"--data", p.dir}, args...), nil, strings.NewReader(""), &out, &errb); err != nil {
		p.t.Fatalf("outreach %s: %v\n%s\ndaemon:\n%s", strings.Join(args, " "), err, errb.String(), p.logs)
	}
	return out.String()
}
