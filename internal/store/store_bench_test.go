package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

// benchContact returns the i-th generated contact.
func benchContact(i int) outreach.Contact {
	countries := []string{"MY", "PH", "KE", "CO", "FR", "BR"}
	return outreach.Contact{Email: fmt.Sprintf("contact%d@org%d.example", i, i%9973), Name: fmt.Sprintf("Person %d", i),
		Organization: fmt.Sprintf("Organisation %d", i%9973), Kind: outreach.KindPartner, Country: countries[i%len(countries)],
		Language: "en", Tags: []string{"t" + fmt.Sprint(i%7)}, Attrs: map[string]string{"sector": fmt.Sprint(i % 6)}}
}

// BenchmarkImportContacts imports n new contacts in one transaction, with
// fsync, into a fresh store: rows/s should not fall as n grows.
func BenchmarkImportContacts(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 200_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			cs := make([]outreach.Contact, n)
			for i := range cs {
				cs[i] = benchContact(i)
			}
			var elapsed time.Duration
			for b.Loop() {
				b.StopTimer()
				s, err := Open(b.TempDir(), Options{})
				if err != nil {
					b.Fatal(err)
				}
				batch := make([]outreach.Contact, n)
				copy(batch, cs)
				b.StartTimer()
				start := time.Now()
				err = s.ImportContacts(context.Background(), func(put PutFunc) error {
					for i := range batch {
						if _, err := put(&batch[i]); err != nil {
							return err
						}
					}
					return nil
				})
				elapsed += time.Since(start)
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				s.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "rows/s")
		})
	}
}

// BenchmarkClaimRecord measures the outbox's durable bookkeeping with
// fsync on: one Claim and one Record transaction per batch of deliveries,
// as the engine does, without SMTP. Its msgs/s is the store's ceiling for
// sending.
func BenchmarkClaimRecord(b *testing.B) {
	for _, batch := range []int{8, 32, 256} {
		b.Run(fmt.Sprint("batch", batch), func(b *testing.B) {
			ctx := context.Background()
			s, err := Open(b.TempDir(), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			const n = 5_000
			cs := make([]outreach.Contact, n)
			for i := range cs {
				cs[i] = benchContact(i)
			}
			if err := s.ImportContacts(ctx, func(put PutFunc) error {
				for i := range cs {
					if _, err := put(&cs[i]); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				b.Fatal(err)
			}
			rcpts := make([]Recipient, n)
			for i, c := range cs {
				rcpts[i] = Recipient{ContactID: c.ID, Email: c.Email}
			}
			mint := func(id uint64) (string, string) { return fmt.Sprint("tok", id), fmt.Sprintf("tok%d@example.org", id) }
			sent := 0
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				send := &outreach.Send{Template: "t", CampaignID: 1}
				if err := s.CreateSend(ctx, send, rcpts, mint); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				for {
					claimed, err := s.Claim(ctx, send.ID, time.Now(), batch)
					if err != nil {
						b.Fatal(err)
					}
					if len(claimed) == 0 {
						break
					}
					res := make([]Result, len(claimed))
					for i, c := range claimed {
						res[i] = Result{DeliveryID: c.Delivery.ID, Attempt: outreach.Attempt{Time: time.Now(), Outcome: outreach.DeliverySent, Code: 250}}
					}
					if _, err := s.Record(ctx, res); err != nil {
						b.Fatal(err)
					}
					sent += len(claimed)
				}
			}
			b.ReportMetric(float64(sent)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// TestImportIndexesUnorderedAndRepeatedAddresses covers the deferred,
// sorted index puts of ImportContacts: addresses out of order, and one
// address repeated (in another case) within the same import.
func TestImportIndexesUnorderedAndRepeatedAddresses(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	cs := []outreach.Contact{
		{Email: "zed@example.test", Country: "MY"},
		{Email: "Amy@example.test", Name: "Amy"},
		{Email: "mia@example.test"},
		{Email: "AMY@EXAMPLE.TEST", Organization: "Org A"},
		{Email: "amy@example.test"},
	}
	if got := fmt.Sprint(importAll(t, s, cs...)); got != "[created created created updated unchanged]" {
		t.Fatalf("results = %s", got)
	}
	if n, _ := s.CountContacts(ctx, nil); n != 3 {
		t.Errorf("count = %d; want 3", n)
	}
	amy, err := s.Contact(ctx, "amy@example.test")
	if err != nil || amy.Name != "Amy" || amy.Organization != "Org A" || amy.Email != "Amy@example.test" {
		t.Errorf("amy = %+v, %v", amy, err)
	}
	for _, e := range []string{"zed@example.test", "MIA@example.test"} {
		if _, err := s.Contact(ctx, e); err != nil {
			t.Errorf("Contact(%s): %v", e, err)
		}
	}
	if got := fmt.Sprint(importAll(t, s, outreach.Contact{Email: "mia@example.test"}, outreach.Contact{Email: "new@example.test"})); got != "[unchanged created]" {
		t.Errorf("second import results = %s", got)
	}
}
