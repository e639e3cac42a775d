package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/outreach-coalition/outreach/internal/demo"
	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/web"
)

// The demo runs the whole loop on one machine: a wave goes out, the
// simulated partners answer through the IMAP mailbox, the inbox classifies
// the answers, endorsements appear.
func TestDemoRunsTheWholeLoop(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	d := startDaemonArgs(t, dir, []string{"--demo"})
	answering := 0
	for _, p := range demo.Partners {
		if p.Persona != demo.Silent {
			answering++
		}
	}
	var replies []outreach.Reply
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, _, err := d.cli("replies", "list", "--json")
		if err == nil {
			replies = nil
			json.Unmarshal([]byte(out), &replies)
		}
		if len(replies) >= answering || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if len(replies) != answering {
		t.Fatalf("%d replies recorded; want %d (one per answering partner)\n%s", len(replies), answering, d.logs)
	}
	classes := map[string]int{}
	review := 0
	for _, r := range replies {
		classes[r.Class]++
		if r.Review {
			review++
		}
	}
	want := map[string]int{outreach.ClassEndorse: 9, outreach.ClassDecline: 1, outreach.ClassUnsubscribe: 1,
		outreach.ClassAutoReply: 1, outreach.ClassBounce: 1, outreach.ClassOther: 2}
	for class, n := range want {
		if classes[class] != n {
			t.Errorf("%d replies of class %s; want %d (all: %v)", classes[class], class, n, classes)
		}
	}
	if review < 2 {
		t.Errorf("%d replies in review; want at least the question and the conditional", review)
	}
	var ends []outreach.Endorsement
	out := d.mustCLI("endorsements", "list", "--json")
	json.Unmarshal([]byte(out), &ends)
	confirmed := 0
	for _, e := range ends {
		if e.State == outreach.EndorsementConfirmed {
			confirmed++
		}
	}
	if confirmed == 0 || len(ends) != 9 {
		t.Errorf("%d endorsements (%d confirmed); want 9, most confirmed", len(ends), confirmed)
	}
	if n := strings.TrimSpace(d.mustCLI("contacts", "count", "--filter", "status = unsubscribed")); n != "1" {
		t.Errorf("%s unsubscribed contacts; want 1", n)
	}
	if n := strings.TrimSpace(d.mustCLI("contacts", "count", "--filter", "status = bounced")); n != "1" {
		t.Errorf("%s bounced contacts; want 1", n)
	}

	// Every answer went through IMAP: it ends in the processed folder.
	addr, err := os.ReadFile(filepath.Join(dir, "demo.imap"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := imapclient.DialInsecure(strings.TrimSpace(string(addr)), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(demo.CampaignReply, demoPassword).Wait(); err != nil {
		t.Fatal(err)
	}
	st, err := c.Status("Processed", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if st.NumMessages == nil || int(*st.NumMessages) < answering {
		t.Errorf("processed folder holds %v messages; want at least %d", st.NumMessages, answering)
	}

	// Nothing outside reserved example domains in what was sent.
	tok, _ := os.ReadFile(filepath.Join(dir, "admin.token"))
	srv, _ := os.ReadFile(filepath.Join(dir, "serve.addr"))
	cl := &web.Client{BaseURL: "http://" + strings.TrimSpace(string(srv)), Token: strings.TrimSpace(string(tok))}
	var msgs []struct {
		From string   `json:"from"`
		To   []string `json:"to"`
		Raw  string   `json:"raw"`
	}
	if err := cl.JSON(t.Context(), http.MethodGet, "/api/v1/devmail/messages", map[string][]string{"raw": {"true"}}, nil, &msgs); err != nil {
		t.Fatal(err)
	}
	if len(msgs) < 17 {
		t.Errorf("%d messages captured; want the 17 requests at least", len(msgs))
	}
	// The metrics moved with the wave and the replies.
	var metricsText strings.Builder
	if err := cl.Do(t.Context(), http.MethodGet, "/metrics", nil, nil, "", &metricsText); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`outreach_delivery_attempts_total{outcome="sent"} `,
		`outreach_replies_total{class="endorse",review="false"} `,
		`outreach_replies_total{class="bounce"`,
		`outreach_endorsements_total{state="confirmed"} `,
		`outreach_wave_deliveries{state="sent",wave="1"} 17`,
		`outreach_outbox_queue_depth `,
		`outreach_smtp_send_seconds_count `,
		`outreach_imap_lag_seconds `,
		`outreach_build_info{`,
	} {
		if !strings.Contains(metricsText.String(), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(metricsText.String(), `outreach_delivery_attempts_total{outcome="sent"} 0`) {
		t.Error("the sent counter did not move")
	}
	resp, err := http.Get(cl.BaseURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/metrics without a token = %d; want 401 (metrics.public is off)", resp.StatusCode)
	}

	addrRE := regexp.MustCompile(`[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+\.)+[A-Za-z]{2,}`)
	for _, m := range msgs {
		for _, a := range addrRE.FindAllString(m.Raw+" "+m.From+" "+strings.Join(m.To, " "), -1) {
			if !reservedDomain(outreach.EmailDomain(a)) {
				t.Errorf("message to %v names %s, outside the reserved example domains", m.To, a)
			}
		}
	}
	for _, a := range addrRE.FindAllString(demo.ContactsCSV()+demo.CampaignLetter, -1) {
		if !reservedDomain(outreach.EmailDomain(a)) {
			t.Errorf("demo data names %s", a)
		}
	}
}

func reservedDomain(d string) bool {
	for _, suffix := range []string{".example", ".test", ".invalid", ".localhost"} {
		if strings.HasSuffix(d, suffix) {
			return true
		}
	}
	return d == "example.org" || d == "example.com" || d == "example.net" || strings.HasSuffix(d, ".example.org")
}

func TestDemoRefusesRealData(t *testing.T) {
	dir := t.TempDir()
	d := startDaemon(t, dir)
	d.mustCLI("contacts", "import", sampleCSV)
	d.stop()
	var out strings.Builder
	err := run(t.Context(), []string{"serve", "--demo", "--data", dir, "--http", "127.0.0.1:0"}, nil, strings.NewReader(""), &out, &out)
	if err == nil || !strings.Contains(err.Error(), "real outreach database") {
		t.Fatalf("serve --demo on a real data directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "outreach.db")); err != nil {
		t.Errorf("the real database is gone: %v", err)
	}
}
