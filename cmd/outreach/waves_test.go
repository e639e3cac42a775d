package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outreach-coalition/outreach/internal/devmail"
	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/service"
)

// slowSink is a devmail server whose DATA takes delay, recording when each
// recipient's transaction began.
type slowSink struct {
	*devmail.Server
	mu     sync.Mutex
	starts map[string][]time.Time
}

func startSlowSink(t *testing.T, delay time.Duration) *slowSink {
	t.Helper()
	s := &slowSink{starts: map[string][]time.Time{}}
	srv, err := devmail.Start(context.Background(), devmail.Options{Hook: func(stage devmail.Stage, from, rcpt string, attempt int) error {
		switch stage {
		case devmail.StageRcpt:
			s.mu.Lock()
			s.starts[rcpt] = append(s.starts[rcpt], time.Now())
			s.mu.Unlock()
		case devmail.StageData:
			time.Sleep(delay)
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	s.Server = srv
	return s
}

// startedAfter returns the recipients whose transaction began after t.
func (s *slowSink) startedAfter(t time.Time) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for rcpt, ts := range s.starts {
		for _, x := range ts {
			if x.After(t) {
				out = append(out, rcpt)
			}
		}
	}
	return out
}

func partnersCSV(n int, domain string) string {
	var b strings.Builder
	b.WriteString("email,name,organization,kind,country,language\n")
	for i := range n {
		fmt.Fprintf(&b, "p%03d@%s,Partner %d,Org %d,partner,MY,en\n", i, domain, i, i)
	}
	return b.String()
}

var waveIDRE = regexp.MustCompile(`^wave (\d+) `)

func waveID(t *testing.T, out string) string {
	t.Helper()
	m := waveIDRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no wave id in %q", out)
	}
	return m[1]
}

func (d *daemonT) wave(id string) service.WaveView {
	d.t.Helper()
	var v service.WaveView
	if err := json.Unmarshal([]byte(d.mustCLI("waves", "show", id, "--json")), &v); err != nil {
		d.t.Fatal(err)
	}
	return v
}

// waitFor polls cond every 10ms until it holds or 20s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWavePauseResumeCancel(t *testing.T) {
	const n = 160
	sink := startSlowSink(t, 20*time.Millisecond)
	d := startDaemon(t, "", "OUTREACH_SMTP_URL=smtp://"+sink.Addr()+"?tls=none", "OUTREACH_SMTP_CONNECTIONS=2")
	d.cliIn(partnersCSV(n, "pause.test"), "contacts", "import", "-")

	id := waveID(t, d.mustCLI("waves", "add", "--name", "long", "--template", "call-to-action", "--filter", "kind = partner"))
	waitFor(t, "20 messages", func() bool { return sink.Count() >= 20 })
	out := d.mustCLI("waves", "pause", id, "--reason", "checking the text")
	paused := time.Now()
	if !strings.Contains(out, "paused") || !strings.Contains(out, "checking the text") {
		t.Errorf("pause said %q", out)
	}
	// Messages already handed to the server finish; none starts a second
	// after the pause.
	time.Sleep(1500 * time.Millisecond)
	if late := sink.startedAfter(paused.Add(time.Second)); len(late) > 0 {
		t.Fatalf("%d messages started more than a second after the pause: %v", len(late), late[:min(5, len(late))])
	}
	atPause := sink.Count()
	if atPause >= n {
		t.Fatalf("all %d sent before the pause took effect", atPause)
	}
	v := d.wave(id)
	if v.State != outreach.WavePaused || v.Pause == nil || v.Pause.By != "admin" {
		t.Errorf("wave after pause: %s %+v", v.State, v.Pause)
	}

	d.mustCLI("waves", "resume", id)
	waitFor(t, "the wave to finish", func() bool { return d.wave(id).State == outreach.WaveDone })
	if got := sink.Count(); got != n {
		t.Errorf("%d messages; want %d", got, n)
	}
	for i := range n {
		if c := sink.CountFor(fmt.Sprintf("p%03d@pause.test", i)); c != 1 {
			t.Errorf("p%03d received %d messages; want 1", i, c)
		}
	}

	// Cancel withdraws what is queued; what was sent stays logged.
	id2 := waveID(t, d.mustCLI("waves", "add", "--name", "cancelled", "--template", "reminder", "--filter", "kind = partner"))
	waitFor(t, "10 messages of the second wave", func() bool { return sink.Count() >= n+10 })
	d.mustCLI("waves", "cancel", id2)
	waitFor(t, "nothing in flight", func() bool { k := totals(d.wave(id2).Runs); return k.Pending() == 0 })
	v = d.wave(id2)
	k := totals(v.Runs)
	if v.State != outreach.WaveCancelled || k.Cancelled == 0 || k.Sent+k.Cancelled != n {
		t.Errorf("cancelled wave: %s, %+v", v.State, k)
	}
	if got := sink.Count() - n; got != k.Sent {
		t.Errorf("the server got %d messages of the cancelled wave; the log says %d sent", got, k.Sent)
	}
	logOut := d.mustCLI("log", "--wave", id2, "--status", "sent", "--json")
	var attempts []outreach.Attempt
	if err := json.Unmarshal([]byte(logOut), &attempts); err != nil || len(attempts) != k.Sent {
		t.Errorf("delivery log has %d sent attempts (%v); want %d", len(attempts), err, k.Sent)
	}
	if _, _, err := d.cli("waves", "resume", id2); err == nil {
		t.Error("a cancelled wave resumed")
	}
}

func TestWaveDryRunAndSchedule(t *testing.T) {
	d := startDaemon(t, "")
	d.mustCLI("contacts", "import", sampleCSV)
	d.mustCLI("segments", "save", "three", "--filter", "country in (MY, CO, FR)")

	out := d.mustCLI("waves", "add", "--name", "morning", "--template", "endorsement-request", "--segment", "three", "--local-hour", "9", "--tz", "UTC", "--dry-run")
	// The partners of the three countries, never their targets.
	for _, want := range []struct{ email, lang, zone string }{
		{"aminah@suara-rakyat.example", "en", "Asia/Kuala_Lumpur"},
		{"lim.wei@hakam.example", "en", "Asia/Kuala_Lumpur"},
		{"lucia@dejusticia.example", "es", "America/Bogota"},
		{"contact@ldh.example", "fr", "Europe/Paris"},
	} {
		line := lineWith(out, want.email)
		if line == "" || !strings.Contains(line, " "+want.lang+" ") || !strings.Contains(line, want.zone) || !regexp.MustCompile(`09:00 \S+ `+want.zone).MatchString(line) {
			t.Errorf("dry run line for %s = %q; want language %s and 09:00 in %s", want.email, line, want.lang, want.zone)
		}
	}
	for _, absent := range []string{"pm@pmo.gov.example", "suhakam@", "ministerio@", "maria.santos@", "wanjiru@"} {
		if strings.Contains(out, absent) {
			t.Errorf("dry run names %s", absent)
		}
	}
	if !strings.Contains(out, "4 recipients") || !strings.Contains(out, "left out: 3 target") || !strings.Contains(out, "--- sample (es)") || !strings.Contains(out, "Subject: ") {
		t.Errorf("dry run output:\n%s", out)
	}
	if list := d.mustCLI("waves", "list", "--json"); strings.TrimSpace(list) != "[]" {
		t.Errorf("a dry run stored a wave: %s", list)
	}

	// A wave due shortly is run by the scheduler.
	at := time.Now().Add(1500 * time.Millisecond).UTC().Format(time.RFC3339Nano)
	id := waveID(t, d.mustCLI("waves", "add", "--name", "soon", "--template", "call-to-action", "--segment", "three", "--at", at))
	if v := d.wave(id); v.State != outreach.WaveScheduled || len(v.Runs) != 0 {
		t.Fatalf("wave due later: %s with %d runs", v.State, len(v.Runs))
	}
	dry := d.mustCLI("waves", "dry-run", id)
	if !strings.Contains(dry, "4 recipients") {
		t.Errorf("dry-run of the scheduled wave:\n%s", dry)
	}
	waitFor(t, "the scheduled wave to run", func() bool { return d.wave(id).State == outreach.WaveDone })
	watch := d.mustCLI("waves", "watch", id, "--interval", "10ms")
	if !strings.Contains(watch, "4/4 sent") || strings.Contains(watch, "\r") {
		t.Errorf("watch printed %q; want a plain line with 4/4 sent", watch)
	}
	if show := d.mustCLI("waves", "show", id); !strings.Contains(show, "left out of the latest run: 3 target") {
		t.Errorf("show:\n%s", show)
	}
}

func TestMissedWaveRunsAtStartWithinGrace(t *testing.T) {
	dir := t.TempDir()
	d := startDaemon(t, dir)
	d.mustCLI("contacts", "import", sampleCSV)
	at := time.Now().Add(time.Second)
	id := waveID(t, d.mustCLI("waves", "add", "--name", "while down", "--template", "call-to-action", "--filter", "country = FR", "--at", at.UTC().Format(time.RFC3339Nano)))
	d.stop()
	time.Sleep(time.Until(at.Add(200 * time.Millisecond))) // the daemon is down at the wave's time
	d = startDaemon(t, dir)
	waitFor(t, "the missed wave to run at start-up", func() bool { return d.wave(id).State == outreach.WaveDone })
	if v := d.wave(id); len(v.Runs) != 1 || v.Runs[0].Counts.Sent != 1 {
		t.Errorf("missed wave runs: %+v", v.Runs)
	}
	if v := d.wave(id); v.Runs[0].Created.Before(at) {
		t.Errorf("the run was created at %v, before its time %v", v.Runs[0].Created, at)
	}
}

func lineWith(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

func TestWatchProgressLine(t *testing.T) {
	v := &service.WaveView{Wave: outreach.Wave{ID: 3, State: outreach.WaveRunning}, Replied: 2,
		Runs: []outreach.Send{{Counts: outreach.SendCounts{Total: 10, Sent: 4, Failed: 1, Queued: 5}}}}
	if got, want := progress(v, true), "[###############...............] wave 3 running: 4/10 sent, 5 queued, 1 failed, 2 replied"; got != want {
		t.Errorf("bar = %q; want %q", got, want)
	}
	if got, want := progress(v, false), "wave 3 running: 4/10 sent, 5 queued, 1 failed, 2 replied"; got != want {
		t.Errorf("plain = %q; want %q", got, want)
	}
	for _, tc := range []struct {
		state, cron string
		runs        int
		done        bool
	}{{outreach.WaveRunning, "", 1, false}, {outreach.WaveDone, "", 1, true}, {outreach.WaveCancelled, "", 0, true},
		{outreach.WaveScheduled, "", 0, false}, {outreach.WaveScheduled, "@daily", 1, true}, {outreach.WavePaused, "", 1, false}} {
		v := &service.WaveView{Wave: outreach.Wave{State: tc.state, Cron: tc.cron}, Runs: make([]outreach.Send, tc.runs)}
		if got := finished(v); got != tc.done {
			t.Errorf("finished(%s, cron %q, %d runs) = %v", tc.state, tc.cron, tc.runs, got)
		}
	}
}
