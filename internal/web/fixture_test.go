package web

import (
	"context"
	"io"
	"io/fs"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/outreach-coalition/outreach/internal/devmail"
	"github.com/outreach-coalition/outreach/internal/outbox"
	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/service"
	"github.com/outreach-coalition/outreach/internal/smtpout"
	"github.com/outreach-coalition/outreach/internal/store"
	"github.com/outreach-coalition/outreach/templates"
	"golang.org/x/crypto/bcrypt"
)

// uiFixture is the daemon as the web UI sees it, wired as serve wires it:
// a store, the service with the shipped templates, the outbox sending to a
// development mail server on 127.0.0.1, and the HTTP server. It holds
// partners in MY and PH, a target in MY, and tokens for an admin, a
// coordinator scoped to MY (who also signs in with coordPassword) and a
// viewer.
type uiFixture struct {
	st      *store.Store
	svc     *service.Service
	srv     *Server
	ts      *httptest.Server
	mail    *devmail.Server
	admin   string // token secrets
	coordMY string
	viewer  string
}

var fixtureContacts = `email,name,organization,kind,country,language
ana@rights.my.test,Ana Lim,Rights Watch Malaysia,partner,MY,en
budi@aliran.my.test,Budi Rahman,Aliran,partner,MY,en
chen@suaram.my.test,Chen Wei,Suaram,partner,MY,en
dela@phrights.ph.test,Dela Cruz,PH Rights Network,partner,PH,en
eli@karapatan.ph.test,Eli Santos,Karapatan,partner,PH,en
pm@gov.my.test,Prime Minister,Government of Malaysia,head_of_state,MY,en
`

// coordPassword is the password of coord-my, the coordinator scoped to MY.
const coordPassword = "correct horse battery"

func newUIFixture(t testing.TB) *uiFixture {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := service.New(st, log, nil)
	svc.SignIn.PasswordCost = bcrypt.MinCost
	camp, err := st.EnsureDefaultCampaign(ctx, &outreach.Campaign{Name: "OP-ICESCR ratification", From: "Coalition <campaign@coalition.test>",
		ReplyTo: "campaign@coalition.test", DefaultLanguage: "en", PostalAddress: "1 Rue de Genève, Geneva"})
	if err != nil {
		t.Fatal(err)
	}
	svc.DefaultCampaign = camp.ID
	mailFS, _ := fs.Sub(templates.Mail, "mail")
	svc.TemplateSource = service.TemplateSource{FS: mailFS, Name: "embedded templates"}
	if _, err := svc.LoadTemplates(ctx); err != nil {
		t.Fatal(err)
	}
	f := &uiFixture{st: st, svc: svc}
	root := &outreach.Principal{Name: "admin", Role: outreach.RoleAdmin}
	if _, err := svc.ImportContacts(ctx, root, strings.NewReader(fixtureContacts), false); err != nil {
		t.Fatal(err)
	}

	f.mail, err = devmail.Start(ctx, devmail.Options{Addr: "127.0.0.1:0", Domain: "devmail.localhost", Keep: 1000, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.mail.Close() })
	ep, err := smtpout.ParseURL("smtp://" + f.mail.Addr() + "?tls=none")
	if err != nil {
		t.Fatal(err)
	}
	pool, err := smtpout.New(smtpout.Config{Endpoint: ep, Connections: 2}, log)
	if err != nil {
		t.Fatal(err)
	}
	tokens := outbox.NewTokens([]byte("0123456789abcdef0123456789abcdef"))
	f.srv = &Server{Svc: svc, Auth: st, Log: log, Captured: f.mail}
	f.ts = httptest.NewServer(f.srv.Handler())
	t.Cleanup(f.ts.Close)
	eng := outbox.New(outbox.Config{Connections: 2, PublicURL: f.ts.URL}, st, pool, tokens, log, nil)
	svc.Outbox, svc.Tokens = eng, tokens
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); eng.Run(runCtx) }()
	t.Cleanup(func() { cancel(); <-done; pool.Close() })

	cred, err := svc.HashPassword("coord-my", coordPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateUser(ctx, outreach.User{Name: "coord-my", Role: outreach.RoleCoordinator, Countries: []string{"MY"}}, cred, "test"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct {
		dst        *string
		name, role string
	}{{&f.admin, "admin", outreach.RoleAdmin}, {&f.coordMY, "coord-my", outreach.RoleCoordinator}, {&f.viewer, "val", outreach.RoleViewer}} {
		if *u.dst, _, err = st.CreateToken(ctx, u.name, u.role, "test"); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// contactID returns the id of the contact with address email.
func (f *uiFixture) contactID(t testing.TB, email string) uint64 {
	t.Helper()
	c, err := f.st.Contact(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// reviewReply stores a reply waiting for a person, as the inbox would,
// answering the contact's latest delivery when it has one.
func (f *uiFixture) reviewReply(t testing.TB, key, from, text string) uint64 {
	t.Helper()
	ctx := context.Background()
	r := outreach.Reply{MessageID: key, From: from, Subject: "Re: Join the call", ContactID: f.contactID(t, from), CampaignID: f.svc.DefaultCampaign,
		Class: outreach.ClassOther, Review: true, Text: text, Reason: "no clear endorsement: a question", Match: outreach.MatchSender}
	if ds, err := f.st.ContactDeliveries(ctx, r.ContactID); err == nil && len(ds) > 0 {
		r.DeliveryID, r.Match = ds[len(ds)-1].ID, outreach.MatchToken
	}
	rec, err := f.st.RecordReply(ctx, &store.Incoming{Key: key, Reply: r})
	if err != nil {
		t.Fatal(err)
	}
	return rec.Reply.ID
}
