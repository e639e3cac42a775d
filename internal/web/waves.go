package web

import (
	"net/http"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/service"
)

func (s *Server) createWave(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	var in service.WaveInput
	if err := readJSON(r, &in); err != nil {
		return err
	}
	v, err := s.Svc.CreateWave(r.Context(), p, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v)
	return nil
}

// previewWave is the dry run of a wave described like createWave's.
func (s *Server) previewWave(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	var in service.WaveInput
	if err := readJSON(r, &in); err != nil {
		return err
	}
	d, err := s.Svc.PreviewWave(r.Context(), p, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (s *Server) dryRunWave(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	d, err := s.Svc.DryRunWave(r.Context(), p, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (s *Server) listWaves(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	list, err := s.Svc.Waves(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) getWave(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	v, err := s.Svc.Wave(r.Context(), p, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) waveAction(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		Reason string `json:"reason"`
	}
	if r.ContentLength > 0 {
		if err := readJSON(r, &in); err != nil {
			return err
		}
	}
	var v *service.WaveView
	switch r.PathValue("action") {
	case "pause":
		v, err = s.Svc.PauseWave(r.Context(), p, id, in.Reason)
	case "resume":
		v, err = s.Svc.ResumeWave(r.Context(), p, id)
	case "cancel":
		v, err = s.Svc.CancelWave(r.Context(), p, id)
	default:
		return outreach.Errorf(outreach.ENOTFOUND, "no wave action %q (pause, resume, cancel)", r.PathValue("action"))
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}
