package store

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	bolt "go.etcd.io/bbolt"
)

func openKeyed(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	s.SetAddressKey([]byte("0123456789abcdef0123456789abcdef"))
	t.Cleanup(func() { s.Close() })
	return s
}

// everything returns every key and value in the store, for byte scans.
func everything(t *testing.T, s *Store) []byte {
	t.Helper()
	var all bytes.Buffer
	s.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			return b.ForEach(func(k, v []byte) error {
				all.Write(k)
				all.WriteByte(' ')
				all.Write(v)
				all.WriteByte('\n')
				return nil
			})
		})
	})
	return all.Bytes()
}

// A contact with deliveries, log entries, a reply and an endorsement, a
// suppression and audit entries is forgotten: nothing in the store holds
// its address or name any more, the anonymised trace stays, its neighbours
// are untouched, and the address stays suppressed if it comes back.
func TestForgetErasesEverywhereAndKeepsSuppressing(t *testing.T) {
	dir := t.TempDir()
	s := openKeyed(t, dir)
	ctx := context.Background()
	importAll(t, s,
		outreach.Contact{Email: "Anna@Example.org", Name: "Anna Lindqvist", Organization: "Rights Watch", Country: "SE", Attrs: map[string]string{"note": "met at conference"}},
		outreach.Contact{Email: "joanna@example.org", Name: "Joanna Berg", Organization: "Other Org", Country: "SE", Attrs: map[string]string{"referrer": "anna@example.org", "colleague": "Anna Lindqvist"}},
	)
	anna, _ := s.Contact(ctx, "anna@example.org")
	joanna, _ := s.Contact(ctx, "joanna@example.org")
	send := &outreach.Send{Kind: outreach.SendWave, CampaignID: 1, Template: "t"}
	if err := s.CreateSend(ctx, send, []Recipient{{ContactID: anna.ID, Email: anna.Email}, {ContactID: joanna.ID, Email: joanna.Email}}, testMint); err != nil {
		t.Fatal(err)
	}
	claimed, err := s.Claim(ctx, send.ID, time.Now().Add(time.Second), 10)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claim = %d, %v", len(claimed), err)
	}
	var results []Result
	for _, c := range claimed {
		results = append(results, Result{DeliveryID: c.Delivery.ID, Attempt: outreach.Attempt{Time: time.Now(), Outcome: outreach.DeliverySent, Code: 250,
			Response: "2.0.0 queued for <" + c.Delivery.Email + ">"}})
	}
	if _, err := s.Record(ctx, results); err != nil {
		t.Fatal(err)
	}
	in := endorsing(anna, "reply-1", outreach.EndorsementPending)
	in.Reply.Text = "Yes, Rights Watch endorses. Anna Lindqvist, director (anna@example.org)"
	in.Reply.Subject = "Re: letter"
	in.Endorse.PrintName = "Anna Lindqvist"
	in.Endorse.Evidence = in.Reply.Text
	mustRecord(t, s, in)
	if err := s.Suppress(ctx, "anna@example.org", "manual", "ana"); err != nil {
		t.Fatal(err)
	}
	s.Audit(ctx, "ana", "contact.edit", "anna@example.org", "name was Anna Lindqvist")
	s.Audit(ctx, "ana", "letter.send", "1", "roster")

	rep, err := s.Forget(ctx, "ANNA@example.org", "admin")
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Contact || rep.Records < 6 || rep.Keys < 2 || !strings.HasPrefix(rep.Hash, "hash:") || len(rep.Hash) != 37 {
		t.Errorf("report = %+v", rep)
	}
	all := everything(t, s)
	if !bytes.Contains(all, []byte("joanna@example.org")) || !bytes.Contains(all, []byte("Joanna Berg")) {
		t.Error("forgetting anna@ touched joanna@")
	}
	all = bytes.ReplaceAll(all, []byte("joanna@example.org"), nil)
	for _, secret := range []string{"anna@example.org", "Anna@Example.org", "Anna Lindqvist", "endorses", "met at conference"} {
		if bytes.Contains(all, []byte(secret)) {
			t.Errorf("the store still holds %q", secret)
		}
	}
	if _, err := s.Contact(ctx, "anna@example.org"); outreach.ErrorCode(err) != outreach.ENOTFOUND {
		t.Errorf("contact after forget: %v", err)
	}
	j, _ := s.Contact(ctx, "joanna@example.org")
	if j.Attrs["referrer"] != rep.Hash || j.Attrs["colleague"] != rep.Hash {
		t.Errorf("joanna's attributes = %v; want the address and the name replaced by %s", j.Attrs, rep.Hash)
	}
	trace, _, err := s.Log(ctx, LogFilter{Email: rep.Hash})
	if err != nil || len(trace) != 1 || trace[0].Outcome != outreach.DeliverySent || trace[0].Email != rep.Hash {
		t.Errorf("log by hash = %+v, %v; want the anonymised sent entry", trace, err)
	}
	ds, _ := s.ContactDeliveries(ctx, anna.ID)
	if len(ds) != 1 || ds[0].Email != rep.Hash {
		t.Errorf("deliveries = %+v", ds)
	}
	sups, _ := s.Suppressions(ctx)
	if len(sups) != 1 || sups[0].Address != rep.Hash || sups[0].Reason != "manual" {
		t.Errorf("suppressions = %+v; want the manual one under the hash", sups)
	}
	audit, _ := s.AuditLog(ctx, "", time.Time{}, 100)
	last := audit[len(audit)-1]
	if last.Action != "contact.forget" || last.Object != rep.Hash || last.User != "admin" {
		t.Errorf("last audit entry = %+v", last)
	}

	// Imported again from an old spreadsheet, the address is still refused.
	importAll(t, s, outreach.Contact{Email: "anna@example.org", Name: "Anna Lindqvist", Country: "SE"})
	back, _ := s.Contact(ctx, "anna@example.org")
	if ok, _ := s.Suppressed(ctx, "Anna@example.org"); !ok {
		t.Error("a forgotten address is not suppressed")
	}
	again := &outreach.Send{Kind: outreach.SendWave, CampaignID: 1, Template: "t"}
	if err := s.CreateSend(ctx, again, []Recipient{{ContactID: back.ID, Email: back.Email}}, testMint); err != nil {
		t.Fatal(err)
	}
	if again.Counts.Suppressed != 1 || again.Counts.Queued != 0 {
		t.Errorf("send to the forgotten address: %+v; want it suppressed", again.Counts)
	}
	if _, err := s.Forget(ctx, "nobody@example.org", "admin"); outreach.ErrorCode(err) != outreach.ENOTFOUND {
		t.Errorf("forget of an unknown address = %v; want not found", err)
	}
}

