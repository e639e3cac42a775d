package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/store"
)

type contactsPage struct {
	Items []outreach.Contact
	Next  string
}

func (s *Server) contactsPage(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	q := r.URL.Query()
	after, err := queryUint(r, "after")
	if err != nil {
		return err
	}
	pg := &contactsPage{}
	d := &pageData{Title: "Contacts", Section: "contacts", Form: q, Data: pg}
	items, next, err := s.Svc.ListContacts(r.Context(), p, q.Get("filter"), after, 50)
	status := http.StatusOK
	if err != nil {
		if err := formErrors(err, d); err != nil {
			return err
		}
		status = http.StatusUnprocessableEntity
	}
	pg.Items = items
	if next != 0 {
		pg.Next = strconv.FormatUint(next, 10)
	}
	return s.page(w, r, p, status, "contacts", d)
}

// contactForm is the edit form's values for c.
func contactForm(c *outreach.Contact) url.Values {
	return url.Values{"name": {c.Name}, "organization": {c.Organization}, "kind": {c.Kind}, "country": {c.Country},
		"language": {c.Language}, "timezone": {c.TimeZone}, "tags": {strings.Join(c.Tags, ", ")}}
}

func (s *Server) contactPage(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	email := r.PathValue("email")
	d := &pageData{Section: "contacts"}
	status := http.StatusOK
	if r.Method == http.MethodPost {
		if err := parseForm(w, r); err != nil {
			return err
		}
		f := r.PostForm
		field := func(k string) *string { v := strings.TrimSpace(f.Get(k)); return &v }
		var tags []string
		for _, t := range strings.Split(f.Get("tags"), ",") {
			if t = strings.TrimSpace(t); t != "" {
				tags = append(tags, t)
			}
		}
		patch := store.ContactPatch{Name: field("name"), Organization: field("organization"), Kind: field("kind"),
			Country: field("country"), Language: field("language"), TimeZone: field("timezone"), Tags: &tags}
		c, err := s.Svc.UpdateContact(r.Context(), p, email, patch)
		if err == nil {
			return redirect(w, r, "/contacts/"+url.PathEscape(c.Email), "Contact saved.")
		}
		if err := formErrors(err, d); err != nil {
			return err
		}
		d.Form = f
		status = http.StatusUnprocessableEntity
	}
	h, err := s.Svc.ContactHistory(r.Context(), p, email)
	if err != nil {
		return err
	}
	if d.Form == nil {
		d.Form = contactForm(h.Contact)
	}
	d.Title, d.Data = h.Contact.Email, h
	return s.page(w, r, p, status, "contact", d)
}

func (s *Server) suppressContactPage(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	email := r.PathValue("email")
	if _, err := s.Svc.Contact(r.Context(), p, email); err != nil {
		return err
	}
	if err := s.Svc.Suppress(r.Context(), p, email, "manual"); err != nil {
		return err
	}
	return redirect(w, r, "/contacts/"+url.PathEscape(email), email+" is suppressed: no wave will reach it.")
}
