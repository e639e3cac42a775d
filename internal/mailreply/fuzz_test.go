package mailreply

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

func addFixtureSeeds(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "replies", "*.eml"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no fixtures: %v", err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(""))
	f.Add([]byte("From: a@b.example\n\n"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: multipart/mixed; boundary=x\n\n--x\n"))
	f.Add([]byte("Content-Type: text/html\n\n<blockquote><blockquote><p>&#0;\x00</blockquote>"))
	f.Add([]byte("Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\nContent-Type: message/delivery-status\n\nFinal-Recipient: ;\nAction:\n\n--b--\n"))
}

// checkInvariants holds for every message: automated mail and bounces are
// never endorsements, and what is not sure goes to review.
func checkInvariants(t *testing.T, m *Message, r Result) {
	t.Helper()
	if (m.Automated != "" || len(m.Bounces) > 0) && r.Class == outreach.ClassEndorse {
		t.Fatalf("automated or bounced message classified as endorsement: %+v (Automated=%q Bounces=%v)", r, m.Automated, m.Bounces)
	}
	if !r.Sure && !r.Review {
		t.Fatalf("result neither sure nor sent to review: %+v", r)
	}
	switch r.Class {
	case outreach.ClassEndorse, outreach.ClassDecline, outreach.ClassUnsubscribe, outreach.ClassAutoReply, outreach.ClassBounce, outreach.ClassOther:
	default:
		t.Fatalf("unknown class %q", r.Class)
	}
}

func FuzzParse(f *testing.F) {
	addFixtureSeeds(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := Parse(bytes.NewReader(raw))
		if err != nil {
			return
		}
		r := Classify(m)
		checkInvariants(t, m, r)
		PrintName(m)
	})
}

func FuzzClassify(f *testing.F) {
	seeds := []string{
		"We endorse the letter.", "Yes", "No", "Sí, pero no", "Nous ne signons pas", "Não podemos endossar",
		"We would endorse if", "Can we endorse?", "Yes, remove us", "> Reply YES to endorse", "¿Sí?", "sí",
		"Count us in!\n-- \nSupport Network", "On Mon wrote:\n> yes", "\xff\xfe\x00", "",
	}
	for i, s := range seeds {
		f.Add(s, "Re: will you endorse?", i%3 == 0, i%4 == 0)
	}
	f.Fuzz(func(t *testing.T, text, subject string, automated, bounced bool) {
		m := &Message{Subject: subject, Text: text, NewText: newText(text), InReplyTo: []string{"x@outreach.example"}}
		if automated {
			m.Automated = "Auto-Submitted: auto-replied"
		}
		if bounced {
			m.Bounces = []outreach.Bounce{{Recipient: "a@b.example", Action: "failed", Hard: true}}
		}
		r := Classify(m)
		checkInvariants(t, m, r)
		PrintName(m)
	})
}
