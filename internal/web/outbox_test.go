package web

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/service"
	"github.com/outreach-coalition/outreach/internal/store"
)

// The log export carries servers' answers, which come from outside: no
// cell of it may be a spreadsheet formula.
func TestDeliveryLogExportHasNoFormulas(t *testing.T) {
	ctx := context.Background()
	_, st, ts := newTestServer(t)
	if _, err := st.EnsureDefaultCampaign(ctx, &outreach.Campaign{Name: "C", From: "c@example.test", ReplyTo: "c@example.test", DefaultLanguage: "en"}); err != nil {
		t.Fatal(err)
	}
	err := st.ImportContacts(ctx, func(put store.PutFunc) error {
		_, err := put(&outreach.Contact{Email: "-x@example.test", Organization: "X", Country: "MY"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := st.Contact(ctx, "-x@example.test")
	if err != nil {
		t.Fatal(err)
	}
	send := &outreach.Send{Kind: outreach.SendWave, CampaignID: 1, Template: "t"}
	mint := func(id uint64) (string, string) { return fmt.Sprint("tok", id), fmt.Sprintf("m%d@example.test", id) }
	if err := st.CreateSend(ctx, send, []store.Recipient{{ContactID: c.ID, Email: c.Email}}, mint); err != nil {
		t.Fatal(err)
	}
	claimed, err := st.Claim(ctx, send.ID, time.Now(), 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("Claim = %d, %v", len(claimed), err)
	}
	const answer = `=HYPERLINK("http://evil.test","550 click here")`
	if _, err := st.Record(ctx, []store.Result{{DeliveryID: claimed[0].Delivery.ID, Attempt: outreach.Attempt{Time: time.Now(),
		Outcome: outreach.DeliveryFailed, Server: "@mx.example.test", Code: 550, Enhanced: "+5.1.1", Response: answer}}}); err != nil {
		t.Fatal(err)
	}
	token, _, err := st.CreateToken(ctx, "admin", outreach.RoleAdmin, "test")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", ts.URL+"/api/v1/log/export", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil || resp.StatusCode != http.StatusOK || len(rows) < 2 {
		t.Fatalf("GET /api/v1/log/export = %d, %d rows, %v", resp.StatusCode, len(rows), err)
	}
	found := false
	for _, row := range rows[1:] {
		for i, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("column %s = %q: a spreadsheet reads it as a formula", rows[0][i], cell)
			}
			found = found || cell == "'"+answer
		}
	}
	if !found {
		t.Errorf("the export lacks the server's answer, escaped: %q", rows)
	}
}

// Captured mail is scoped like the contacts it was sent to: a coordinator
// scoped to MY sees the messages to MY contacts only, in the API and on
// the pages.
func TestCapturedMailIsScoped(t *testing.T) {
	ctx := context.Background()
	f := newUIFixture(t)
	admin := &outreach.Principal{Name: "admin", Role: outreach.RoleAdmin}
	v, err := f.svc.CreateWave(ctx, admin, service.WaveInput{Name: "call", Template: "call-to-action", Filter: "kind = partner"})
	if err != nil {
		t.Fatal(err)
	}
	f.waitWave(t, v.ID)
	type msg struct {
		ID int      `json:"id"`
		To []string `json:"to"`
	}
	list := func(token string) map[string]int {
		var ms []msg
		if err := json.Unmarshal([]byte(f.mustGet(t, "/api/v1/devmail/messages", token)), &ms); err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, m := range ms {
			out[strings.Join(m.To, ",")] = m.ID
		}
		return out
	}
	all := list(f.admin)
	phID, ok := all["dela@phrights.ph.test"]
	if len(all) != 5 || !ok {
		t.Fatalf("the admin sees %v; want the 5 partners' messages", all)
	}
	mine := list(f.coordMY)
	if len(mine) != 3 {
		t.Errorf("the MY coordinator sees %v; want the 3 messages to MY partners", mine)
	}
	for to := range mine {
		if !strings.HasSuffix(to, ".my.test") {
			t.Errorf("the MY coordinator sees the message to %s", to)
		}
	}
	if page := f.mustGet(t, "/mail", f.coordMY); strings.Contains(page, "ph.test") || !strings.Contains(page, "ana@rights.my.test") {
		t.Errorf("the captured mail page for the MY coordinator lists PH mail or lacks MY mail")
	}
	if code, _ := f.fetch(t, "GET", fmt.Sprintf("/mail/%d", phID), f.coordMY, nil); code != http.StatusNotFound {
		t.Errorf("GET /mail/%d (to PH) by the MY coordinator = %d; want 404", phID, code)
	}
	if page := f.mustGet(t, fmt.Sprintf("/mail/%d", phID), f.admin); !strings.Contains(page, "dela@phrights.ph.test") {
		t.Errorf("the admin cannot read the message to PH")
	}
}
