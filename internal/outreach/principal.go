package outreach

import (
	"slices"
	"time"
)

// Roles, from most to least powerful.
const (
	RoleAdmin       = "admin"
	RoleCoordinator = "coordinator"
	RoleViewer      = "viewer"
)

// ValidRole reports whether r is a role.
func ValidRole(r string) bool {
	return r == RoleAdmin || r == RoleCoordinator || r == RoleViewer
}

// RoleAtLeast reports whether have grants everything need grants.
func RoleAtLeast(have, need string) bool { return roleRank(have) >= roleRank(need) }

func roleRank(r string) int {
	switch r {
	case RoleAdmin:
		return 3
	case RoleCoordinator:
		return 2
	case RoleViewer:
		return 1
	}
	return 0
}

// Principal is whoever makes a request: a user or the holder of a token.
type Principal struct {
	Name      string   `json:"name"`
	Role      string   `json:"role"`
	Countries []string `json:"countries,omitempty"` // empty: every country
}

// InScope reports whether the principal may see a contact in country.
// International contacts (no country) are visible only to unscoped
// principals.
func (p *Principal) InScope(country string) bool {
	return p == nil || len(p.Countries) == 0 || slices.Contains(p.Countries, country)
}

// Token is an API token; only a hash of its secret is stored.
type Token struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Principal string    `json:"principal"`
	Role      string    `json:"role"`
	Created   time.Time `json:"created"`
	Hash      []byte    `json:"-"`
}
