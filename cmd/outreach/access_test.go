package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/service"
	"github.com/outreach-coalition/outreach/internal/store"
	"github.com/outreach-coalition/outreach/internal/web"
)

// cliAs runs a client command with another API token.
func (d *daemonT) cliAs(token string, args ...string) (string, string, error) {
	var out, errb bytes.Buffer
	env := append(slices.Clone(d.env), "OUTREACH_TOKEN="+token)
	err := run(context.Background(), append([]string{"--data", d.data}, args...), env, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), err
}

// tokenFor adds a user and makes it a token.
func (d *daemonT) tokenFor(name, role, countries string) string {
	d.t.Helper()
	args := []string{"users", "add", name, "--role", role}
	if countries != "" {
		args = append(args, "--countries", countries)
	}
	d.mustCLI(args...)
	return strings.TrimSpace(d.mustCLI("tokens", "create", "--name", name, "--role", role))
}

var waveNumber = regexp.MustCompile(`^wave (\d+) `)

// runWave creates a wave with token and waits until it is done.
func (d *daemonT) runWave(token, name, filter string) service.WaveView {
	d.t.Helper()
	out, errs, err := d.cliAs(token, "waves", "add", "--name", name, "--template", "call-to-action", "--filter", filter)
	if err != nil {
		d.t.Fatalf("waves add: %v\n%s", err, errs)
	}
	m := waveNumber.FindStringSubmatch(out)
	if m == nil {
		d.t.Fatalf("no wave id in %q", out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var v service.WaveView
		if err := json.Unmarshal([]byte(d.mustCLI("waves", "show", m[1], "--json")), &v); err != nil {
			d.t.Fatal(err)
		}
		if v.State == outreach.WaveDone {
			return v
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("wave %s is %s after 20s", m[1], v.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// captured returns the recipients of the mail the development server kept.
func (d *daemonT) captured() []string {
	d.t.Helper()
	cl, err := (&cli{env: envMap(d.env), dataDir: d.data}).client()
	if err != nil {
		d.t.Fatal(err)
	}
	var msgs []struct{ To []string }
	if err := cl.JSON(context.Background(), http.MethodGet, "/api/v1/devmail/messages", nil, nil, &msgs); err != nil {
		d.t.Fatal(err)
	}
	var to []string
	for _, m := range msgs {
		to = append(to, m.To...)
	}
	slices.Sort(to)
	return to
}

// Acceptance 1 and 2 of the access issue, through the CLI: no credentials
// is refused, a viewer cannot write, a coordinator scoped to MY finds
// nothing of PH, and its wave over "kind = partner" reaches only MY's
// partners.
func TestAccessThroughTheCLI(t *testing.T) {
	d := startDaemon(t, "")
	d.mustCLI("contacts", "import", sampleCSV)
	viewer := d.tokenFor("viewer@coalition.example", "viewer", "")
	coordMY := d.tokenFor("coord.my@coalition.example", "coordinator", "MY")
	coordPH := d.tokenFor("coord.ph@coalition.example", "coordinator", "PH")

	if _, _, err := d.cliAs("otk_nope_nope", "contacts", "count"); err == nil || !strings.Contains(err.Error(), "invalid or revoked token") {
		t.Errorf("a bad token: %v; want it refused", err)
	}
	if out, _, err := d.cliAs(viewer, "contacts", "count"); err != nil || strings.TrimSpace(out) != "10" {
		t.Errorf("a viewer reading: %q %v", out, err)
	}
	for _, args := range [][]string{
		{"contacts", "edit", "aminah@suara-rakyat.example", "--set", "name=X"},
		{"contacts", "delete", "aminah@suara-rakyat.example"},
		{"suppress", "add", "aminah@suara-rakyat.example"},
		{"waves", "add", "--name", "v", "--template", "call-to-action", "--filter", "kind = partner"},
		{"users", "list"},
		{"tokens", "list"},
		{"audit"},
		{"contacts", "forget", "aminah@suara-rakyat.example"},
	} {
		if _, _, err := d.cliAs(viewer, args...); err == nil || !strings.Contains(err.Error(), "may not do this") {
			t.Errorf("viewer: outreach %s = %v; want forbidden", strings.Join(args, " "), err)
		}
	}
	if _, _, err := d.cliAs(coordMY, "users", "add", "x@coalition.example", "--role", "admin"); err == nil || !strings.Contains(err.Error(), "may not do this") {
		t.Errorf("a coordinator adding an admin: %v; want forbidden", err)
	}

	// Out of scope is not found, for reading and for acting.
	const ph = "maria.santos@karapatan.example"
	for _, args := range [][]string{
		{"contacts", "show", ph},
		{"contacts", "edit", ph, "--set", "name=X"},
		{"contacts", "delete", ph},
		{"contacts", "reactivate", ph, "--reason", "x"},
		{"suppress", "add", ph},
	} {
		out, _, err := d.cliAs(coordMY, args...)
		if err == nil || !strings.Contains(err.Error(), "not found") || strings.Contains(out, "Karapatan") {
			t.Errorf("MY coordinator: outreach %s = %q, %v; want not found", strings.Join(args, " "), out, err)
		}
	}
	if out, _, err := d.cliAs(coordMY, "contacts", "show", "aminah@suara-rakyat.example"); err != nil || !strings.Contains(out, "Suara Rakyat") {
		t.Errorf("MY coordinator reading a MY contact: %q %v", out, err)
	}
	if out, _, _ := d.cliAs(coordMY, "contacts", "export"); strings.Contains(out, "karapatan") || !strings.Contains(out, "hakam") {
		t.Errorf("MY coordinator's export:\n%s", out)
	}
	d.mustCLI("suppress", "add", ph)
	if out, _, _ := d.cliAs(coordMY, "suppress", "list"); strings.Contains(out, ph) {
		t.Errorf("MY coordinator sees PH's suppression:\n%s", out)
	}
	if _, _, err := d.cliAs(coordMY, "suppress", "remove", ph); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("MY coordinator lifting PH's suppression: %v; want not found", err)
	}
	d.mustCLI("suppress", "remove", ph)
	if _, _, err := d.cliAs(coordMY, "contacts", "import", "-"); err == nil {
		t.Error("an empty import succeeded")
	}
	stdin := "email,name,country\n" + ph + ",Hijacked,MY\n"
	var out, errb bytes.Buffer
	env := append(slices.Clone(d.env), "OUTREACH_TOKEN="+coordMY)
	if err := run(context.Background(), []string{"--data", d.data, "contacts", "import", "-"}, env, strings.NewReader(stdin), &out, &errb); err == nil {
		t.Errorf("MY coordinator re-importing a PH contact as MY succeeded: %s", out.String())
	}
	if show := d.mustCLI("contacts", "show", ph); !strings.Contains(show, `"country": "PH"`) || strings.Contains(show, "Hijacked") {
		t.Errorf("the PH contact changed:\n%s", show)
	}

	// The MY coordinator's wave reaches MY's partners only; a wave it did
	// not create is not found to it.
	v := d.runWave(coordMY, "MY partners", "kind = partner")
	if got := strings.Join(d.captured(), " "); got != "aminah@suara-rakyat.example lim.wei@hakam.example" {
		t.Errorf("the MY coordinator's wave reached %q; want only the two MY partners", got)
	}
	if k := totals(v.Runs); k.Total != 2 || k.Sent != 2 {
		t.Errorf("wave counts %+v; want 2 recipients, 2 sent", k)
	}
	if _, _, err := d.cliAs(coordPH, "waves", "pause", strconv.FormatUint(v.ID, 10)); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("PH coordinator cancelling MY's wave: %v; want not found", err)
	}
	logOut, _, err := d.cliAs(coordPH, "log", "--json")
	if err != nil || strings.Contains(logOut, "suara-rakyat") {
		t.Errorf("PH coordinator's delivery log: %v\n%s", err, logOut)
	}

	// Acceptance 4: every action above is in the audit trail with the
	// user's name.
	var entries []store.AuditEntry
	if err := json.Unmarshal([]byte(d.mustCLI("audit", "--json")), &entries); err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"admin user.create viewer@coalition.example"},
		{"admin user.create coord.my@coalition.example"},
		{"admin token.create"},
		{"admin contacts.import"},
		{"admin suppress.add " + ph},
		{"admin suppress.remove " + ph},
		{"coord.my@coalition.example wave.create", "coord.my@coalition.example POST /api/v1/waves"},
	}
	for _, any := range want {
		found := false
		for _, e := range entries {
			for _, w := range any {
				found = found || strings.HasPrefix(e.User+" "+e.Action+" "+e.Object, w)
			}
		}
		if !found {
			t.Errorf("no audit entry %q", any)
		}
	}
	if out := d.mustCLI("audit", "--user", "coord.my@coalition.example"); strings.Contains(out, "admin ") || !strings.Contains(out, "coord.my@coalition.example") {
		t.Errorf("audit --user:\n%s", out)
	}
}

// Users: one-time passwords are printed once, a disabled user's token
// stops working, the last admin cannot be disabled, and the first start
// gives the admin a one-time password or OUTREACH_ADMIN_PASSWORD.
func TestUsersCommands(t *testing.T) {
	d := startDaemon(t, "")
	if !regexp.MustCompile(`one-time password [a-z2-7]{26} `).MatchString(d.logs.String()) {
		t.Errorf("the first start printed no one-time admin password:\n%s", d.logs)
	}
	out := d.mustCLI("users", "add", "Ana@Coalition.example", "--role", "coordinator", "--countries", "my,ph")
	if !strings.Contains(out, "user ana@coalition.example added: coordinator in MY,PH") || !regexp.MustCompile(`one-time password: [a-z2-7]{26}`).MatchString(out) {
		t.Errorf("users add said %q", out)
	}
	if _, _, err := d.cliIn("short\n", "users", "add", "ben@coalition.example", "--role", "viewer", "--password-stdin"); err == nil || !strings.Contains(err.Error(), "at least 10") {
		t.Errorf("a short password: %v", err)
	}
	if out, _, err := d.cliIn("a long enough password\n", "users", "add", "ben@coalition.example", "--role", "viewer", "--password-stdin"); err != nil || strings.Contains(out, "one-time") {
		t.Errorf("users add --password-stdin: %q %v", out, err)
	}
	tok := strings.TrimSpace(d.mustCLI("tokens", "create", "--name", "ana@coalition.example", "--role", "coordinator"))
	list := d.mustCLI("users", "list")
	for _, want := range []string{"ana@coalition.example  coordinator  MY,PH", "one-time", "ben@coalition.example", "admin"} {
		if !strings.Contains(list, want) {
			t.Errorf("users list lacks %q:\n%s", want, list)
		}
	}
	d.mustCLI("users", "edit", "ana@coalition.example", "--countries", "MY")
	if out, _, err := d.cliAs(tok, "contacts", "count"); err != nil || strings.TrimSpace(out) != "0" {
		t.Errorf("the token after the scope change: %q %v", out, err)
	}
	d.mustCLI("users", "disable", "ana@coalition.example")
	if _, _, err := d.cliAs(tok, "contacts", "count"); err == nil {
		t.Error("a disabled user's token still works")
	}
	d.mustCLI("users", "enable", "ana@coalition.example")
	if _, _, err := d.cliAs(tok, "contacts", "count"); err != nil {
		t.Errorf("the token after enable: %v", err)
	}
	if _, _, err := d.cli("users", "disable", "admin"); err == nil || !strings.Contains(err.Error(), "no enabled admin") {
		t.Errorf("disabling the last admin: %v", err)
	}
	if out := d.mustCLI("users", "reset-password", "ben@coalition.example"); !strings.Contains(out, "one-time password: ") {
		t.Errorf("reset-password said %q", out)
	}
	if out := d.mustCLI("sessions", "list"); !strings.Contains(out, "ID") {
		t.Errorf("sessions list said %q", out)
	}
	audit := d.mustCLI("audit", "--user", "admin")
	for _, want := range []string{"user.create", "user.edit", "user.disable", "user.enable", "user.password", "token.create"} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit lacks %s:\n%s", want, audit)
		}
	}

	d2 := startDaemon(t, "", "OUTREACH_ADMIN_PASSWORD=the admin's passphrase")
	if strings.Contains(d2.logs.String(), "one-time password") {
		t.Errorf("a one-time password was printed although OUTREACH_ADMIN_PASSWORD is set")
	}
	if list := d2.mustCLI("users", "list"); !regexp.MustCompile(`admin\s+admin\s+all\s+enabled\s+set`).MatchString(list) {
		t.Errorf("admin after OUTREACH_ADMIN_PASSWORD:\n%s", list)
	}
}

