package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

// padding is an endless body of comment lines, which the list imports
// skip: only its size matters.
type padding struct{ n int64 }

func (p *padding) Read(b []byte) (int, error) {
	if p.n <= 0 {
		return 0, io.EOF
	}
	const line = "# padding line, skipped by the importer\n"
	n := 0
	for n < len(b) && p.n > 0 {
		c := copy(b[n:], line[int64(len(line))-min(int64(len(line)), p.n):])
		n += c
		p.n -= int64(c)
	}
	return n, nil
}

// A list import larger than its bound is refused as bad input (422 with
// the bound named), not read to the end nor reported as a server failure,
// and imports nothing.
func TestListImportsAreBounded(t *testing.T) {
	_, st, ts := newTestServer(t)
	tok, _, err := st.CreateToken(context.Background(), "c", outreach.RoleCoordinator, "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/v1/suppressions/import"} {
		body := io.MultiReader(strings.NewReader("nobody@example.org\n"), &padding{maxListBody + 1<<10})
		req, _ := http.NewRequest("POST", ts.URL+path, body)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "text/csv")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var e errorBody
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(e.Error.Message, "larger than 64 MiB") {
			t.Errorf("%s with %d bytes = %d %q; want 422 naming the 64 MiB bound", path, maxListBody+1<<10, resp.StatusCode, e.Error.Message)
		}
	}
	if list, err := st.Suppressions(context.Background()); err != nil || len(list) != 0 {
		t.Errorf("suppressions after the refused import = %v, %v; want none", list, err)
	}
}
