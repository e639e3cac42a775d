package web

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/service"
)

func (s *Server) wavesPage(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	list, err := s.Svc.Waves(r.Context(), p)
	if err != nil {
		return err
	}
	slices.Reverse(list)
	refresh := 0
	for _, v := range list {
		if v.State == outreach.WaveRunning {
			refresh = 5
		}
	}
	return s.page(w, r, p, http.StatusOK, "waves", &pageData{Title: "Waves", Section: "waves", Refresh: refresh, Data: list})
}

type wavePage struct {
	*service.WaveView
	Dry *service.DryRun
}

func (s *Server) wavePage(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	v, err := s.Svc.Wave(r.Context(), p, id)
	if err != nil {
		return err
	}
	pg := &wavePage{WaveView: v}
	d := &pageData{Title: "Wave " + v.Name, Section: "waves", Data: pg}
	if r.URL.Query().Get("dry") != "" {
		if pg.Dry, err = s.Svc.DryRunWave(r.Context(), p, id); err != nil {
			if err := formErrors(err, d); err != nil {
				return err
			}
		}
	}
	if v.State == outreach.WaveRunning {
		d.Refresh = 3
	}
	return s.page(w, r, p, http.StatusOK, "wave", d)
}

func (s *Server) waveActionPage(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	var v *service.WaveView
	action := r.PathValue("action")
	switch action {
	case "pause":
		v, err = s.Svc.PauseWave(r.Context(), p, id, r.PostForm.Get("reason"))
	case "resume":
		v, err = s.Svc.ResumeWave(r.Context(), p, id)
	case "cancel":
		v, err = s.Svc.CancelWave(r.Context(), p, id)
	default:
		return outreach.Errorf(outreach.ENOTFOUND, "no wave action %q (pause, resume, cancel)", action)
	}
	if outreach.ErrorCode(err) == outreach.ECONFLICT {
		return redirect(w, r, fmt.Sprintf("/waves/%d", id), outreach.ErrorMessage(err))
	}
	if err != nil {
		return err
	}
	past := map[string]string{"pause": "paused", "resume": "resumed", "cancel": "cancelled"}[action]
	return redirect(w, r, fmt.Sprintf("/waves/%d", id), fmt.Sprintf("Wave %q %s.", v.Name, past))
}

type newWavePage struct {
	Templates []service.TemplateInfo
	Segments  []outreach.Segment
	Count     string
	Dry       *service.DryRun
}

// waveForm reads the new-wave form into a WaveInput.
func waveForm(f map[string][]string) (service.WaveInput, error) {
	get := func(k string) string {
		if v := f[k]; len(v) > 0 {
			return strings.TrimSpace(v[0])
		}
		return ""
	}
	in := service.WaveInput{Name: get("name"), Template: get("template"), Filter: get("filter"), Segment: get("segment"),
		At: get("at"), Cron: get("cron"), TimeZone: get("timezone")}
	if v := get("local_hour"); v != "" {
		h, err := strconv.Atoi(v)
		if err != nil {
			return in, outreach.FieldError("local_hour", "%q is not an hour from 0 to 23", v)
		}
		in.LocalHour = &h
	}
	if v := get("rate"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return in, outreach.FieldError("rate", "%q is not a number of messages per second", v)
		}
		in.Rate = r
	}
	return in, nil
}

func (s *Server) newWavePage(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	pg := &newWavePage{}
	d := &pageData{Title: "New wave", Section: "waves", Data: pg, Form: r.URL.Query()}
	var err error
	if pg.Templates, err = s.Svc.Templates(r.Context(), p); err != nil {
		return err
	}
	if pg.Segments, err = s.Svc.Segments(r.Context(), p); err != nil {
		return err
	}
	status := http.StatusOK
	if r.Method == http.MethodPost {
		if err := parseForm(w, r); err != nil {
			return err
		}
		d.Form = r.PostForm
		in, err := waveForm(r.PostForm)
		if err == nil {
			if r.PostForm.Get("action") == "preview" {
				pg.Dry, err = s.Svc.PreviewWave(r.Context(), p, in)
			} else {
				var v *service.WaveView
				if v, err = s.Svc.CreateWave(r.Context(), p, in); err == nil {
					return redirect(w, r, fmt.Sprintf("/waves/%d", v.ID), fmt.Sprintf("Wave %q created.", v.Name))
				}
			}
		}
		if err != nil {
			if err := formErrors(err, d); err != nil {
				return err
			}
			status = http.StatusUnprocessableEntity
		}
	}
	return s.page(w, r, p, status, "wave_new", d)
}
