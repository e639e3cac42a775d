package web

import (
	"net/http"
	"strconv"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/service"
)

// TemplateEdit is the JSON body of PUT /api/v1/templates/{name}: the
// template's files, path -> content, as GET /api/v1/templates/{name}
// returns them.
type TemplateEdit struct {
	Files map[string]string `json:"files"`
}

func (s *Server) listTemplates(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	list, err := s.Svc.Templates(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func queryUint(r *http.Request, name string) (uint64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, outreach.FieldError(name, "%q is not a number", v)
	}
	return n, nil
}

func (s *Server) getTemplate(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	v, err := queryUint(r, "version")
	if err != nil {
		return err
	}
	tv, err := s.Svc.Template(r.Context(), p, r.PathValue("name"), v)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tv)
	return nil
}

func (s *Server) editTemplate(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	var in TemplateEdit
	if err := readJSON(r, &in); err != nil {
		return err
	}
	ch, err := s.Svc.EditTemplate(r.Context(), p, r.PathValue("name"), in.Files)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ch)
	return nil
}

func (s *Server) renderTemplate(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	q := r.URL.Query()
	in := service.PreviewInput{Template: r.PathValue("name"), Email: q.Get("email"), Lang: q.Get("lang")}
	var err error
	if v := q.Get("sample"); v != "" {
		if in.Sample, err = strconv.ParseBool(v); err != nil {
			return outreach.FieldError("sample", "%q is not true or false", v)
		}
	}
	if in.Version, err = queryUint(r, "version"); err != nil {
		return err
	}
	if in.CampaignID, err = queryUint(r, "campaign"); err != nil {
		return err
	}
	pv, err := s.Svc.PreviewTemplate(r.Context(), p, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pv)
	return nil
}

func (s *Server) reloadTemplates(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	load, err := s.Svc.ReloadTemplates(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, load)
	return nil
}