// Acceptance 5: after `contacts forget`, neither the address nor the name
// is anywhere in the bbolt file once the daemon stops, the log keeps an
// anonymised trace, and a later wave still skips the address.
func TestForgetLeavesNoTrace(t *testing.T) {
	const addr, name = "aminah@suara-rakyat.example", "Aminah Binti Yusof"
	dir := t.TempDir()
	d := startDaemon(t, dir)
	d.mustCLI("contacts", "import", sampleCSV)
	d.mustCLI("contacts", "edit", addr, "--set", "attr.note=spoke with Aminah Binti Yusof")
	admin := strings.TrimSpace(readFile(t, filepath.Join(dir, "admin.token")))
	d.runWave(admin, "first", "kind = partner")
	d.mustCLI("suppress", "add", "--reason", "manual", addr)
	d.mustCLI("suppress", "remove", addr)
	if got := d.captured(); !slices.Contains(got, addr) {
		t.Fatalf("the first wave did not reach %s: %v", addr, got)
	}
	out := d.mustCLI("contacts", "forget", addr)
	m := regexp.MustCompile(`the address is now (hash:[0-9a-f]{32}) `).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "contact deleted") || !strings.Contains(out, "database compacted") {
		t.Fatalf("forget said %q", out)
	}
	hash := m[1]
	if _, _, err := d.cli("contacts", "show", addr); err == nil {
		t.Error("the contact is still there")
	}
	var trace web.Page[outreach.Attempt]
	cl, _ := (&cli{env: envMap(d.env), dataDir: d.data}).client()
	if err := cl.JSON(context.Background(), http.MethodGet, "/api/v1/log", map[string][]string{"email": {hash}}, nil, &trace); err != nil || len(trace.Items) != 1 || trace.Items[0].Outcome != outreach.DeliverySent {
		t.Errorf("the log under the hash: %+v %v; want the one sent message", trace.Items, err)
	}
	if audit := d.mustCLI("audit"); !strings.Contains(audit, "contact.forget") || strings.Contains(audit, addr) {
		t.Errorf("audit after forget:\n%s", audit)
	}
	d.stop()

	raw := bytes.ToLower(readFileBytes(t, filepath.Join(dir, store.FileName)))
	for _, secret := range []string{addr, strings.ToLower(name), "aminah"} {
		if i := bytes.Index(raw, []byte(secret)); i >= 0 {
			t.Errorf("the database file still holds %q at byte %d: %q", secret, i, raw[max(0, i-40):min(len(raw), i+60)])
		}
	}

	// Imported again from an old spreadsheet, the address is never mailed.
	// (The other partners had this template already: the wave leaves them
	// out, so the re-imported address is its only recipient.)
	d = startDaemon(t, dir)
	d.mustCLI("contacts", "import", sampleCSV)
	v := d.runWave(admin, "second", "kind = partner")
	if got := d.captured(); len(got) != 0 {
		t.Errorf("the second wave reached %v; want nobody", got)
	}
	if k := totals(v.Runs); k.Total != 1 || k.Suppressed != 1 || k.Sent != 0 {
		t.Errorf("second wave counts %+v; want the re-imported address as its one recipient, suppressed", k)
	}
}

func readFile(t *testing.T, path string) string { return string(readFileBytes(t, path)) }

func readFileBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
