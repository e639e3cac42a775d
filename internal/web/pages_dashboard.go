package web

import (
	"html/template"
	"net/http"
	"slices"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/service"
)

// healthRow is one line of the dashboard's health table.
type healthRow struct{ Name, Status, Class string }

type classCount struct {
	Class string
	N     int
}

type dashboardPage struct {
	*service.Dashboard
	Health       []healthRow
	Replies      []classCount
	CountryChart template.HTML
	DayChart     template.HTML
}

func (s *Server) dashboardPage(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	d, err := s.Svc.Dashboard(r.Context(), p)
	if err != nil {
		return err
	}
	pg := &dashboardPage{Dashboard: d, CountryChart: countryChart(d.Countries), DayChart: dayChart(d.Days)}
	checks := map[string]string{"store": "ok"}
	if s.Ready != nil {
		checks = s.Ready(r.Context())
	}
	for _, name := range sortedKeys(checks) {
		class := "down"
		switch checks[name] {
		case "ok":
			class = "ok"
		case "disabled":
			class = ""
		}
		pg.Health = append(pg.Health, healthRow{Name: name, Status: checks[name], Class: class})
	}
	for _, c := range service.Classes {
		if n := d.Replies[c]; n > 0 {
			pg.Replies = append(pg.Replies, classCount{c, n})
		}
	}
	refresh := 0
	if d.Running > 0 {
		refresh = 10
	}
	return s.page(w, r, p, http.StatusOK, "dashboard", &pageData{Title: "Dashboard", Section: "dashboard", Refresh: refresh, Data: pg})
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// lastRun returns a wave's latest run, or nil.
func lastRun(runs []outreach.Send) *outreach.Send {
	if len(runs) == 0 {
		return nil
	}
	return &runs[len(runs)-1]
}
