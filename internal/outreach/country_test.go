package outreach

import (
	"bufio"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

var regionalBodies = []string{"AU", "ASEAN", "CoE", "EU", "OAS", "SAARC", "ECOWAS", "SADC", "GCC", "LAS", "PIF", "CARICOM"}

func TestCountryCodes(t *testing.T) {
	codes := CountryCodes()
	if len(codes) != 249 {
		t.Fatalf("len(CountryCodes()) = %d; want 249", len(codes))
	}
	if !slices.IsSorted(codes) {
		t.Error("CountryCodes() is not sorted")
	}
	if len(slices.Compact(slices.Clone(codes))) != len(codes) {
		t.Error("CountryCodes() has duplicates")
	}
	if len(countries) != 249 {
		t.Errorf("len(countries) = %d; want 249", len(countries))
	}
	for _, c := range codes {
		if len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
			t.Errorf("code %q is not two upper-case letters", c)
		}
		if !ValidCountry(c) {
			t.Errorf("ValidCountry(%q) = false; want true", c)
		}
		if CountryName(c) == "" {
			t.Errorf("CountryName(%q) is empty", c)
		}
		for _, r := range CountryRegions(c) {
			if !slices.Contains(regionalBodies, r) {
				t.Errorf("CountryRegions(%q) has unknown body %q", c, r)
			}
		}
	}
	codes[0] = "ZZ"
	if CountryCodes()[0] != "AD" {
		t.Error("CountryCodes shares its slice with the caller")
	}
	for _, c := range []string{"", "XX", "my", "UK", "EU", "XK", "MYS"} {
		if ValidCountry(c) {
			t.Errorf("ValidCountry(%q) = true; want false", c)
		}
		if r := CountryRegions(c); r != nil {
			t.Errorf("CountryRegions(%q) = %v; want nil", c, r)
		}
	}
}

func TestCountryTimeZones(t *testing.T) {
	for _, c := range CountryCodes() {
		z := CountryTimeZone(c)
		if z == "" {
			continue
		}
		if z == "UTC" || z == "Local" {
			t.Errorf("CountryTimeZone(%q) = %q; want a geographic zone", c, z)
		}
		if _, err := time.LoadLocation(z); err != nil {
			t.Errorf("CountryTimeZone(%q) = %q: %v", c, z, err)
		}
	}
	want := map[string]string{
		"MY": "Asia/Kuala_Lumpur", "FR": "Europe/Paris", "CO": "America/Bogota", "NG": "Africa/Lagos",
		"PH": "Asia/Manila", "KE": "Africa/Nairobi", "ES": "Europe/Madrid", "DE": "Europe/Berlin",
		"AR": "America/Argentina/Buenos_Aires", "CN": "Asia/Shanghai", "UA": "Europe/Kyiv", "IN": "Asia/Kolkata",
		"US": "", "CA": "", "BR": "", "RU": "", "AU": "", "MX": "", "ID": "", "CD": "", "MN": "",
		"FM": "", "KI": "", "AQ": "", "UM": "", "BV": "",
	}
	for c, z := range want {
		if got := CountryTimeZone(c); got != z {
			t.Errorf("CountryTimeZone(%q) = %q; want %q", c, got, z)
		}
	}
}

// TestCountryZonesAgainstTZData checks the table against the tz database's
// own country lists: every zone given is one the database lists for that
// country, and every country the database gives exactly one zone has it.
func TestCountryZonesAgainstTZData(t *testing.T) {
	zoneTab := readTab(t, "/usr/share/zoneinfo/zone.tab")
	byCountry := map[string][]string{}
	for _, f := range zoneTab {
		byCountry[f[0]] = append(byCountry[f[0]], f[2])
	}
	for _, c := range CountryCodes() {
		z, listed := CountryTimeZone(c), byCountry[c]
		if z != "" && !slices.Contains(listed, z) {
			t.Errorf("CountryTimeZone(%q) = %q; tzdata lists %v", c, z, listed)
		}
		if len(listed) == 1 && z != listed[0] {
			t.Errorf("CountryTimeZone(%q) = %q; tzdata's only zone is %q", c, z, listed[0])
		}
	}
	var iso []string
	for _, f := range readTab(t, "/usr/share/zoneinfo/iso3166.tab") {
		iso = append(iso, f[0])
	}
	slices.Sort(iso)
	if !slices.Equal(iso, CountryCodes()) {
		t.Errorf("codes differ from tzdata's iso3166.tab:\n got %v\nwant %v", CountryCodes(), iso)
	}
}

func readTab(t *testing.T, name string) [][]string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Skipf("no tz database tables: %v", err)
	}
	defer f.Close()
	var rows [][]string
	s := bufio.NewScanner(f)
	for s.Scan() {
		if line := s.Text(); line != "" && !strings.HasPrefix(line, "#") {
			rows = append(rows, strings.Split(line, "\t"))
		}
	}
	if err := s.Err(); err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return rows
}

func TestCountryRegions(t *testing.T) {
	tests := []struct {
		code string
		want []string
	}{
		{"MA", []string{"AU", "LAS"}},
		{"GB", []string{"CoE"}},
		{"RU", nil},
		{"BY", nil},
		{"MM", []string{"ASEAN"}},
		{"TL", []string{"ASEAN"}},
		{"FR", []string{"CoE", "EU"}},
		{"TR", []string{"CoE"}},
		{"ML", []string{"AU"}},
		{"NG", []string{"AU", "ECOWAS"}},
		{"ZA", []string{"AU", "SADC"}},
		{"KM", []string{"AU", "SADC", "LAS"}},
		{"EH", []string{"AU"}},
		{"SA", []string{"GCC", "LAS"}},
		{"SY", []string{"LAS"}},
		{"PS", []string{"LAS"}},
		{"IN", []string{"SAARC"}},
		{"AF", []string{"SAARC"}},
		{"US", []string{"OAS"}},
		{"CO", []string{"OAS"}},
		{"NI", nil},
		{"JM", []string{"OAS", "CARICOM"}},
		{"MS", []string{"CARICOM"}},
		{"AU", []string{"PIF"}},
		{"NC", []string{"PIF"}},
		{"RE", []string{"CoE", "EU"}},
		{"CH", []string{"CoE"}},
		{"JP", nil},
	}
	for _, tt := range tests {
		if got := CountryRegions(tt.code); !slices.Equal(got, tt.want) {
			t.Errorf("CountryRegions(%q) = %v; want %v", tt.code, got, tt.want)
		}
	}

	members := map[string]int{}
	for _, c := range CountryCodes() {
		for _, r := range CountryRegions(c) {
			members[r]++
		}
	}
	// Sovereign members, plus the EU's outermost regions and Åland (7) for EU and CoE.
	want := map[string]int{
		"AU": 55, "ASEAN": 11, "CoE": 46 + 7, "EU": 27 + 7, "OAS": 33, "SAARC": 8,
		"ECOWAS": 12, "SADC": 16, "GCC": 6, "LAS": 22, "PIF": 18, "CARICOM": 15,
	}
	for r, n := range want {
		if members[r] != n {
			t.Errorf("%s has %d members; want %d", r, members[r], n)
		}
	}
}
