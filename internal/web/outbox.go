package web

import (
	"context"
	"encoding/csv"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/outreach-coalition/outreach/internal/csvsafe"
	"github.com/outreach-coalition/outreach/internal/devmail"
	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/service"
	"github.com/outreach-coalition/outreach/internal/store"
)

// Captured lists mail kept by the development mail server.
type Captured interface {
	Messages() []devmail.Message
}

func logFilter(r *http.Request) (store.LogFilter, error) {
	q := r.URL.Query()
	f := store.LogFilter{Status: q.Get("status"), Email: q.Get("email"), Domain: q.Get("domain"), After: q.Get("after")}
	switch f.Status {
	case "", outreach.DeliverySent, outreach.DeliveryRetrying, outreach.DeliveryFailed, outreach.DeliverySuppressed, outreach.DeliveryUncertain:
	default:
		return f, outreach.FieldError("status", "%q is not an outcome (sent, retrying, failed, suppressed, uncertain)", f.Status)
	}
	var err error
	for name, dst := range map[string]*uint64{"wave": &f.WaveID, "send": &f.SendID} {
		if v := q.Get(name); v != "" {
			if *dst, err = strconv.ParseUint(v, 10, 64); err != nil {
				return f, outreach.FieldError(name, "%q is not a number", v)
			}
		}
	}
	for name, dst := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if v := q.Get(name); v != "" {
			if *dst, err = time.Parse(time.RFC3339, v); err != nil {
				return f, outreach.FieldError(name, "%q is not an RFC 3339 time", v)
			}
		}
	}
	if v := q.Get("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil {
			return f, outreach.FieldError("limit", "%q is not a number", v)
		}
	}
	return f, nil
}

func (s *Server) deliveryLog(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	f, err := logFilter(r)
	if err != nil {
		return err
	}
	items, next, err := s.Svc.DeliveryLog(r.Context(), p, f)
	if err != nil {
		return err
	}
	if items == nil {
		items = []outreach.Attempt{}
	}
	writeJSON(w, http.StatusOK, Page[outreach.Attempt]{Items: items, Next: next})
	return nil
}

// deliveryLogCSV writes the delivery log as CSV. Servers' answers and
// addresses come from outside: cells a spreadsheet would read as a
// formula are escaped (internal/csvsafe).
func (s *Server) deliveryLogCSV(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	f, err := logFilter(r)
	if err != nil {
		return err
	}
	f.Limit = 5000
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	cw := csv.NewWriter(w)
	cw.Write([]string{"time", "wave", "send", "delivery", "email", "outcome", "server", "code", "enhanced", "response", "duration_ms"})
	for {
		items, next, err := s.Svc.DeliveryLog(r.Context(), p, f)
		if err != nil {
			return err
		}
		for _, a := range items {
			cw.Write(csvsafe.Row(a.Time.Format(time.RFC3339Nano), strconv.FormatUint(a.WaveID, 10), strconv.FormatUint(a.SendID, 10),
				strconv.FormatUint(a.DeliveryID, 10), a.Email, a.Outcome, a.Server, strconv.Itoa(a.Code), a.Enhanced, a.Response,
				strconv.FormatFloat(float64(a.Duration)/1e6, 'f', 3, 64)))
		}
		if next == "" {
			break
		}
		f.After = next
	}
	cw.Flush()
	return cw.Error()
}

// captured returns the captured messages p may see, oldest first: every
// one for an unscoped principal; for one scoped to countries, those whose
// every recipient is a contact in its countries.
func (s *Server) captured(ctx context.Context, p *outreach.Principal) ([]devmail.Message, error) {
	if s.Captured == nil {
		return nil, outreach.Errorf(outreach.ENOTFOUND, "mail is not being captured: smtp.url is set, so mail is delivered")
	}
	msgs := s.Captured.Messages()
	if len(p.Countries) == 0 {
		return msgs, nil
	}
	seen := map[string]bool{}
	inScope := func(addr string) (bool, error) {
		key := outreach.EmailKey(addr)
		if ok, done := seen[key]; done {
			return ok, nil
		}
		_, err := s.Svc.Contact(ctx, p, addr)
		if err != nil && outreach.ErrorCode(err) != outreach.ENOTFOUND {
			return false, err
		}
		seen[key] = err == nil
		return err == nil, nil
	}
	var out []devmail.Message
	for _, m := range msgs {
		ok := len(m.To) > 0
		for _, to := range m.To {
			in, err := inScope(to)
			if err != nil {
				return nil, err
			}
			ok = ok && in
		}
		if ok {
			out = append(out, m)
		}
	}
	return out, nil
}

