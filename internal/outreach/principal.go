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

// User is a person who signs in to the web UI or holds API tokens. Its
// tokens and sessions carry its role and country scope.
type User struct {
	Name      string   `json:"name"` // an email address, or a word such as "admin"
	Role      string   `json:"role"`
	Countries []string `json:"countries,omitempty"` // empty: every country
	Disabled  bool     `json:"disabled,omitempty"`
	// HasPassword is set once the user has chosen a password; until then
	// a one-time password (MustChangePassword) may sign in once.
	HasPassword        bool      `json:"has_password"`
	MustChangePassword bool      `json:"must_change_password,omitempty"`
	Created            time.Time `json:"created"`
	Updated            time.Time `json:"updated,omitzero"`
}

// Principal returns the user as the principal of its requests.
func (u *User) Principal() *Principal {
	return &Principal{Name: u.Name, Role: u.Role, Countries: u.Countries}
}

// Session is a signed-in web UI session; only a hash of its secret is
// stored. It ends at Expires, or after a period without requests.
type Session struct {
	ID        string    `json:"id"`
	User      string    `json:"user"`
	Created   time.Time `json:"created"`
	LastSeen  time.Time `json:"last_seen"`
	Expires   time.Time `json:"expires"`
	Addr      string    `json:"addr,omitempty"`
	UserAgent string    `json:"user_agent,omitempty"`
	// MustChangePassword marks a session opened with a one-time password:
	// it may only set a new password or sign out.
	MustChangePassword bool `json:"must_change_password,omitempty"`
}
