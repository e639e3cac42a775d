package smtpout

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/outreach-coalition/outreach/internal/devmail"
)

func TestDKIM(t *testing.T) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srv := startDevmail(t, devmail.Options{})
	p := newPool(t, Config{Endpoint: endpointOf(t, srv, NoTLS),
		DKIM: &DKIM{Domain: "example.org", Selector: "s2026", Key: key}})

	m := newMsg(t, "a@example.net", "Endorse the joint letter – ünïcode")
	if err := m.ReplyTo("replies@example.org"); err != nil {
		t.Fatal(err)
	}
	if err := m.SetListUnsubscribeOneClick("https://example.org/u/abcdefghijklmnopqrstuvwxyz0123456789", "mailto:unsub@example.org?subject=u"); err != nil {
		t.Fatal(err)
	}
	m.AddAlternativeString("text/html", "<p>Please endorse.</p>")
	wantSent(t, sendMsg(t.Context(), t, p, m, "a@example.net"))

	raw := srv.Messages()[0].Raw
	lookup := func(domain string) ([]string, error) {
		if domain != "s2026._domainkey.example.org" {
			t.Errorf("DNS lookup of %s", domain)
		}
		return []string{"v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)}, nil
	}
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{LookupTXT: lookup})
	if err != nil || len(vs) != 1 {
		t.Fatalf("verify: %d signatures, %v", len(vs), err)
	}
	v := vs[0]
	if v.Err != nil || v.Domain != "example.org" {
		t.Fatalf("verification = %+v; want a good signature by example.org", v)
	}
	keys := strings.Join(v.HeaderKeys, ",")
	for _, k := range []string{"From", "To", "Subject", "Date", "Message-ID", "Reply-To", "MIME-Version", "Content-Type", "List-Unsubscribe", "List-Unsubscribe-Post"} {
		if !slices.ContainsFunc(v.HeaderKeys, func(h string) bool { return strings.EqualFold(h, k) }) {
			t.Errorf("signed headers %s lack %s", keys, k)
		}
	}
	if slices.ContainsFunc(v.HeaderKeys, func(h string) bool { return strings.EqualFold(h, "Cc") }) {
		t.Errorf("signed headers %s include the absent Cc", keys)
	}

	tampered := bytes.Replace(raw, []byte("Please endorse."), []byte("Please ignore.."), 1)
	vs, err = dkim.VerifyWithOptions(bytes.NewReader(tampered), &dkim.VerifyOptions{LookupTXT: lookup})
	if err != nil || len(vs) != 1 || vs[0].Err == nil {
		t.Errorf("tampered body verified: %v %v", vs, err)
	}
}

func TestReadDKIMKey(t *testing.T) {
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	edDER, _ := x509.MarshalPKCS8PrivateKey(edKey)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	rsa8, _ := x509.MarshalPKCS8PrivateKey(rsaKey)

	for _, path := range []string{
		write("ed.pem", "PRIVATE KEY", edDER),
		write("rsa1.pem", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)),
		write("rsa8.pem", "PRIVATE KEY", rsa8),
	} {
		k, err := ReadDKIMKey(path)
		if err != nil {
			t.Errorf("ReadDKIMKey(%s): %v", path, err)
			continue
		}
		if err := (&DKIM{Domain: "example.org", Selector: "s", Key: k}).validate(); err != nil {
			t.Errorf("key from %s: %v", path, err)
		}
	}
	for _, path := range []string{
		filepath.Join(dir, "missing.pem"),
		write("cert.pem", "CERTIFICATE", []byte{1, 2, 3}),
		write("junk.pem", "PRIVATE KEY", []byte{1, 2, 3}),
	} {
		if _, err := ReadDKIMKey(path); err == nil || !strings.Contains(err.Error(), "dkim key") {
			t.Errorf("ReadDKIMKey(%s) = %v; want an error", path, err)
		}
	}
}
