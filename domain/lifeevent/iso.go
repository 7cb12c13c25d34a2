package lifeevent

import "strings"

// countries holds the ISO 3166-1 alpha-2 codes officially assigned.
var countries = func() map[string]bool {
	const codes = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
		"CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR " +
		"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP " +
		"KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ " +
		"NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW " +
		"SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ " +
		"UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW"
	m := make(map[string]bool, 249)
	for _, c := range strings.Fields(codes) {
		m[c] = true
	}
	return m
}()

// ValidCountry reports whether s is an assigned ISO 3166-1 alpha-2 code, in
// upper case.
func ValidCountry(s string) bool { return countries[s] }

// ValidRegion reports whether s has the form of an ISO 3166-2 subdivision
// code: an assigned country code, a hyphen and one to three upper-case
// letters or digits (RU-MOW, RU-66, US-CA). The subdivision list itself
// changes too often to be hard-wired here.
func ValidRegion(s string) bool {
	country, sub, ok := strings.Cut(s, "-")
	if !ok || !ValidCountry(country) || len(sub) < 1 || len(sub) > 3 {
		return false
	}
	for _, r := range sub {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// ValidTimeZoneName reports whether s looks like an IANA zone name
// (Europe/Moscow, Etc/GMT-3, UTC). It checks the spelling only; whether the
// zone exists needs the time zone database, which the caller injects.
func ValidTimeZoneName(s string) bool {
	if s == "" || s == "Local" || strings.HasPrefix(s, "/") || strings.HasSuffix(s, "/") || strings.Contains(s, "..") {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case r == '/', r == '_', r == '-', r == '+':
		default:
			return false
		}
	}
	return true
}
