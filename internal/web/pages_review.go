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

type reviewPage struct {
	Items       []service.ReviewItem
	After, Next uint64
}

func (s *Server) reviewPage(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	after, err := queryUint(r, "after")
	if err != nil {
		return err
	}
	pg := &reviewPage{After: after}
	if pg.Items, pg.Next, err = s.Svc.ReviewQueue(r.Context(), p, after, 25); err != nil {
		return err
	}
	return s.page(w, r, p, http.StatusOK, "review", &pageData{Title: "Review queue", Section: "review", Data: pg})
}

// reviewDecision applies a reviewer's button: the class the reply really
// is (endorse, decline, unsubscribe, other), with the name to print for
// an endorsement. It then shows the rest of the queue.
func (s *Server) reviewDecision(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	class := r.PostForm.Get("class")
	in := service.ReviewInput{Class: class, Name: r.PostForm.Get("name")}
	if class == outreach.ClassEndorse {
		// Only an endorsement needs the contact of a reply matched to none.
		in.Email = strings.TrimSpace(r.PostForm.Get("email"))
	}
	res, err := s.Svc.Review(r.Context(), p, id, service.ReviewReclassify, in)
	back := "/review"
	if after := r.PostForm.Get("after"); after != "" && after != "0" {
		back += "?after=" + after
	}
	if code := outreach.ErrorCode(err); code == outreach.EINVALID || code == outreach.ECONFLICT {
		return redirect(w, r, back, fmt.Sprintf("Reply %d was not changed: %s", id, outreach.ErrorMessage(err)))
	}
	if err != nil {
		return err
	}
	done := fmt.Sprintf("Reply %d marked %s.", id, res.Reply.Class)
	if e := res.Endorsement; e != nil && class == outreach.ClassEndorse {
		done = fmt.Sprintf("Reply %d approved: %q endorses (%s).", id, e.PrintName, e.State)
	}
	return redirect(w, r, back, done)
}

// quoteSplit is a reply's text with the quoted part folded away.
type quoteSplit struct{ New, Quoted string }

// splitQuote separates the text a person wrote from what it quotes: from
// the first line that starts with ">" or is an attribution line ("On ...
// wrote:") to the end.
func splitQuote(text string) quoteSplit {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, ">") || (strings.HasSuffix(t, "wrote:") && i > 0) || strings.HasPrefix(t, "-----Original Message") {
			return quoteSplit{New: strings.TrimRight(strings.Join(lines[:i], "\n"), "\n "), Quoted: strings.Join(lines[i:], "\n")}
		}
	}
	return quoteSplit{New: text}
}

type endorsementGroup struct {
	Country string
	Items   []outreach.Endorsement
}

type endorsementsPage struct {
	Counts []service.CountryTally
	States []string
	Groups []endorsementGroup
}

func (s *Server) endorsementsPage(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	q := r.URL.Query()
	pg := &endorsementsPage{States: service.EndorsementStates}
	d := &pageData{Title: "Endorsements", Section: "endorsements", Form: q, Data: pg}
	var err error
	all, err := s.Svc.Endorsements(r.Context(), p, service.EndorsementQuery{CampaignID: s.Svc.DefaultCampaign})
	if err != nil {
		return err
	}
	pg.Counts, _ = service.TallyEndorsements(all)
	slices.SortFunc(pg.Counts, func(a, b service.CountryTally) int { return strings.Compare(a.Country, b.Country) })
	country, state := strings.ToUpper(q.Get("country")), q.Get("state")
	if state != "" && !slices.Contains(service.EndorsementStates, state) {
		d.Errors = map[string]string{"state": fmt.Sprintf("%q is not one of %s", state, strings.Join(service.EndorsementStates, ", "))}
	}
	byCountry := map[string]int{}
	for _, e := range all {
		if (q.Has("country") && country != "" && e.Country != country) || (state != "" && e.State != state) {
			continue
		}
		i, ok := byCountry[e.Country]
		if !ok {
			i = len(pg.Groups)
			byCountry[e.Country] = i
			pg.Groups = append(pg.Groups, endorsementGroup{Country: e.Country})
		}
		pg.Groups[i].Items = append(pg.Groups[i].Items, e)
	}
	return s.page(w, r, p, http.StatusOK, "endorsements", d)
}

func (s *Server) endorsementActionPage(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	e, err := s.Svc.SetEndorsement(r.Context(), p, id, r.PathValue("action"), r.PostForm.Get("note"))
	back := "/endorsements"
	if ref := r.Referer(); strings.Contains(ref, "/endorsements?") {
		if i := strings.Index(ref, "/endorsements?"); i >= 0 {
			back = ref[i:]
		}
	}
	if code := outreach.ErrorCode(err); code == outreach.EINVALID || code == outreach.ECONFLICT {
		return redirect(w, r, back, "Not changed: "+outreach.ErrorMessage(err))
	}
	if err != nil {
		return err
	}
	return redirect(w, r, back+"#endorsement-"+strconv.FormatUint(id, 10), fmt.Sprintf("%q is now %s.", e.PrintName, e.State))
}
