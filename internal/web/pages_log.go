package web

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/service"
	"github.com/outreach-coalition/outreach/internal/store"
)

// logPageSize is the number of log entries on a page.
const logPageSize = 50

type logPage struct {
	Items    []outreach.Attempt
	Waves    []service.WaveView
	Outcomes []string
	// Queries of the links: the CSV export of the same filter, the first
	// and the next page.
	ExportQuery, FirstQuery, NextQuery template.URL
}

// localTime is the value of an <input type="datetime-local">, read as UTC.
const localTime = "2006-01-02T15:04"

// logPageFilter reads the log page's filter; since and until come from
// datetime-local inputs and are UTC.
func logPageFilter(q url.Values) (store.LogFilter, map[string]string) {
	f := store.LogFilter{Status: q.Get("status"), Email: q.Get("email"), Domain: q.Get("domain"), After: q.Get("after"), Limit: logPageSize}
	errs := map[string]string{}
	if v := q.Get("wave"); v != "" {
		id, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			errs["wave"] = "not a wave number"
		}
		f.WaveID = id
	}
	for name, dst := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(localTime, v)
			if err != nil {
				if t, err = time.Parse(time.RFC3339, v); err != nil {
					errs[name] = "not a date and time such as 2026-12-01T09:00"
					continue
				}
			}
			*dst = t.UTC()
		}
	}
	return f, errs
}

func (s *Server) logPage(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	q := r.URL.Query()
	f, errs := logPageFilter(q)
	pg := &logPage{Outcomes: []string{outreach.DeliverySent, outreach.DeliveryRetrying, outreach.DeliveryFailed, outreach.DeliverySuppressed, outreach.DeliveryUncertain}}
	d := &pageData{Title: "Delivery log", Section: "log", Form: q, Errors: errs, Data: pg}
	var err error
	if pg.Waves, err = s.Svc.Waves(r.Context(), p); err != nil {
		return err
	}
	status := http.StatusOK
	if len(errs) == 0 {
		var next string
		if pg.Items, next, err = s.Svc.DeliveryLog(r.Context(), p, f); err != nil {
			if err := formErrors(err, d); err != nil {
				return err
			}
			status = http.StatusUnprocessableEntity
		}
		if next != "" {
			nq := cloneValues(q)
			nq.Set("after", next)
			pg.NextQuery = template.URL(nq.Encode())
		}
	} else {
		status = http.StatusUnprocessableEntity
	}
	first := cloneValues(q)
	first.Del("after")
	pg.FirstQuery = template.URL(first.Encode())
	export := url.Values{}
	for _, k := range []string{"wave", "status", "email", "domain"} {
		if v := q.Get(k); v != "" {
			export.Set(k, v)
		}
	}
	if !f.Since.IsZero() {
		export.Set("since", f.Since.Format(time.RFC3339))
	}
	if !f.Until.IsZero() {
		export.Set("until", f.Until.Format(time.RFC3339))
	}
	pg.ExportQuery = template.URL(export.Encode())
	return s.page(w, r, p, status, "log", d)
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		if len(v) > 0 && v[0] != "" {
			out[k] = append([]string(nil), v...)
		}
	}
	return out
}