func (s *Server) capturedMail(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	msgs, err := s.captured(r.Context(), p)
	if err != nil {
		return err
	}
	type msg struct {
		ID       int       `json:"id"`
		From     string    `json:"from"`
		To       []string  `json:"to"`
		Subject  string    `json:"subject"`
		Received time.Time `json:"received"`
		Raw      string    `json:"raw,omitempty"`
	}
	out := []msg{}
	raw := r.URL.Query().Get("raw") == "true"
	for _, m := range msgs {
		x := msg{ID: m.ID, From: m.From, To: m.To, Subject: m.Subject, Received: m.Received}
		if raw {
			x.Raw = string(m.Raw)
		}
		out = append(out, x)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// The unsubscribe page: GET shows a confirmation form in the contact's
// language; POST unsubscribes. The signed token in the URL is the only
// credential and also stands in for CSRF protection. A one-click POST
// (RFC 8058: body List-Unsubscribe=One-Click) unsubscribes at once and
// answers 200.
var unsubscribePage = template.Must(template.New("u").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{.T.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36em;margin:3em auto;padding:0 1em;line-height:1.5}button{font-size:1em;padding:.5em 1em}</style>
</head><body>
<h1>{{.T.Title}}</h1>
{{if .Done}}<p role="status">{{.T.Done}}</p>
{{else}}<p>{{.T.Ask}} <strong>{{.Email}}</strong>{{if .Campaign}} ({{.Campaign}}){{end}}?</p>
<form method="post"><input type="hidden" name="confirm" value="yes"><button type="submit" autofocus>{{.T.Button}}</button></form>{{end}}
</body></html>`))

type unsubText struct{ Title, Ask, Button, Done string }

var unsubTexts = map[string]unsubText{
	"en": {"Unsubscribe", "Stop all campaign mail to", "Unsubscribe", "You are unsubscribed. You will receive no more campaign mail."},
	"es": {"Darse de baja", "¿Dejar de enviar correos de la campaña a", "Darme de baja", "Se ha dado de baja. No recibirá más correos de la campaña."},
	"fr": {"Se désabonner", "Ne plus envoyer de courriels de la campagne à", "Me désabonner", "Vous êtes désabonné·e. Vous ne recevrez plus de courriels de la campagne."},
	"pt": {"Cancelar inscrição", "Deixar de enviar mensagens da campanha para", "Cancelar inscrição", "A sua inscrição foi cancelada. Não receberá mais mensagens da campanha."},
}

func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request, _ *outreach.Principal) error {
	token := r.PathValue("token")
	var t *service.UnsubscribeTarget
	var err error
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 4096)
		r.ParseForm()
		via := "unsubscribe page"
		if r.PostForm.Get("List-Unsubscribe") == "One-Click" {
			via = "one-click (RFC 8058)"
		} else if r.PostForm.Get("confirm") != "yes" {
			return outreach.Errorf(outreach.EINVALID, "confirm the unsubscribe with the button on the page")
		}
		t, err = s.Svc.Unsubscribe(r.Context(), token, via)
	} else {
		t, err = s.Svc.UnsubscribeInfo(r.Context(), token)
	}
	if err != nil {
		return err
	}
	lang := outreach.BaseLanguage(t.Language)
	txt, ok := unsubTexts[lang]
	if !ok {
		lang, txt = "en", unsubTexts["en"]
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	return unsubscribePage.Execute(w, map[string]any{"Lang": lang, "T": txt, "Email": t.Email, "Campaign": t.Campaign, "Done": t.Done})
}
