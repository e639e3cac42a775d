package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const sampleCSV = "../../internal/contactcsv/testdata/sample10.csv"

func TestContactsImportCountExportRoundTrip(t *testing.T) {
	dir := t.TempDir()
	d := startDaemon(t, dir)
	out := d.mustCLI("contacts", "import", sampleCSV)
	if !strings.Contains(out, "created 10") {
		t.Fatalf("import said %q", out)
	}
	filters := map[string]string{
		"country = MY":                           "4",
		"":                                       "10",
		"country in (MY, PH) and kind = partner": "3",
		"not country = MY":                       "6",
		"kind = partner and (country = CO or country = FR)": "2",
		"language = es":            "2",
		"region = ASEAN":           "6",
		"attr.sector = housing":    "",
		"status != active":         "0",
		"kind in (nhri, ministry)": "3",
		"domain = pmo.gov.example": "1",
		"not (kind = partner)":     "4",
	}
	counts := func() map[string]string {
		got := map[string]string{}
		for f := range filters {
			got[f] = strings.TrimSpace(d.mustCLI("contacts", "count", "--filter", f))
		}
		return got
	}
	before := counts()
	for f, want := range filters {
		if want != "" && before[f] != want {
			t.Errorf("count %q = %s; want %s", f, before[f], want)
		}
	}

	// After a restart the same answers.
	d.stop()
	d = startDaemon(t, dir)
	after := counts()
	for f := range filters {
		if after[f] != before[f] {
			t.Errorf("after restart count %q = %s; was %s", f, after[f], before[f])
		}
	}

	// export -> import round trip: same contacts, nothing duplicated.
	exported := d.mustCLI("contacts", "export")
	out, errs, err := d.cliIn(exported, "contacts", "import", "-")
	if err != nil || !strings.Contains(out, "created 0, updated 0, unchanged 10") {
		t.Fatalf("re-import of the export: %q %q %v", out, errs, err)
	}
	if again := d.mustCLI("contacts", "export"); again != exported {
		t.Errorf("second export differs:\n%s\nvs\n%s", again, exported)
	}
}

func TestBadCSVChangesNothing(t *testing.T) {
	d := startDaemon(t, "")
	d.mustCLI("contacts", "import", sampleCSV)
	rows := []string{
		"email,name,organization,kind,country",
		"a1@example.test,A1,Org1,partner,MY",
		"a2@example.test,A2,Org2,partner,MY",
		"a3@example.test,A3,Org3,partner,PH",
		"not-an-address,A4,Org4,partner,MY", // line 5
		"a5@example.test,A5,Org5,partner,MY",
		"a6@example.test,A6,Org6,partner,MY",
		"a7@example.test,A7,Org7,partner,MY",
		"a8@example.test,A8,Org8,partner,XX", // line 9
		"a9@example.test,A9,Org9,partner,MY",
	}
	file := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(file, []byte(strings.Join(rows, "\n")+"\n"), 0o600)
	out, errs, err := d.cli("contacts", "import", file)
	if err == nil {
		t.Fatalf("import of a bad file succeeded: %s", out)
	}
	for _, want := range []string{"bad.csv:5: email:", "bad.csv:9: country:"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if n := strings.TrimSpace(d.mustCLI("contacts", "count")); n != "10" {
		t.Errorf("count after a rejected file = %s; want 10 (unchanged)", n)
	}
	out = d.mustCLI("contacts", "import", "--skip-invalid", file)
	if !strings.Contains(out, "created 7") || !strings.Contains(out, "skipped 2") {
		t.Errorf("--skip-invalid said %q", out)
	}
	if n := strings.TrimSpace(d.mustCLI("contacts", "count")); n != "17" {
		t.Errorf("count after --skip-invalid = %s; want 17", n)
	}
}

func TestSecondServeFailsFast(t *testing.T) {
	d := startDaemon(t, "")
	start := time.Now()
	_, errs, err := d.cli("serve", "--http", "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error(), "in use by another outreach process") {
		t.Fatalf("second serve: err=%v stderr=%s; want a clear lock message", err, errs)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("second serve took %v; want < 2s", el)
	}
}

func TestEditCannotReactivateAndSuppressionHolds(t *testing.T) {
	d := startDaemon(t, "")
	d.mustCLI("contacts", "import", sampleCSV)
	d.mustCLI("suppress", "add", "--reason", "unsubscribed", "lucia@dejusticia.example")
	if _, errs, err := d.cli("contacts", "edit", "lucia@dejusticia.example", "--set", "status=active"); err == nil {
		t.Error("edit to active succeeded")
	} else if !strings.Contains(err.Error()+errs, "reactivate") {
		t.Errorf("error %v does not point at reactivate", err)
	}
	d.mustCLI("contacts", "import", sampleCSV)
	if n := strings.TrimSpace(d.mustCLI("contacts", "count", "--filter", "status = unsubscribed")); n != "1" {
		t.Errorf("unsubscribed after re-import = %s; want 1", n)
	}
	d.mustCLI("contacts", "reactivate", "lucia@dejusticia.example", "--reason", "asked to rejoin")
	if out := d.mustCLI("audit"); !strings.Contains(out, "contact.reactivate") {
		t.Errorf("audit lacks the reactivation:\n%s", out)
	}
}

func TestBackupWhileRunning(t *testing.T) {
	d := startDaemon(t, "")
	d.mustCLI("contacts", "import", sampleCSV)
	restore := t.TempDir()
	d.mustCLI("backup", filepath.Join(restore, "outreach.db"))
	tok, _ := os.ReadFile(filepath.Join(d.data, "admin.token"))
	os.WriteFile(filepath.Join(restore, "admin.token"), tok, 0o600)
	d2 := startDaemon(t, restore)
	if n := strings.TrimSpace(d2.mustCLI("contacts", "count")); n != "10" {
		t.Errorf("restored backup has %s contacts; want 10", n)
	}
}