// A name that begins with a non-ASCII capital is found however it is
// written: a neighbour's note and an audit detail that are exactly the
// name lose it.
func TestForgetFindsNonASCIINames(t *testing.T) {
	s := openKeyed(t, t.TempDir())
	ctx := context.Background()
	importAll(t, s,
		outreach.Contact{Email: "elodie@example.org", Name: "Élodie Ørsted", Country: "FR"},
		outreach.Contact{Email: "paul@example.org", Name: "Paul Blanc", Country: "FR", Attrs: map[string]string{"colleague": "ÉLODIE ØRSTED"}},
	)
	s.Audit(ctx, "ana", "letter.send", "1", "Élodie Ørsted")
	rep, err := s.Forget(ctx, "elodie@example.org", "admin")
	if err != nil {
		t.Fatal(err)
	}
	all := bytes.ToLower(everything(t, s))
	if bytes.Contains(all, []byte("élodie")) || bytes.Contains(all, []byte("ørsted")) {
		t.Errorf("the store still holds the name after forget:\n%s", all)
	}
	if p, _ := s.Contact(ctx, "paul@example.org"); p == nil || p.Attrs["colleague"] != rep.Hash || p.Name != "Paul Blanc" {
		t.Errorf("paul = %+v; want his note replaced by %s and his name kept", p, rep.Hash)
	}
}

func TestForgetNeedsAnAddressKey(t *testing.T) {
	s := MustOpen(t)
	importAll(t, s, outreach.Contact{Email: "a@example.org", Country: "SE"})
	if _, err := s.Forget(context.Background(), "a@example.org", "admin"); err == nil {
		t.Fatal("forget without an address key succeeded")
	}
	if _, err := s.Contact(context.Background(), "a@example.org"); err != nil {
		t.Errorf("a refused forget deleted the contact: %v", err)
	}
}

