package web

import (
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/render"
	"github.com/outreach-coalition/outreach/internal/service"
)

func (s *Server) templatesPage(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	list, err := s.Svc.Templates(r.Context(), p)
	if err != nil {
		return err
	}
	return s.page(w, r, p, http.StatusOK, "templates", &pageData{Title: "Templates", Section: "templates", Data: list})
}

type templateFile struct {
	ID, Path, Content string
	Rows              int
}

// fileGroup is a template's files of one language, or its layouts and
// partials; the editor shows each group folded unless Open.
type fileGroup struct {
	Label string
	Open  bool
	Files []templateFile
}

type templatePage struct {
	Name          string
	Version       uint64
	NextVersion   uint64
	Latest        bool
	By            string
	Time          time.Time
	Groups        []fileGroup
	Languages     []string
	Contacts      []outreach.Contact
	Preview       *service.FilesPreview
	LatestVersion uint64
}

// editorFiles orders a template's files for the editor: its own variants
// by language, then the layouts and partials it uses.
func editorFiles(name string, files map[string]string) []templateFile {
	paths := slices.Sorted(maps.Keys(files))
	slices.SortStableFunc(paths, func(a, b string) int {
		ao, bo := strings.HasPrefix(a, name+"/"), strings.HasPrefix(b, name+"/")
		switch {
		case ao && !bo:
			return -1
		case bo && !ao:
			return 1
		}
		return 0
	})
	out := make([]templateFile, 0, len(paths))
	for i, p := range paths {
		rows := strings.Count(files[p], "\n") + 2
		out = append(out, templateFile{ID: strconv.Itoa(i), Path: p, Content: files[p], Rows: min(max(rows, 3), 30)})
	}
	return out
}

// templatePage shows a template version in the editor; a post previews
// the edited files (without a script) or saves them as a new version.
func (s *Server) templatePage(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	name := r.PathValue("name")
	v, err := queryUint(r, "version")
	if err != nil {
		return err
	}
	tv, err := s.Svc.Template(r.Context(), p, name, v)
	if err != nil {
		return err
	}
	latest, err := s.Svc.Template(r.Context(), p, name, 0)
	if err != nil {
		return err
	}
	pg := &templatePage{Name: tv.Name, Version: tv.Version, LatestVersion: latest.Version, NextVersion: latest.Version + 1,
		Latest: tv.Version == latest.Version, By: tv.By, Time: tv.Time}
	d := &pageData{Title: "Template " + name, Section: "templates", Form: r.URL.Query(), Data: pg}
	files := tv.Files
	status := http.StatusOK
	in := service.PreviewInput{Email: strings.TrimSpace(d.Val("email")), Lang: d.Val("lang")}
	if r.Method == http.MethodPost {
		if err := parseForm(w, r); err != nil {
			return err
		}
		d.Form = r.PostForm
		in = service.PreviewInput{Email: strings.TrimSpace(d.Val("email")), Lang: d.Val("lang")}
		files = map[string]string{}
		for k, vs := range r.PostForm {
			if path, ok := strings.CutPrefix(k, "file:"); ok && len(vs) > 0 {
				files[path] = strings.ReplaceAll(vs[0], "\r\n", "\n")
			}
		}
		if r.PostForm.Get("action") == "save" {
			ch, err := s.Svc.EditTemplate(r.Context(), p, name, files)
			if err == nil {
				done := "Nothing changed: the files equal the latest version."
				if ch.Changed {
					done = "Saved as version " + strconv.FormatUint(ch.Version, 10) + "."
				}
				return redirect(w, r, "/templates/"+name, done)
			}
			if err := formErrors(err, d); err != nil {
				return err
			}
			status = http.StatusUnprocessableEntity
		}
	}
	for _, f := range editorFiles(name, files) {
		label := "Layout and partials"
		if rest, ok := strings.CutPrefix(f.Path, name+"/"); ok && !strings.Contains(rest, "/") {
			label, _, _ = strings.Cut(rest, ".")
			if !slices.Contains(pg.Languages, label) {
				pg.Languages = append(pg.Languages, label)
			}
		}
		if n := len(pg.Groups); n == 0 || pg.Groups[n-1].Label != label {
			pg.Groups = append(pg.Groups, fileGroup{Label: label})
		}
		g := &pg.Groups[len(pg.Groups)-1]
		g.Files = append(g.Files, f)
		g.Open = g.Open || d.Err(f.Path) != ""
	}
	if pg.Contacts, _, err = s.Svc.ListContacts(r.Context(), p, "", 0, 50); err != nil {
		return err
	}
	if d.Error == "" {
		pv, err := s.Svc.PreviewTemplateFiles(r.Context(), p, name, files, in)
		switch {
		case err == nil:
			pg.Preview = pv
		case outreach.ErrorCode(err) == outreach.EFORBIDDEN:
			pv, err := s.Svc.PreviewTemplate(r.Context(), p, service.PreviewInput{Template: name, Version: tv.Version, Email: in.Email, Lang: in.Lang, Sample: in.Email == ""})
			if err == nil {
				pg.Preview = &service.FilesPreview{Preview: *pv}
			}
		default:
			if err := formErrors(err, d); err != nil {
				return err
			}
			if status == http.StatusOK && r.Method == http.MethodPost {
				status = http.StatusUnprocessableEntity
			}
		}
	}
	open := d.Val("lang")
	if pg.Preview != nil {
		open = pg.Preview.Lang
	}
	if open == "" {
		open = "en"
	}
	for i := range pg.Groups {
		pg.Groups[i].Open = pg.Groups[i].Open || pg.Groups[i].Label == open
	}
	return s.page(w, r, p, status, "template", d)
}

// templatePreviewAPI is POST /api/v1/templates/{name}/preview: the
// editor's check as you type. The body is {"files": {path: content},
// "email": "", "lang": ""}; the answer is the preview, or 422 with every
// problem as {"file", "line", "reason"} so each shows next to its file.
func (s *Server) templatePreviewAPI(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	var in struct {
		Files map[string]string `json:"files"`
		Email string            `json:"email"`
		Lang  string            `json:"lang"`
	}
	if err := readJSON(r, &in); err != nil {
		return err
	}
	pv, err := s.Svc.PreviewTemplateFiles(r.Context(), p, r.PathValue("name"), in.Files, service.PreviewInput{Email: strings.TrimSpace(in.Email), Lang: in.Lang})
	var probs render.Problems
	if errors.As(err, &probs) {
		type problem struct {
			File   string `json:"file"`
			Line   int    `json:"line,omitempty"`
			Reason string `json:"reason"`
		}
		var body struct {
			Error struct {
				Code     string    `json:"code"`
				Message  string    `json:"message"`
				Problems []problem `json:"problems"`
			} `json:"error"`
		}
		body.Error.Code = outreach.EINVALID
		body.Error.Message = strconv.Itoa(len(probs)) + " problem(s): see below each file."
		for _, pr := range probs {
			body.Error.Problems = append(body.Error.Problems, problem{pr.File, pr.Line, pr.Reason})
		}
		writeJSON(w, http.StatusUnprocessableEntity, body)
		return nil
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pv)
	return nil
}
