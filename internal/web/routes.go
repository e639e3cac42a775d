package web

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/store"
)

const (
	viewer      = outreach.RoleViewer
	coordinator = outreach.RoleCoordinator
	admin       = outreach.RoleAdmin
)

// routes is the route table: every route of the core API and the role it
// needs. It is the API's access policy; the service layer checks again.
func (s *Server) routes() []Route {
	return []Route{
		{"GET /healthz", Public, s.healthz},
		{"GET /readyz", Public, s.readyz},

		{"GET /api/v1/status", viewer, s.status},
		{"GET /api/v1/contacts", viewer, s.listContacts},
		{"GET /api/v1/contacts/count", viewer, s.countContacts},
		{"GET /api/v1/contacts/export", viewer, s.exportContacts},
		{"POST /api/v1/contacts/import", coordinator, s.importContacts},
		{"GET /api/v1/contacts/{email}", viewer, s.getContact},
		{"PATCH /api/v1/contacts/{email}", coordinator, s.patchContact},
		{"DELETE /api/v1/contacts/{email}", coordinator, s.deleteContact},
		{"POST /api/v1/contacts/{email}/reactivate", coordinator, s.reactivateContact},
		{"POST /api/v1/contacts/{email}/forget", admin, s.forgetContact},

		{"GET /api/v1/suppressions", viewer, s.listSuppressions},
		{"POST /api/v1/suppressions", coordinator, s.addSuppression},
		{"POST /api/v1/suppressions/import", coordinator, s.importSuppressions},
		{"DELETE /api/v1/suppressions/{address}", coordinator, s.removeSuppression},

		{"GET /api/v1/campaigns", viewer, s.listCampaigns},
		{"POST /api/v1/campaigns", admin, s.createCampaign},
		{"GET /api/v1/campaigns/{id}", viewer, s.getCampaign},

		{"GET /api/v1/segments", viewer, s.listSegments},
		{"POST /api/v1/segments", coordinator, s.saveSegment},
		{"DELETE /api/v1/segments/{name}", coordinator, s.deleteSegment},

		{"GET /api/v1/tokens", admin, s.listTokens},
		{"POST /api/v1/tokens", admin, s.createToken},
		{"DELETE /api/v1/tokens/{id}", admin, s.revokeToken},

		{"GET /api/v1/users", admin, s.listUsers},
		{"POST /api/v1/users", admin, s.addUser},
		{"PATCH /api/v1/users/{name}", admin, s.patchUser},
		{"POST /api/v1/users/{name}/password", admin, s.resetPassword},
		{"GET /api/v1/sessions", admin, s.listSessions},
		{"DELETE /api/v1/sessions/{id}", admin, s.revokeSession},

		{"POST /api/v1/waves", coordinator, s.createWave},
		{"POST /api/v1/waves/dry-run", coordinator, s.previewWave},
		{"GET /api/v1/waves", viewer, s.listWaves},
		{"GET /api/v1/waves/{id}", viewer, s.getWave},
		{"GET /api/v1/waves/{id}/dry-run", viewer, s.dryRunWave},
		{"POST /api/v1/waves/{id}/{action}", coordinator, s.waveAction},

		{"GET /api/v1/templates", viewer, s.listTemplates},
		{"POST /api/v1/templates/reload", coordinator, s.reloadTemplates},
		{"GET /api/v1/templates/{name}", viewer, s.getTemplate},
		{"PUT /api/v1/templates/{name}", coordinator, s.editTemplate},
		{"GET /api/v1/templates/{name}/render", viewer, s.renderTemplate},

		{"GET /api/v1/replies", viewer, s.listReplies},
		{"GET /api/v1/replies/{id}", viewer, s.getReply},
		{"GET /api/v1/review", viewer, s.reviewQueue},
		{"POST /api/v1/review/{id}/{action}", coordinator, s.reviewAction},
		{"GET /api/v1/endorsements", viewer, s.listEndorsements},
		{"POST /api/v1/endorsements", coordinator, s.addEndorsement},
		{"GET /api/v1/endorsements/export", viewer, s.exportEndorsements},
		{"POST /api/v1/endorsements/import", coordinator, s.importEndorsements},
		{"GET /api/v1/endorsements/{id}", viewer, s.getEndorsement},
		{"POST /api/v1/endorsements/{id}/{action}", coordinator, s.endorsementAction},

		{"GET /api/v1/letters", viewer, s.listLetters},
		{"POST /api/v1/letters", coordinator, s.createLetter},
		{"GET /api/v1/letters/{id}", viewer, s.getLetter},
		{"GET /api/v1/letters/{id}/preview", viewer, s.previewLetter},
		{"GET /api/v1/letters/{id}/export", viewer, s.exportLetter},
		{"POST /api/v1/letters/{id}/send", coordinator, s.sendLetter},
		{"POST /api/v1/letters/{id}/approve", coordinator, s.approveLetter},

		{"GET /api/v1/log", viewer, s.deliveryLog},
		{"GET /api/v1/log/export", viewer, s.deliveryLogCSV},
		{"GET /api/v1/devmail/messages", viewer, s.capturedMail},
		{"GET /u/{token}", Public, s.unsubscribe},
		{"POST /u/{token}", Public, s.unsubscribe},

		{"GET /api/v1/backup", admin, s.backup},
		{"GET /api/v1/audit", admin, s.audit},

		// The web UI (pages*.go, templates/web): pages render HTML and
		// their forms post back; errors show as pages, not JSON.
		{"GET /static/", Public, s.static},
		{"GET /login", Public, s.ui(s.loginPage)},
		{"POST /login", Public, s.ui(s.login)},
		{"POST /logout", Public, s.ui(s.logout)},
		{"GET /password", viewer, s.ui(s.passwordPage)},
		{"POST /password", viewer, s.ui(s.passwordPage)},
		{"GET /{$}", viewer, s.ui(s.dashboardPage)},
		{"GET /waves", viewer, s.ui(s.wavesPage)},
		{"GET /waves/new", coordinator, s.ui(s.newWavePage)},
		{"POST /waves/new", coordinator, s.ui(s.newWavePage)},
		{"GET /waves/{id}", viewer, s.ui(s.wavePage)},
		{"POST /waves/{id}/{action}", coordinator, s.ui(s.waveActionPage)},
		{"GET /log", viewer, s.ui(s.logPage)},
		{"GET /review", viewer, s.ui(s.reviewPage)},
		{"POST /review/{id}", coordinator, s.ui(s.reviewDecision)},
		{"GET /endorsements", viewer, s.ui(s.endorsementsPage)},
		{"POST /endorsements/{id}/{action}", coordinator, s.ui(s.endorsementActionPage)},
		{"GET /contacts", viewer, s.ui(s.contactsPage)},
		{"GET /contacts/{email}", viewer, s.ui(s.contactPage)},
		{"POST /contacts/{email}", coordinator, s.ui(s.contactPage)},
		{"POST /contacts/{email}/suppress", coordinator, s.ui(s.suppressContactPage)},
		{"POST /contacts/{email}/forget", admin, s.ui(s.forgetContactPage)},
		{"GET /templates", viewer, s.ui(s.templatesPage)},
		{"GET /templates/{name}", viewer, s.ui(s.templatePage)},
		{"POST /templates/{name}", viewer, s.ui(s.templatePage)},
		{"POST /api/v1/templates/{name}/preview", coordinator, s.templatePreviewAPI},
		{"GET /letters", viewer, s.ui(s.lettersPage)},
		{"GET /letters/{id}/{country}", viewer, s.ui(s.letterPage)},
		{"POST /letters/{id}/{country}/send", coordinator, s.ui(s.sendLetterPage)},
		{"GET /mail", viewer, s.ui(s.mailPage)},
		{"GET /mail/{id}", viewer, s.ui(s.messagePage)},
	}
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request, _ *outreach.Principal) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "alive"})
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request, _ *outreach.Principal) error {
	checks := map[string]string{"store": "ok"}
	if s.Ready != nil {
		checks = s.Ready(r.Context())
	}
	status := http.StatusOK
	for _, v := range checks {
		if v != "ok" && v != "disabled" {
			status = http.StatusServiceUnavailable
		}
	}
	writeJSON(w, status, checks)
	return nil
}

