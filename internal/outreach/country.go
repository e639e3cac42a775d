package outreach

// countries maps each ISO 3166-1 alpha-2 code to its regional bodies and,
// where the whole country keeps one IANA zone, that zone.
// TODO(country helper): complete for all 249 codes.
var countries = map[string]countryInfo{
	"MY": {Regions: []string{"ASEAN"}, Zone: "Asia/Kuala_Lumpur"},
	"PH": {Regions: []string{"ASEAN"}, Zone: "Asia/Manila"},
	"US": {Regions: []string{"OAS"}},
	"KE": {Regions: []string{"AU"}, Zone: "Africa/Nairobi"},
	"CO": {Regions: []string{"OAS"}, Zone: "America/Bogota"},
	"FR": {Regions: []string{"CoE", "EU"}, Zone: "Europe/Paris"},
	"BR": {Regions: []string{"OAS"}},
	"ES": {Regions: []string{"CoE", "EU"}, Zone: "Europe/Madrid"},
	"MX": {Regions: []string{"OAS"}},
}

type countryInfo struct {
	Regions []string
	Zone    string
}

// ValidCountry reports whether code is an assigned ISO 3166-1 alpha-2 code
// (upper-case).
func ValidCountry(code string) bool { _, ok := countries[code]; return ok }

// CountryRegions returns the regional bodies a country belongs to (AU,
// ASEAN, CoE, OAS, SAARC, EU, ...). The slice must not be modified.
func CountryRegions(code string) []string { return countries[code].Regions }

// CountryTimeZone returns the IANA zone of a country that has only one,
// or "" where the country spans several.
func CountryTimeZone(code string) string { return countries[code].Zone }
