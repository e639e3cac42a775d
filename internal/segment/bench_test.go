package segment

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

// generate returns n varied contacts from a fixed seed. Slices and maps are
// shared between contacts, as they would be cheap to compare either way.
func generate(n int) []outreach.Contact {
	r := rand.New(rand.NewPCG(1, 2))
	countries := outreach.CountryCodes()
	kinds := []string{"partner", "partner", "partner", "ministry", "legislator", "nhri", "head_of_state", "party", "other"}
	languages := []string{"en", "en-GB", "es", "es-MX", "es-CO", "fr", "pt-BR", "ms", "tl", "id", "ar", ""}
	statuses := []string{"active", "active", "active", "active", "unsubscribed", "bounced", "complained"}
	tagSets := [][]string{nil, {"board"}, {"youth"}, {"legal", "board"}, {"media", "youth", "legal"}, {"Board"}}
	attrSets := []map[string]string{nil, {"sector": "housing"}, {"sector": "land", "city": "Manila"}, {"sector": "Housing"}, {"size": "large"}}
	domains := []string{"example.org", "amnesty.org", "gov.my", "gov.ph", "mail.example.net", "coalition.africa"}
	out := make([]outreach.Contact, n)
	for i := range out {
		country := countries[r.IntN(len(countries))]
		if r.IntN(4) == 0 {
			country = []string{"MY", "PH", "CO", "MX"}[r.IntN(4)]
		}
		out[i] = outreach.Contact{
			ID:           uint64(i + 1),
			Email:        fmt.Sprintf("person%d@%s", i, domains[r.IntN(len(domains))]),
			Name:         fmt.Sprintf("Person %d", i%5000),
			Organization: fmt.Sprintf("Organisation %d", i%800),
			Kind:         kinds[r.IntN(len(kinds))],
			Country:      country,
			Regions:      outreach.CountryRegions(country),
			Language:     languages[r.IntN(len(languages))],
			TimeZone:     outreach.CountryTimeZone(country),
			Tags:         tagSets[r.IntN(len(tagSets))],
			Attrs:        attrSets[r.IntN(len(attrSets))],
			Status:       statuses[r.IntN(len(statuses))],
		}
	}
	return out
}

func BenchmarkMatch(b *testing.B) {
	contacts := generate(1_000_000)
	for _, bc := range []struct{ name, expr string }{
		{"countries-kind-tag", "country in (MY, PH) and kind = partner and not tag = board"},
		{"language-or-region", "language = es or region = OAS"},
		{"attr", "attr.sector = housing"},
		{"everything", "(domain = amnesty.org or email != x@y.org) and status = active and timezone != UTC" +
			" and not organization in (a, b, c) and (attr.city = manila or name != 'Person 1' or language = pt)"},
	} {
		f := mustParse(b, bc.expr)
		b.Run(bc.name, func(b *testing.B) {
			matched := 0
			for b.Loop() {
				matched = 0
				for i := range contacts {
					if f.Match(&contacts[i]) {
						matched++
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(contacts)), "ns/contact")
			b.ReportMetric(float64(matched), "matches")
		})
	}
}