func (s *Server) status(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	var extra any
	if s.Status != nil {
		extra = s.Status(r.Context())
	}
	writeJSON(w, http.StatusOK, map[string]any{"principal": p, "daemon": extra})
	return nil
}

func cursor(r *http.Request) (uint64, int, error) {
	var after uint64
	limit := 100
	var err error
	if v := r.URL.Query().Get("after"); v != "" {
		if after, err = strconv.ParseUint(v, 10, 64); err != nil {
			return 0, 0, outreach.FieldError("after", "%q is not a cursor", v)
		}
	}
	if v := r.URL.Query().Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 {
			return 0, 0, outreach.FieldError("limit", "%q is not a positive number", v)
		}
	}
	return after, limit, nil
}

// Page is a page of a list with the cursor of the next one ("" at the end).
type Page[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

func (s *Server) listContacts(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	after, limit, err := cursor(r)
	if err != nil {
		return err
	}
	items, next, err := s.Svc.ListContacts(r.Context(), p, r.URL.Query().Get("filter"), after, limit)
	if err != nil {
		return err
	}
	page := Page[outreach.Contact]{Items: items}
	if items == nil {
		page.Items = []outreach.Contact{}
	}
	if next != 0 {
		page.Next = strconv.FormatUint(next, 10)
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) countContacts(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	start := time.Now()
	n, err := s.Svc.CountContacts(r.Context(), p, r.URL.Query().Get("filter"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": n, "ms": time.Since(start).Milliseconds()})
	return nil
}

func (s *Server) exportContacts(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	return s.Svc.ExportContacts(r.Context(), p, r.URL.Query().Get("filter"), w)
}

func (s *Server) importContacts(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	rep, err := s.Svc.ImportContacts(r.Context(), p, limitBody(w, r, maxContactsBody), r.URL.Query().Get("skip_invalid") == "true")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (s *Server) getContact(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	c, err := s.Svc.Contact(r.Context(), p, r.PathValue("email"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

// ContactPatch is the JSON body of PATCH /api/v1/contacts/{email}.
type ContactPatch struct {
	Name         *string            `json:"name,omitempty"`
	Organization *string            `json:"organization,omitempty"`
	Kind         *string            `json:"kind,omitempty"`
	Country      *string            `json:"country,omitempty"`
	Language     *string            `json:"language,omitempty"`
	TimeZone     *string            `json:"timezone,omitempty"`
	Regions      *[]string          `json:"regions,omitempty"`
	Tags         *[]string          `json:"tags,omitempty"`
	Attrs        map[string]*string `json:"attributes,omitempty"`
	Status       *string            `json:"status,omitempty"`
}

func (s *Server) patchContact(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	var in ContactPatch
	if err := readJSON(r, &in); err != nil {
		return err
	}
	c, err := s.Svc.UpdateContact(r.Context(), p, r.PathValue("email"), store.ContactPatch(in))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (s *Server) deleteContact(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	if err := s.Svc.DeleteContact(r.Context(), p, r.PathValue("email")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"deleted": r.PathValue("email")})
	return nil
}

func (s *Server) reactivateContact(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := readJSON(r, &in); err != nil {
		return err
	}
	c, err := s.Svc.ReactivateContact(r.Context(), p, r.PathValue("email"), in.Reason)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (s *Server) listSuppressions(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	list, err := s.Svc.Suppressions(r.Context(), p)
	if err != nil {
		return err
	}
	if list == nil {
		list = []outreach.Suppression{}
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) addSuppression(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	var in struct {
		Address string `json:"address"`
		Reason  string `json:"reason"`
	}
	if err := readJSON(r, &in); err != nil {
		return err
	}
	if err := s.Svc.Suppress(r.Context(), p, in.Address, in.Reason); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"suppressed": in.Address})
	return nil
}

func (s *Server) importSuppressions(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	n, err := s.Svc.ImportSuppressions(r.Context(), p, limitBody(w, r, maxListBody), r.URL.Query().Get("reason"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"added": n})
	return nil
}

func (s *Server) removeSuppression(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	if err := s.Svc.Unsuppress(r.Context(), p, r.PathValue("address")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"removed": r.PathValue("address")})
	return nil
}

func (s *Server) listCampaigns(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	list, err := s.Svc.Campaigns(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) createCampaign(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	var c outreach.Campaign
	if err := readJSON(r, &c); err != nil {
		return err
	}
	if err := s.Svc.CreateCampaign(r.Context(), p, &c); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, c)
	return nil
}

func pathID(r *http.Request, name string) (uint64, error) {
	id, err := strconv.ParseUint(r.PathValue(name), 10, 64)
	if err != nil {
		return 0, outreach.FieldError(name, "%q is not a number", r.PathValue(name))
	}
	return id, nil
}

func (s *Server) getCampaign(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	c, err := s.Svc.Campaign(r.Context(), p, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (s *Server) listSegments(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	list, err := s.Svc.Segments(r.Context(), p)
	if err != nil {
		return err
	}
	if list == nil {
		list = []outreach.Segment{}
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) saveSegment(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	var seg outreach.Segment
	if err := readJSON(r, &seg); err != nil {
		return err
	}
	if err := s.Svc.SaveSegment(r.Context(), p, seg); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, seg)
	return nil
}

func (s *Server) deleteSegment(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	if err := s.Svc.DeleteSegment(r.Context(), p, r.PathValue("name")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"deleted": r.PathValue("name")})
	return nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	list, err := s.Svc.ListTokens(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	var in struct {
		Name string `json:"name"`
		Role string `json:"role"`
	}
	if err := readJSON(r, &in); err != nil {
		return err
	}
	secret, tok, err := s.Svc.CreateToken(r.Context(), p, in.Name, in.Role)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"token": secret, "info": tok})
	return nil
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	if err := s.Svc.RevokeToken(r.Context(), p, r.PathValue("id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"revoked": r.PathValue("id")})
	return nil
}

func (s *Server) backup(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=outreach-%s.db", time.Now().UTC().Format("20060102T150405Z")))
	_, err := s.Svc.Backup(r.Context(), p, w)
	return err
}

func (s *Server) audit(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	var since time.Time
	if v := r.URL.Query().Get("since"); v != "" {
		var err error
		if since, err = time.Parse(time.RFC3339, v); err != nil {
			return outreach.FieldError("since", "%q is not an RFC 3339 time", v)
		}
	}
	list, err := s.Svc.Audit(r.Context(), p, r.URL.Query().Get("user"), since, 0)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}
