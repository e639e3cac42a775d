package outreach

import (
	"strings"
)

type countryInfo struct {
	Name    string
	Regions []string
	Zone    string
}

// countries maps each ISO 3166-1 alpha-2 code to its English short name, its
// regional bodies and, where the country keeps one clock, its IANA zone.
var countries = buildCountries()

func buildCountries() map[string]countryInfo {
	m := make(map[string]countryInfo, len(countryTable))
	for _, c := range countryTable {
		m[c.code] = countryInfo{Name: c.name, Regions: strings.Fields(c.regions), Zone: c.zone}
	}
	return m
}

// countryTable lists all 249 officially assigned ISO 3166-1 alpha-2 codes,
// sorted by code: code, English short name, zone, regional bodies.
//
// Regional bodies are AU, ASEAN, CoE, EU, OAS, SAARC, ECOWAS, SADC, GCC, LAS
// (Arab League), PIF and CARICOM, full members only (no observers or
// associates), as of late 2025. A suspended member is still a member; a state
// that has left is not: the United Kingdom left the EU (2020), Russia was
// expelled from the CoE (2022), Mali, Burkina Faso and Niger left ECOWAS
// (2025), Venezuela (2019) and Nicaragua (2023) left the OAS. Morocco rejoined the AU in 2017,
// Syria returned to the Arab League in 2023, Timor-Leste joined ASEAN in 2025.
// Cuba is listed in the OAS, of which it is a member that does not take part.
// Territories with their own code carry a body only where they belong to it
// as part of a member state (the EU's outermost regions and Åland: EU and CoE)
// or are members in their own right (Montserrat in CARICOM, French Polynesia
// and New Caledonia in the PIF).
//
// Zone is the country's one clock: set where the whole country keeps the same
// local time, or where the only exceptions are outlying regions holding a few
// percent of the people (Canaries, Azores, Galápagos, Chatham, Easter Island,
// Aysén and Magallanes, Bougainville, Marquesas, east and north Greenland).
// Kazakhstan has kept one clock (UTC+5) since March 2024. It is a default:
// a contact's own zone overrides it. Zone is empty where the country spans
// several clocks and for Antarctica and the uninhabited territories.
var countryTable = [...]struct{ code, name, zone, regions string }{
	{"AD", "Andorra", "Europe/Andorra", "CoE"},
	{"AE", "United Arab Emirates", "Asia/Dubai", "GCC LAS"},
	{"AF", "Afghanistan", "Asia/Kabul", "SAARC"},
	{"AG", "Antigua and Barbuda", "America/Antigua", "OAS CARICOM"},
	{"AI", "Anguilla", "America/Anguilla", ""},
	{"AL", "Albania", "Europe/Tirane", "CoE"},
	{"AM", "Armenia", "Asia/Yerevan", "CoE"},
	{"AO", "Angola", "Africa/Luanda", "AU SADC"},
	{"AQ", "Antarctica", "", ""},
	{"AR", "Argentina", "America/Argentina/Buenos_Aires", "OAS"},
	{"AS", "American Samoa", "Pacific/Pago_Pago", ""},
	{"AT", "Austria", "Europe/Vienna", "CoE EU"},
	{"AU", "Australia", "", "PIF"},
	{"AW", "Aruba", "America/Aruba", ""},
	{"AX", "Åland Islands", "Europe/Mariehamn", "CoE EU"},
	{"AZ", "Azerbaijan", "Asia/Baku", "CoE"},
	{"BA", "Bosnia and Herzegovina", "Europe/Sarajevo", "CoE"},
	{"BB", "Barbados", "America/Barbados", "OAS CARICOM"},
	{"BD", "Bangladesh", "Asia/Dhaka", "SAARC"},
	{"BE", "Belgium", "Europe/Brussels", "CoE EU"},
	{"BF", "Burkina Faso", "Africa/Ouagadougou", "AU"},
	{"BG", "Bulgaria", "Europe/Sofia", "CoE EU"},
	{"BH", "Bahrain", "Asia/Bahrain", "GCC LAS"},
	{"BI", "Burundi", "Africa/Bujumbura", "AU"},
	{"BJ", "Benin", "Africa/Porto-Novo", "AU ECOWAS"},
	{"BL", "Saint Barthélemy", "America/St_Barthelemy", ""},
	{"BM", "Bermuda", "Atlantic/Bermuda", ""},
	{"BN", "Brunei", "Asia/Brunei", "ASEAN"},
	{"BO", "Bolivia", "America/La_Paz", "OAS"},
	{"BQ", "Caribbean Netherlands", "America/Kralendijk", ""},
	{"BR", "Brazil", "", "OAS"},
	{"BS", "Bahamas", "America/Nassau", "OAS CARICOM"},
	{"BT", "Bhutan", "Asia/Thimphu", "SAARC"},
	{"BV", "Bouvet Island", "", ""},
	{"BW", "Botswana", "Africa/Gaborone", "AU SADC"},
	{"BY", "Belarus", "Europe/Minsk", ""},
	{"BZ", "Belize", "America/Belize", "OAS CARICOM"},
	{"CA", "Canada", "", "OAS"},
	{"CC", "Cocos (Keeling) Islands", "Indian/Cocos", ""},
	{"CD", "Democratic Republic of the Congo", "", "AU SADC"},
	{"CF", "Central African Republic", "Africa/Bangui", "AU"},
	{"CG", "Republic of the Congo", "Africa/Brazzaville", "AU"},
	{"CH", "Switzerland", "Europe/Zurich", "CoE"},
	{"CI", "Côte d'Ivoire", "Africa/Abidjan", "AU ECOWAS"},
	{"CK", "Cook Islands", "Pacific/Rarotonga", "PIF"},
	{"CL", "Chile", "America/Santiago", "OAS"},
	{"CM", "Cameroon", "Africa/Douala", "AU"},
	{"CN", "China", "Asia/Shanghai", ""},
	{"CO", "Colombia", "America/Bogota", "OAS"},
	{"CR", "Costa Rica", "America/Costa_Rica", "OAS"},
	{"CU", "Cuba", "America/Havana", "OAS"},
	{"CV", "Cabo Verde", "Atlantic/Cape_Verde", "AU ECOWAS"},
	{"CW", "Curaçao", "America/Curacao", ""},
	{"CX", "Christmas Island", "Indian/Christmas", ""},
	{"CY", "Cyprus", "Asia/Nicosia", "CoE EU"},
	{"CZ", "Czechia", "Europe/Prague", "CoE EU"},
	{"DE", "Germany", "Europe/Berlin", "CoE EU"},
	{"DJ", "Djibouti", "Africa/Djibouti", "AU LAS"},
	{"DK", "Denmark", "Europe/Copenhagen", "CoE EU"},
	{"DM", "Dominica", "America/Dominica", "OAS CARICOM"},
	{"DO", "Dominican Republic", "America/Santo_Domingo", "OAS"},
	{"DZ", "Algeria", "Africa/Algiers", "AU LAS"},
	{"EC", "Ecuador", "America/Guayaquil", "OAS"},
	{"EE", "Estonia", "Europe/Tallinn", "CoE EU"},
	{"EG", "Egypt", "Africa/Cairo", "AU LAS"},
	{"EH", "Western Sahara", "Africa/El_Aaiun", "AU"},
	{"ER", "Eritrea", "Africa/Asmara", "AU"},
	{"ES", "Spain", "Europe/Madrid", "CoE EU"},
	{"ET", "Ethiopia", "Africa/Addis_Ababa", "AU"},
	{"FI", "Finland", "Europe/Helsinki", "CoE EU"},
	{"FJ", "Fiji", "Pacific/Fiji", "PIF"},
	{"FK", "Falkland Islands", "Atlantic/Stanley", ""},
	{"FM", "Micronesia", "", "PIF"},
	{"FO", "Faroe Islands", "Atlantic/Faroe", ""},
	{"FR", "France", "Europe/Paris", "CoE EU"},
	{"GA", "Gabon", "Africa/Libreville", "AU"},
	{"GB", "United Kingdom", "Europe/London", "CoE"},
	{"GD", "Grenada", "America/Grenada", "OAS CARICOM"},
	{"GE", "Georgia", "Asia/Tbilisi", "CoE"},
	{"GF", "French Guiana", "America/Cayenne", "CoE EU"},
	{"GG", "Guernsey", "Europe/Guernsey", ""},
	{"GH", "Ghana", "Africa/Accra", "AU ECOWAS"},
	{"GI", "Gibraltar", "Europe/Gibraltar", ""},
	{"GL", "Greenland", "America/Nuuk", ""},
	{"GM", "Gambia", "Africa/Banjul", "AU ECOWAS"},
	{"GN", "Guinea", "Africa/Conakry", "AU ECOWAS"},
	{"GP", "Guadeloupe", "America/Guadeloupe", "CoE EU"},
	{"GQ", "Equatorial Guinea", "Africa/Malabo", "AU"},
	{"GR", "Greece", "Europe/Athens", "CoE EU"},
	{"GS", "South Georgia and the South Sandwich Islands", "Atlantic/South_Georgia", ""},
	{"GT", "Guatemala", "America/Guatemala", "OAS"},
	{"GU", "Guam", "Pacific/Guam", ""},
	{"GW", "Guinea-Bissau", "Africa/Bissau", "AU ECOWAS"},
	{"GY", "Guyana", "America/Guyana", "OAS CARICOM"},
	{"HK", "Hong Kong", "Asia/Hong_Kong", ""},
	{"HM", "Heard Island and McDonald Islands", "", ""},
	{"HN", "Honduras", "America/Tegucigalpa", "OAS"},
	{"HR", "Croatia", "Europe/Zagreb", "CoE EU"},
	{"HT", "Haiti", "America/Port-au-Prince", "OAS CARICOM"},
	{"HU", "Hungary", "Europe/Budapest", "CoE EU"},
	{"ID", "Indonesia", "", "ASEAN"},
	{"IE", "Ireland", "Europe/Dublin", "CoE EU"},
	{"IL", "Israel", "Asia/Jerusalem", ""},
	{"IM", "Isle of Man", "Europe/Isle_of_Man", ""},
	{"IN", "India", "Asia/Kolkata", "SAARC"},
	{"IO", "British Indian Ocean Territory", "Indian/Chagos", ""},
	{"IQ", "Iraq", "Asia/Baghdad", "LAS"},
	{"IR", "Iran", "Asia/Tehran", ""},
	{"IS", "Iceland", "Atlantic/Reykjavik", "CoE"},
	{"IT", "Italy", "Europe/Rome", "CoE EU"},
	{"JE", "Jersey", "Europe/Jersey", ""},
	{"JM", "Jamaica", "America/Jamaica", "OAS CARICOM"},
	{"JO", "Jordan", "Asia/Amman", "LAS"},
	{"JP", "Japan", "Asia/Tokyo", ""},
	{"KE", "Kenya", "Africa/Nairobi", "AU"},
	{"KG", "Kyrgyzstan", "Asia/Bishkek", ""},
	{"KH", "Cambodia", "Asia/Phnom_Penh", "ASEAN"},
	{"KI", "Kiribati", "", "PIF"},
	{"KM", "Comoros", "Indian/Comoro", "AU SADC LAS"},
	{"KN", "Saint Kitts and Nevis", "America/St_Kitts", "OAS CARICOM"},
	{"KP", "North Korea", "Asia/Pyongyang", ""},
	{"KR", "South Korea", "Asia/Seoul", ""},
	{"KW", "Kuwait", "Asia/Kuwait", "GCC LAS"},
	{"KY", "Cayman Islands", "America/Cayman", ""},
	{"KZ", "Kazakhstan", "Asia/Almaty", ""},
	{"LA", "Laos", "Asia/Vientiane", "ASEAN"},
	{"LB", "Lebanon", "Asia/Beirut", "LAS"},
	{"LC", "Saint Lucia", "America/St_Lucia", "OAS CARICOM"},
	{"LI", "Liechtenstein", "Europe/Vaduz", "CoE"},
	{"LK", "Sri Lanka", "Asia/Colombo", "SAARC"},
	{"LR", "Liberia", "Africa/Monrovia", "AU ECOWAS"},
	{"LS", "Lesotho", "Africa/Maseru", "AU SADC"},
	{"LT", "Lithuania", "Europe/Vilnius", "CoE EU"},
	{"LU", "Luxembourg", "Europe/Luxembourg", "CoE EU"},
	{"LV", "Latvia", "Europe/Riga", "CoE EU"},
	{"LY", "Libya", "Africa/Tripoli", "AU LAS"},
	{"MA", "Morocco", "Africa/Casablanca", "AU LAS"},
	{"MC", "Monaco", "Europe/Monaco", "CoE"},
	{"MD", "Moldova", "Europe/Chisinau", "CoE"},
	{"ME", "Montenegro", "Europe/Podgorica", "CoE"},
	{"MF", "Saint Martin", "America/Marigot", "CoE EU"},
	{"MG", "Madagascar", "Indian/Antananarivo", "AU SADC"},
	{"MH", "Marshall Islands", "Pacific/Majuro", "PIF"},
	{"MK", "North Macedonia", "Europe/Skopje", "CoE"},
	{"ML", "Mali", "Africa/Bamako", "AU"},
	{"MM", "Myanmar", "Asia/Yangon", "ASEAN"},
	{"MN", "Mongolia", "", ""},
	{"MO", "Macao", "Asia/Macau", ""},
	{"MP", "Northern Mariana Islands", "Pacific/Saipan", ""},
	{"MQ", "Martinique", "America/Martinique", "CoE EU"},
	{"MR", "Mauritania", "Africa/Nouakchott", "AU LAS"},
	{"MS", "Montserrat", "America/Montserrat", "CARICOM"},
	{"MT", "Malta", "Europe/Malta", "CoE EU"},
	{"MU", "Mauritius", "Indian/Mauritius", "AU SADC"},
	{"MV", "Maldives", "Indian/Maldives", "SAARC"},
	{"MW", "Malawi", "Africa/Blantyre", "AU SADC"},
	{"MX", "Mexico", "", "OAS"},
	{"MY", "Malaysia", "Asia/Kuala_Lumpur", "ASEAN"},
	{"MZ", "Mozambique", "Africa/Maputo", "AU SADC"},
	{"NA", "Namibia", "Africa/Windhoek", "AU SADC"},
	{"NC", "New Caledonia", "Pacific/Noumea", "PIF"},
	{"NE", "Niger", "Africa/Niamey", "AU"},
	{"NF", "Norfolk Island", "Pacific/Norfolk", ""},
	{"NG", "Nigeria", "Africa/Lagos", "AU ECOWAS"},
	{"NI", "Nicaragua", "America/Managua", ""},
	{"NL", "Netherlands", "Europe/Amsterdam", "CoE EU"},
	{"NO", "Norway", "Europe/Oslo", "CoE"},
	{"NP", "Nepal", "Asia/Kathmandu", "SAARC"},
	{"NR", "Nauru", "Pacific/Nauru", "PIF"},
	{"NU", "Niue", "Pacific/Niue", "PIF"},
	{"NZ", "New Zealand", "Pacific/Auckland", "PIF"},
	{"OM", "Oman", "Asia/Muscat", "GCC LAS"},
	{"PA", "Panama", "America/Panama", "OAS"},
	{"PE", "Peru", "America/Lima", "OAS"},
	{"PF", "French Polynesia", "Pacific/Tahiti", "PIF"},
	{"PG", "Papua New Guinea", "Pacific/Port_Moresby", "PIF"},
	{"PH", "Philippines", "Asia/Manila", "ASEAN"},
	{"PK", "Pakistan", "Asia/Karachi", "SAARC"},
	{"PL", "Poland", "Europe/Warsaw", "CoE EU"},
	{"PM", "Saint Pierre and Miquelon", "America/Miquelon", ""},
	{"PN", "Pitcairn Islands", "Pacific/Pitcairn", ""},
	{"PR", "Puerto Rico", "America/Puerto_Rico", ""},
	{"PS", "Palestine", "Asia/Hebron", "LAS"},
	{"PT", "Portugal", "Europe/Lisbon", "CoE EU"},
	{"PW", "Palau", "Pacific/Palau", "PIF"},
	{"PY", "Paraguay", "America/Asuncion", "OAS"},
	{"QA", "Qatar", "Asia/Qatar", "GCC LAS"},
	{"RE", "Réunion", "Indian/Reunion", "CoE EU"},
	{"RO", "Romania", "Europe/Bucharest", "CoE EU"},
	{"RS", "Serbia", "Europe/Belgrade", "CoE"},
	{"RU", "Russia", "", ""},
	{"RW", "Rwanda", "Africa/Kigali", "AU"},
	{"SA", "Saudi Arabia", "Asia/Riyadh", "GCC LAS"},
	{"SB", "Solomon Islands", "Pacific/Guadalcanal", "PIF"},
	{"SC", "Seychelles", "Indian/Mahe", "AU SADC"},
	{"SD", "Sudan", "Africa/Khartoum", "AU LAS"},
	{"SE", "Sweden", "Europe/Stockholm", "CoE EU"},
	{"SG", "Singapore", "Asia/Singapore", "ASEAN"},
	{"SH", "Saint Helena, Ascension and Tristan da Cunha", "Atlantic/St_Helena", ""},
	{"SI", "Slovenia", "Europe/Ljubljana", "CoE EU"},
	{"SJ", "Svalbard and Jan Mayen", "Arctic/Longyearbyen", ""},
	{"SK", "Slovakia", "Europe/Bratislava", "CoE EU"},
	{"SL", "Sierra Leone", "Africa/Freetown", "AU ECOWAS"},
	{"SM", "San Marino", "Europe/San_Marino", "CoE"},
	{"SN", "Senegal", "Africa/Dakar", "AU ECOWAS"},
	{"SO", "Somalia", "Africa/Mogadishu", "AU LAS"},
	{"SR", "Suriname", "America/Paramaribo", "OAS CARICOM"},
	{"SS", "South Sudan", "Africa/Juba", "AU"},
	{"ST", "São Tomé and Príncipe", "Africa/Sao_Tome", "AU"},
	{"SV", "El Salvador", "America/El_Salvador", "OAS"},
	{"SX", "Sint Maarten", "America/Lower_Princes", ""},
	{"SY", "Syria", "Asia/Damascus", "LAS"},
	{"SZ", "Eswatini", "Africa/Mbabane", "AU SADC"},
	{"TC", "Turks and Caicos Islands", "America/Grand_Turk", ""},
	{"TD", "Chad", "Africa/Ndjamena", "AU"},
	{"TF", "French Southern Territories", "Indian/Kerguelen", ""},
	{"TG", "Togo", "Africa/Lome", "AU ECOWAS"},
	{"TH", "Thailand", "Asia/Bangkok", "ASEAN"},
	{"TJ", "Tajikistan", "Asia/Dushanbe", ""},
	{"TK", "Tokelau", "Pacific/Fakaofo", ""},
	{"TL", "Timor-Leste", "Asia/Dili", "ASEAN"},
	{"TM", "Turkmenistan", "Asia/Ashgabat", ""},
	{"TN", "Tunisia", "Africa/Tunis", "AU LAS"},
	{"TO", "Tonga", "Pacific/Tongatapu", "PIF"},
	{"TR", "Türkiye", "Europe/Istanbul", "CoE"},
	{"TT", "Trinidad and Tobago", "America/Port_of_Spain", "OAS CARICOM"},
	{"TV", "Tuvalu", "Pacific/Funafuti", "PIF"},
	{"TW", "Taiwan", "Asia/Taipei", ""},
	{"TZ", "Tanzania", "Africa/Dar_es_Salaam", "AU SADC"},
	{"UA", "Ukraine", "Europe/Kyiv", "CoE"},
	{"UG", "Uganda", "Africa/Kampala", "AU"},
	{"UM", "United States Minor Outlying Islands", "", ""},
	{"US", "United States", "", "OAS"},
	{"UY", "Uruguay", "America/Montevideo", "OAS"},
	{"UZ", "Uzbekistan", "Asia/Tashkent", ""},
	{"VA", "Vatican City", "Europe/Vatican", ""},
	{"VC", "Saint Vincent and the Grenadines", "America/St_Vincent", "OAS CARICOM"},
	{"VE", "Venezuela", "America/Caracas", ""},
	{"VG", "British Virgin Islands", "America/Tortola", ""},
	{"VI", "United States Virgin Islands", "America/St_Thomas", ""},
	{"VN", "Vietnam", "Asia/Ho_Chi_Minh", "ASEAN"},
	{"VU", "Vanuatu", "Pacific/Efate", "PIF"},
	{"WF", "Wallis and Futuna", "Pacific/Wallis", ""},
	{"WS", "Samoa", "Pacific/Apia", "PIF"},
	{"YE", "Yemen", "Asia/Aden", "LAS"},
	{"YT", "Mayotte", "Indian/Mayotte", "CoE EU"},
	{"ZA", "South Africa", "Africa/Johannesburg", "AU SADC"},
	{"ZM", "Zambia", "Africa/Lusaka", "AU SADC"},
	{"ZW", "Zimbabwe", "Africa/Harare", "AU SADC"},
}

// ValidCountry reports whether code is an assigned ISO 3166-1 alpha-2 code
// (upper-case).
func ValidCountry(code string) bool { _, ok := countries[code]; return ok }

// CountryCodes returns every assigned ISO 3166-1 alpha-2 code, sorted.
func CountryCodes() []string {
	codes := make([]string, len(countryTable))
	for i, c := range countryTable {
		codes[i] = c.code
	}
	return codes
}

// CountryName returns the English short name of a country ("MY" ->
// "Malaysia"), or "" for an unknown code.
func CountryName(code string) string { return countries[code].Name }

// CountryRegions returns the regional bodies a country belongs to (AU,
// ASEAN, CoE, EU, OAS, SAARC, ECOWAS, SADC, GCC, LAS, PIF, CARICOM). The
// slice must not be modified.
func CountryRegions(code string) []string { return countries[code].Regions }

// CountryTimeZone returns the IANA zone of a country that keeps one clock,
// or "" where the country spans several.
func CountryTimeZone(code string) string { return countries[code].Zone }