func TestReplaceBounded(t *testing.T) {
	addr := lowerRunes("anna@example.org")
	for in, want := range map[string]string{
		"anna@example.org":                  "#",
		"<ANNA@Example.org>, bob":           "<#>, bob",
		"joanna@example.org":                "joanna@example.org",
		"anna@example.org.uk":               "anna@example.org.uk",
		"mail anna@example.org.":            "mail #.",
		"x.anna@example.org":                "x.anna@example.org",
		"anna@example.org anna@example.org": "# #",
	} {
		if got := replaceBounded(in, addr, addrBoundary, "#"); got != want {
			t.Errorf("address in %q -> %q; want %q", in, got, want)
		}
	}
	name := lowerRunes("Lucía Gómez")
	for in, want := range map[string]string{
		"Dear LUCÍA GÓMEZ,": "Dear #,",
		"Lucía Gómezová":    "Lucía Gómezová",
	} {
		if got := replaceBounded(in, name, wordBoundary, "#"); got != want {
			t.Errorf("name in %q -> %q; want %q", in, got, want)
		}
	}
}

// CompactLive runs while other goroutines read and write: nothing
// deadlocks or fails, nothing is lost, and the
// file no longer holds the bytes of a deleted record.
func TestCompactLiveUnderLoad(t *testing.T) {
	dir := t.TempDir()
	s := openKeyed(t, dir)
	ctx := context.Background()
	secret := "forgotten-secret-" + strings.Repeat("x", 200)
	importAll(t, s, outreach.Contact{Email: "gone@example.org", Name: secret, Country: "SE"})
	if err := s.DeleteContact(ctx, "gone@example.org"); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, FileName))
	if !bytes.Contains(raw, []byte(secret)) {
		t.Skip("bbolt already overwrote the deleted record; nothing to show")
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	writes := 0
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				err := s.Audit(ctx, "load", "test", "", "")
				if err == nil {
					_, err = s.Users(ctx)
				}
				if err == nil {
					if _, err = s.Contact(ctx, "none@example.org"); outreach.ErrorCode(err) == outreach.ENOTFOUND {
						err = nil
					}
				}
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					writes++
				}
				mu.Unlock()
			}
		}(w)
	}
	for i := 0; i < 3; i++ {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		before, after, err := s.CompactLive(cctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if after > before {
			t.Errorf("compaction grew the file: %d -> %d", before, after)
		}
	}
	close(stop)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d errors during compaction, first: %v", len(errs), errs[0])
	}
	entries, err := s.AuditLog(ctx, "load", time.Time{}, 1<<30)
	if err != nil || len(entries) != writes {
		t.Errorf("audit has %d load entries, %v; %d writes succeeded", len(entries), err, writes)
	}
	raw, _ = os.ReadFile(filepath.Join(dir, FileName))
	if bytes.Contains(raw, []byte(secret)) {
		t.Error("the deleted record's bytes are still in the file after CompactLive")
	}
	if s.AddressHash("a@example.org") == "" {
		t.Error("the address key was lost in the swap")
	}
}

// The scrubber never panics, leaves no bounded occurrence of the address
// behind, and leaves text without one unchanged, in strings and in bytes.
func FuzzScrub(f *testing.F) {
	for _, s := range []string{"", "anna@example.org", "joanna@example.org", "<ANNA@EXAMPLE.ORG>", "anna@example.org.uk", "x anna@example.org. y", "\xff\xfeanna@example.org\x00", "Dear Anna Lindqvist,", "annaanna@example.org@example.org"} {
		f.Add(s)
	}
	sc := newScrubber("anna@example.org", "Anna Lindqvist", 7, "hash:0123")
	f.Fuzz(func(t *testing.T, s string) {
		out, changed := sc.str(s, "note", true)
		if sc.hasAddr(out) {
			t.Errorf("str(%q) = %q still holds the address", s, out)
		}
		if !changed && out != s {
			t.Errorf("str(%q) changed the text to %q but said it did not", s, out)
		}
		b, hit := sc.rewriteBytes([]byte(s), []byte("hash:0123"))
		if !hit && string(b) != s {
			t.Errorf("rewriteBytes(%q) = %q without a hit", s, b)
		}
		if again, hit2 := sc.rewriteBytes(b, []byte("hash:0123")); hit2 && hit {
			t.Errorf("rewriteBytes(%q) left an occurrence: %q", s, again)
		}
	})
}
