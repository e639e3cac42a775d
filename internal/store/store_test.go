package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	bolt "go.etcd.io/bbolt"
)

// MustOpen opens a store in a fresh directory, closed at the end of the test.
func MustOpen(tb testing.TB) *Store {
	tb.Helper()
	s, err := Open(tb.TempDir(), Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func importAll(t *testing.T, s *Store, cs ...outreach.Contact) []string {
	t.Helper()
	var results []string
	err := s.ImportContacts(context.Background(), func(put PutFunc) error {
		for i := range cs {
			r, err := put(&cs[i])
			if err != nil {
				return err
			}
			results = append(results, r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return results
}

func TestSecondOpenFailsFast(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	_, err = Open(dir, Options{LockTimeout: 500 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open = %v; want ErrLocked", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("second Open took %v; want under 2s", d)
	}
}

func TestMigrationsRunOnceAndRefuseNewer(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Schema(); v != SchemaVersion {
		t.Errorf("schema = %d; want %d", v, SchemaVersion)
	}
	s.db.Update(func(tx *bolt.Tx) error { return bucket(tx, "meta").Put([]byte("schema"), u64(SchemaVersion+5)) })
	s.Close()
	if _, err := Open(dir, Options{}); err == nil {
		t.Fatal("Open of a newer schema succeeded; want an error")
	}
}

func TestImportMergesAndNeverReactivates(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	got := importAll(t, s,
		outreach.Contact{Email: "Ana@Example.test", Name: "Ana", Country: "MY", Tags: []string{"a"}},
		outreach.Contact{Email: "bob@example.test", Country: "PH", Status: "unsubscribed"},
	)
	if fmt.Sprint(got) != "[created created]" {
		t.Fatalf("results = %v", got)
	}
	got = importAll(t, s,
		outreach.Contact{Email: "ana@example.test", Organization: "Org A"},
		outreach.Contact{Email: "BOB@example.test", Status: "active"},
		outreach.Contact{Email: "bob@example.test"},
	)
	if fmt.Sprint(got) != "[updated unchanged unchanged]" {
		t.Fatalf("second import results = %v", got)
	}
	ana, err := s.Contact(ctx, "ANA@example.test")
	if err != nil {
		t.Fatal(err)
	}
	if ana.Name != "Ana" || ana.Organization != "Org A" || ana.Email != "Ana@Example.test" || ana.Regions[0] != "ASEAN" {
		t.Errorf("merged contact = %+v", ana)
	}
	bob, _ := s.Contact(ctx, "bob@example.test")
	if bob.Status != outreach.StatusUnsubscribed {
		t.Errorf("bob status = %s; an import must not reactivate", bob.Status)
	}
	if n, _ := s.CountContacts(ctx, nil); n != 2 {
		t.Errorf("count = %d; want 2 (no duplicates)", n)
	}
}

func TestImportIsAllOrNothing(t *testing.T) {
	s := MustOpen(t)
	err := s.ImportContacts(context.Background(), func(put PutFunc) error {
		put(&outreach.Contact{Email: "ok@example.test"})
		_, err := put(&outreach.Contact{Email: "bad@", Country: "MY"})
		return err
	})
	if outreach.ErrorCode(err) != outreach.EINVALID {
		t.Fatalf("err = %v; want EINVALID", err)
	}
	if n, _ := s.CountContacts(context.Background(), nil); n != 0 {
		t.Errorf("count = %d after a failed import; want 0", n)
	}
}

func TestSuppressionBlocksAndEditCannotReactivate(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	importAll(t, s, outreach.Contact{Email: "c@example.test", Country: "MY"})
	if err := s.Suppress(ctx, "C@example.test", outreach.StatusUnsubscribed, "test"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Suppressed(ctx, "c@EXAMPLE.test"); !ok {
		t.Error("address not suppressed")
	}
	active := outreach.StatusActive
	if _, err := s.UpdateContact(ctx, "c@example.test", ContactPatch{Status: &active}); outreach.ErrorCode(err) != outreach.EINVALID {
		t.Errorf("edit to active = %v; want EINVALID", err)
	}
	importAll(t, s, outreach.Contact{Email: "c@example.test", Status: "active"})
	if c, _ := s.Contact(ctx, "c@example.test"); c.Status != outreach.StatusUnsubscribed {
		t.Errorf("status after import = %s; want unsubscribed", c.Status)
	}
	if _, err := s.ReactivateContact(ctx, "c@example.test", "", "admin"); err == nil {
		t.Error("reactivate without a reason succeeded")
	}
	c, err := s.ReactivateContact(ctx, "c@example.test", "asked again by phone", "admin")
	if err != nil || c.Status != outreach.StatusActive {
		t.Fatalf("reactivate = %+v, %v", c, err)
	}
	if ok, _ := s.Suppressed(ctx, "c@example.test"); ok {
		t.Error("still suppressed after reactivation")
	}
	log, _ := s.AuditLog(ctx, "admin", time.Time{}, 10)
	if len(log) != 1 || log[0].Action != "contact.reactivate" {
		t.Errorf("audit = %+v; want the reactivation", log)
	}
}

func TestCodecRoundTrip(t *testing.T) {
	c := outreach.Contact{ID: 7, Email: "x@example.test", Name: "Ñandú 名前", Organization: "Org", Kind: "partner", Country: "MY",
		Regions: []string{"ASEAN"}, Language: "ms", TimeZone: "Asia/Kuala_Lumpur", Tags: []string{"a", "b c"},
		Attrs: map[string]string{"sector": "housing"}, Consent: outreach.Consent{Source: "form", Date: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)},
		Status: "active", Created: time.Unix(100, 5).UTC(), Updated: time.Unix(200, 0).UTC()}
	var got outreach.Contact
	if err := decodeContact(encodeContact(nil, &c), &got, false); err != nil {
		t.Fatal(err)
	}
	if !contactEqual(&c, &got) || got.ID != 7 || !got.Created.Equal(c.Created) {
		t.Errorf("round trip = %+v; want %+v", got, c)
	}
	for i := 0; i < len(encodeContact(nil, &c)); i++ {
		decodeContact(encodeContact(nil, &c)[:i], &got, false) // must not panic
	}
}

func TestTokens(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	secret, tok, err := s.CreateToken(ctx, "viewer1", outreach.RoleViewer, "admin")
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Authenticate(ctx, secret)
	if err != nil || p.Name != "viewer1" || p.Role != outreach.RoleViewer {
		t.Fatalf("Authenticate = %+v, %v", p, err)
	}
	if _, _, err := s.CreateToken(ctx, "viewer1", outreach.RoleAdmin, "admin"); err == nil {
		t.Error("a viewer's token with role admin was created")
	}
	if _, err := s.Authenticate(ctx, secret+"x"); outreach.ErrorCode(err) != outreach.EUNAUTHORIZED {
		t.Errorf("tampered secret: %v", err)
	}
	s.RevokeToken(ctx, tok.ID, "admin")
	if _, err := s.Authenticate(ctx, secret); outreach.ErrorCode(err) != outreach.EUNAUTHORIZED {
		t.Errorf("revoked token still authenticates: %v", err)
	}
}

func TestBackupIsOpenable(t *testing.T) {
	s := MustOpen(t)
	importAll(t, s, outreach.Contact{Email: "b@example.test"})
	dir := t.TempDir()
	f, _ := createFile(dir + "/" + FileName)
	if _, err := s.Backup(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	b, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if n, _ := b.CountContacts(context.Background(), nil); n != 1 {
		t.Errorf("backup has %d contacts; want 1", n)
	}
}
