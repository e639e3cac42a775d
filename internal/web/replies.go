package web

import (
	"net/http"
	"strconv"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/service"
)

// replyPage lists replies: GET /api/v1/replies?class=&review=true&after=&limit=
// and GET /api/v1/review (the review queue).
func (s *Server) replyPage(w http.ResponseWriter, r *http.Request, p *outreach.Principal, review bool) error {
	after, limit, err := cursor(r)
	if err != nil {
		return err
	}
	q := service.ReplyQuery{Class: r.URL.Query().Get("class"), Review: review || r.URL.Query().Get("review") == "true", After: after, Limit: limit}
	items, next, err := s.Svc.Replies(r.Context(), p, q)
	if err != nil {
		return err
	}
	page := Page[outreach.Reply]{Items: items}
	if items == nil {
		page.Items = []outreach.Reply{}
	}
	if next != 0 {
		page.Next = strconv.FormatUint(next, 10)
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) listReplies(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	return s.replyPage(w, r, p, false)
}

func (s *Server) reviewQueue(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	return s.replyPage(w, r, p, true)
}

func (s *Server) getReply(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	v, err := s.Svc.Reply(r.Context(), p, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// reviewAction is POST /api/v1/review/{id}/{action} with a JSON
// service.ReviewInput body (optional for approve and reject).
func (s *Server) reviewAction(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in service.ReviewInput
	if r.ContentLength != 0 {
		if err := readJSON(r, &in); err != nil {
			return err
		}
	}
	res, err := s.Svc.Review(r.Context(), p, id, r.PathValue("action"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func endorsementQuery(r *http.Request) (service.EndorsementQuery, error) {
	q := service.EndorsementQuery{Country: r.URL.Query().Get("country"), State: r.URL.Query().Get("state")}
	if v := r.URL.Query().Get("campaign"); v != "" {
		id, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return q, outreach.FieldError("campaign", "%q is not a number", v)
		}
		q.CampaignID = id
	}
	return q, nil
}

func (s *Server) listEndorsements(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	q, err := endorsementQuery(r)
	if err != nil {
		return err
	}
	list, err := s.Svc.Endorsements(r.Context(), p, q)
	if err != nil {
		return err
	}
	if list == nil {
		list = []outreach.Endorsement{}
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) exportEndorsements(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	q, err := endorsementQuery(r)
	if err != nil {
		return err
	}
	if _, err := s.Svc.Endorsements(r.Context(), p, q); err != nil {
		return err // before any byte of CSV is written
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	return s.Svc.ExportEndorsements(r.Context(), p, q, w)
}

func (s *Server) importEndorsements(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	rep, err := s.Svc.ImportEndorsements(r.Context(), p, limitBody(w, r, maxListBody), r.URL.Query().Get("skip_invalid") == "true")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (s *Server) addEndorsement(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	var in service.EndorsementInput
	if err := readJSON(r, &in); err != nil {
		return err
	}
	e, err := s.Svc.AddEndorsement(r.Context(), p, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, e)
	return nil
}

func (s *Server) getEndorsement(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	v, err := s.Svc.Endorsement(r.Context(), p, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// endorsementAction is POST /api/v1/endorsements/{id}/{action}
// (confirm, reject, withdraw) with an optional JSON body {"note": "..."}.
func (s *Server) endorsementAction(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		Note string `json:"note"`
	}
	if r.ContentLength != 0 {
		if err := readJSON(r, &in); err != nil {
			return err
		}
	}
	e, err := s.Svc.SetEndorsement(r.Context(), p, id, r.PathValue("action"), in.Note)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}
