package web

import (
	"context"
	"net/http"
	"strconv"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/service"
)

// letterID reads the {id} of a letter route: a number, or "latest" for
// the latest letter of the default campaign.
func letterID(r *http.Request) (uint64, error) {
	v := r.PathValue("id")
	if v == "latest" {
		return 0, nil
	}
	id, err := strconv.ParseUint(v, 10, 64)
	if err != nil || id == 0 {
		return 0, outreach.FieldError("id", "%q is not a letter id or \"latest\"", v)
	}
	return id, nil
}

func (s *Server) listLetters(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	list, err := s.Svc.Letters(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) createLetter(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	var in service.LetterInput
	if err := readJSON(r, &in); err != nil {
		return err
	}
	v, err := s.Svc.CreateLetter(r.Context(), p, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func (s *Server) getLetter(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	id, err := letterID(r)
	if err != nil {
		return err
	}
	v, err := s.Svc.Letter(r.Context(), p, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) previewLetter(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	id, err := letterID(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	pv, err := s.Svc.PreviewLetter(r.Context(), p, id, q.Get("country"), q.Get("lang"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pv)
	return nil
}

// exportLetter answers the file itself: ?country=C&format=csv|html|md
// [&lang=L][&as_sent=true].
func (s *Server) exportLetter(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	id, err := letterID(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	asSent := false
	if v := q.Get("as_sent"); v != "" {
		if asSent, err = strconv.ParseBool(v); err != nil {
			return outreach.FieldError("as_sent", "%q is not true or false", v)
		}
	}
	x, err := s.Svc.ExportLetter(r.Context(), p, id, q.Get("country"), q.Get("format"), q.Get("lang"), asSent)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", x.ContentType)
	w.Header().Set("Content-Disposition", `attachment; filename="`+x.Name+`"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, err = w.Write(x.Body)
	return err
}

func (s *Server) sendLetter(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	return s.letterAction(w, r, p, s.Svc.SendLetter)
}

func (s *Server) approveLetter(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	return s.letterAction(w, r, p, s.Svc.ApproveLetter)
}

type letterActionFunc func(ctx context.Context, p *outreach.Principal, id uint64, in service.LetterSendInput) (*service.LetterReport, error)

func (s *Server) letterAction(w http.ResponseWriter, r *http.Request, p *outreach.Principal, do letterActionFunc) error {
	id, err := letterID(r)
	if err != nil {
		return err
	}
	var in service.LetterSendInput
	if err := readJSON(r, &in); err != nil {
		return err
	}
	rep, err := do(r.Context(), p, id, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}
