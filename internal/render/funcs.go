package render

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

// funcMap returns the functions templates may call, documented in
// templates/mail/README.md. zones caches time zones for date.
func funcMap(zones *sync.Map) map[string]any {
	return map[string]any{
		"date": func(t time.Time, lang string, zone ...string) (string, error) {
			return formatDate(zones, t, lang, zone...)
		},
		"default": defaultValue,
		"join":    join,
		"title":   func(s string) string { return cases.Title(language.Und).String(s) },
		"upper":   func(s string) string { return cases.Upper(language.Und).String(s) },
		"country": countryName,
	}
}

// formatDate formats t as a long date in lang ("26 November 2026",
// "26 de noviembre de 2026", "26 novembre 2026", "26 de novembro de 2026";
// English for other languages), in the IANA zone given, or UTC when the
// zone is empty or unknown: a contact's bad zone must not stop its mail.
func formatDate(zones *sync.Map, t time.Time, lang string, zone ...string) (string, error) {
	if t.IsZero() {
		return "", fmt.Errorf("date: the time is zero (was Now set?)")
	}
	if len(zone) > 1 {
		return "", fmt.Errorf("date: want a time, a language and at most one zone, got %d zones", len(zone))
	}
	loc := time.UTC
	if len(zone) == 1 && zone[0] != "" {
		loc = location(zones, zone[0])
	}
	t = t.In(loc)
	day, month, year := strconv.Itoa(t.Day()), monthName(lang, t.Month()), strconv.Itoa(t.Year())
	switch outreach.BaseLanguage(lang) {
	case "es", "pt":
		return day + " de " + month + " de " + year, nil
	case "fr":
		if t.Day() == 1 {
			day = "1er"
		}
		return day + " " + month + " " + year, nil
	}
	return day + " " + month + " " + year, nil
}

func location(zones *sync.Map, name string) *time.Location {
	if v, ok := zones.Load(name); ok {
		return v.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "Local" {
		loc = time.UTC
	}
	zones.Store(name, loc)
	return loc
}

func monthName(lang string, m time.Month) string {
	switch outreach.BaseLanguage(lang) {
	case "es":
		return [...]string{"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio",
			"agosto", "septiembre", "octubre", "noviembre", "diciembre"}[m-1]
	case "fr":
		return [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet",
			"août", "septembre", "octobre", "novembre", "décembre"}[m-1]
	case "pt":
		return [...]string{"janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho",
			"agosto", "setembro", "outubro", "novembro", "dezembro"}[m-1]
	}
	return m.String()
}

// defaultValue returns v, or def when v is nil, an empty or blank string,
// or another zero or empty value: {{.Contact.Name | default "Sir/Madam"}}.
func defaultValue(def, v any) any {
	if v == nil {
		return def
	}
	if s, ok := v.(string); ok {
		if strings.TrimSpace(s) == "" {
			return def
		}
		return s
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Map, reflect.Array:
		if rv.Len() == 0 {
			return def
		}
		return v
	}
	if rv.IsZero() {
		return def
	}
	return v
}

// join joins the elements of a slice or array with sep, each formatted as
// by fmt.Sprint: {{join ", " .Contact.Tags}} or {{.Contact.Tags | join ", "}}.
func join(sep string, list any) (string, error) {
	if list == nil {
		return "", nil
	}
	rv := reflect.ValueOf(list)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return "", fmt.Errorf("join: want a list, got %T", list)
	}
	parts := make([]string, rv.Len())
	for i := range parts {
		parts[i] = fmt.Sprint(rv.Index(i).Interface())
	}
	return strings.Join(parts, sep), nil
}

// countryName returns the name of an ISO 3166-1 region code in lang
// ("MY", "es" -> "Malasia"), falling back to English, then to the code
// itself; an empty code gives "".
func countryName(code, lang string) string {
	if code == "" {
		return ""
	}
	region, err := language.ParseRegion(code)
	if err != nil {
		return code
	}
	if tag, err := language.Parse(lang); err == nil {
		if n := display.Regions(tag); n != nil {
			if name := n.Name(region); name != "" {
				return name
			}
		}
	}
	if name := display.Regions(language.English).Name(region); name != "" {
		return name
	}
	return code
}
