package realmail_test

import (
	"net"
	"net/smtp"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/outreach-coalition/outreach/test/realmail"
)

func TestAddUserReceivesMail(t *testing.T) {
	s := realmail.Env(t)
	id := token(t)
	user := s.AddUser(t, "added-"+id)
	if want := "added-" + id + "@" + s.Domain; user != want {
		t.Fatalf("AddUser = %q; want %q", user, want)
	}
	msgID := id + ".added@example.test"
	if err := relay(t, s, newMsg(t, "someone@example.test", user, "hello "+id, msgID)); err != nil {
		t.Fatalf("relay to the new user: %v", err)
	}
	s.WaitMessage(t, user, hasMessageID(msgID), wait)
	if got := s.Folder(t, user, "INBOX"); len(got) != 1 {
		t.Errorf("Folder(INBOX) of a new user holds %d messages; want 1", len(got))
	}
}

// TestInstanceStopStart starts a private instance and stops and restarts
// each server: a stop ends the sessions already open (Dovecot's imap
// processes and Postfix's smtpd outlive their master otherwise), the ports
// refuse connections while stopped, and once started mail flows again.
func TestInstanceStopStart(t *testing.T) {
	realmail.Env(t)
	t.Parallel()
	s := realmail.StartInstance(t)
	if shared := realmail.Env(t); s.StateDir == shared.StateDir || s.MX == shared.MX {
		t.Fatalf("private instance shares %s / %s with the shared one", s.StateDir, s.MX)
	}
	id := token(t)

	imapc, err := imapclient.DialTLS(s.IMAPS, &imapclient.Options{TLSConfig: s.TLSConfig(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer imapc.Close()
	if err := imapc.Login(s.Address("campaign"), s.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := imapc.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	s.StopDovecot(t)
	if err := imapc.Noop().Wait(); err == nil {
		t.Errorf("an IMAP session opened before StopDovecot still answers NOOP")
	}
	if c, err := net.DialTimeout("tcp", s.IMAPS, time.Second); err == nil {
		c.Close()
		t.Errorf("IMAPS %s accepts connections after StopDovecot", s.IMAPS)
	}
	s.StartDovecot(t)
	smtpc, err := smtp.Dial(s.MX)
	if err != nil {
		t.Fatal(err)
	}
	defer smtpc.Close()
	if err := smtpc.Hello("client.example.test"); err != nil {
		t.Fatal(err)
	}
	s.StopPostfix(t)
	if err := smtpc.Noop(); err == nil {
		t.Errorf("an SMTP session opened before StopPostfix still answers NOOP")
	}
	if c, err := net.DialTimeout("tcp", s.MX, time.Second); err == nil {
		c.Close()
		t.Errorf("MX %s accepts connections after StopPostfix", s.MX)
	}
	s.StartPostfix(t)

	msgID := id + ".restarted@example.test"
	if err := relay(t, s, newMsg(t, "someone@example.test", s.Address("partner1"), "after restart", msgID)); err != nil {
		t.Fatalf("relay after the restarts: %v", err)
	}
	s.WaitMessage(t, "partner1", hasMessageID(msgID), wait)
	if err := submit(t, s, newMsg(t, s.Address("sender"), s.Address("partner2"), "submitted", "s"+msgID)); err != nil {
		t.Fatalf("submit after the restarts: %v", err)
	}
	s.WaitMessage(t, "partner2", hasMessageID("s"+msgID), wait)
}
