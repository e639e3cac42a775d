package web

import (
	"fmt"
	"net/http"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/service"
	"github.com/outreach-coalition/outreach/internal/store"
)

// NewUser is the answer to POST /api/v1/users: the user and, when no
// password was given, its one-time password, shown this once.
type NewUser struct {
	User            *outreach.User `json:"user"`
	OneTimePassword string         `json:"one_time_password,omitempty"`
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	list, err := s.Svc.Users(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) addUser(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	var in service.UserInput
	if err := readJSON(r, &in); err != nil {
		return err
	}
	u, otp, err := s.Svc.AddUser(r.Context(), p, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, NewUser{User: u, OneTimePassword: otp})
	return nil
}

// UserPatch is the JSON body of PATCH /api/v1/users/{name}.
type UserPatch struct {
	Role      *string   `json:"role,omitempty"`
	Countries *[]string `json:"countries,omitempty"`
	Disabled  *bool     `json:"disabled,omitempty"`
}

func (s *Server) patchUser(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	var in UserPatch
	if err := readJSON(r, &in); err != nil {
		return err
	}
	u, err := s.Svc.UpdateUser(r.Context(), p, r.PathValue("name"), store.UserPatch(in))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	var in struct {
		Password string `json:"password"`
	}
	if r.ContentLength != 0 {
		if err := readJSON(r, &in); err != nil {
			return err
		}
	}
	otp, err := s.Svc.ResetPassword(r.Context(), p, r.PathValue("name"), in.Password)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"user": r.PathValue("name"), "one_time_password": otp})
	return nil
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	list, err := s.Svc.Sessions(r.Context(), p, r.URL.Query().Get("user"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) revokeSession(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	if err := s.Svc.RevokeSession(r.Context(), p, r.PathValue("id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"revoked": r.PathValue("id")})
	return nil
}

// forgetContact erases a person's data (POST /api/v1/contacts/{email}/forget).
// When the erasure stands but compaction failed, the answer is 503 with
// the error; the erasure is not undone.
func (s *Server) forgetContact(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	res, err := s.Svc.ForgetContact(r.Context(), p, r.PathValue("email"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// forgetContactPage is the contact page's "Forget" button.
func (s *Server) forgetContactPage(w http.ResponseWriter, r *http.Request, p *outreach.Principal) error {
	res, err := s.Svc.ForgetContact(r.Context(), p, r.PathValue("email"))
	if err != nil {
		return err
	}
	return redirect(w, r, "/contacts", fmt.Sprintf("The contact's personal data is erased; the address stays suppressed as %s.", res.Hash))
}
