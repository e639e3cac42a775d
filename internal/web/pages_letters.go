package web

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/outreach-coalition/outreach/internal/devmail"
	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/service"
)

func (s *Server) lettersPage(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	list, err := s.Svc.Letters(r.Context(), p)
	if err != nil {
		return err
	}
	return s.page(w, r, p, http.StatusOK, "letters", &pageData{Title: "Letters", Section: "letters", Data: list})
}

type letterPage struct {
	Preview *service.LetterPreview
	Sends   []outreach.LetterSend
}

func (s *Server) letterPage(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	country := strings.ToUpper(r.PathValue("country"))
	pv, err := s.Svc.PreviewLetter(r.Context(), p, id, country, r.URL.Query().Get("lang"))
	if err != nil {
		return err
	}
	pg := &letterPage{Preview: pv}
	if lv, err := s.Svc.Letter(r.Context(), p, id); err == nil {
		for _, c := range lv.Countries {
			if c.Country == country {
				pg.Sends = c.Sends
			}
		}
	}
	slices.Reverse(pg.Sends)
	return s.page(w, r, p, http.StatusOK, "letter", &pageData{Title: fmt.Sprintf("Letter %d to %s", id, country), Section: "letters", Data: pg})
}

func (s *Server) sendLetterPage(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	country := strings.ToUpper(r.PathValue("country"))
	back := fmt.Sprintf("/letters/%d/%s", id, country)
	rep, err := s.Svc.SendLetter(r.Context(), p, id, service.LetterSendInput{Country: country, Resend: r.PostForm.Get("resend") == "true"})
	if code := outreach.ErrorCode(err); code == outreach.ECONFLICT || code == outreach.EINVALID {
		return redirect(w, r, back, "Not sent: "+outreach.ErrorMessage(err))
	}
	if err != nil {
		return err
	}
	done := "Nothing was sent."
	if len(rep.Sent) > 0 {
		sent := rep.Sent[0]
		done = fmt.Sprintf("Letter sent to %d targets in %s with %d names on the roster.", sent.Targets, sent.Country, len(sent.Roster))
	}
	return redirect(w, r, back, done)
}

func (s *Server) mailPage(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	msgs, err := s.captured(r.Context(), p)
	if err != nil {
		return err
	}
	slices.Reverse(msgs)
	if len(msgs) > 500 {
		msgs = msgs[:500]
	}
	return s.page(w, r, p, http.StatusOK, "mail", &pageData{Title: "Captured mail", Section: "mail", Data: msgs})
}

func (s *Server) messagePage(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	msgs, err := s.captured(r.Context(), p)
	if err != nil {
		return err
	}
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		return outreach.FieldError("id", "%q is not a number", r.PathValue("id"))
	}
	var m *devmail.Message
	for _, x := range msgs {
		if x.ID == id {
			m = &x
		}
	}
	if m == nil {
		return outreach.Errorf(outreach.ENOTFOUND, "no captured message %d", id)
	}
	return s.page(w, r, p, http.StatusOK, "message", &pageData{Title: m.Subject, Section: "mail", Data: m})
}
