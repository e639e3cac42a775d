package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

// Client calls the daemon's API; the CLI is built on it.
type Client struct {
	BaseURL string // e.g. http://127.0.0.1:8025
	Token   string
	HTTP    *http.Client
}

// APIError is an error answered by the daemon.
type APIError struct {
	Status  int
	Code    string
	Message string
	Field   string
	Details json.RawMessage
}

func (e *APIError) Error() string {
	if e.Field != "" && !strings.HasPrefix(e.Message, e.Field) {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// Do sends a request with an optional body and decodes a JSON answer into
// out (or copies it to out when out is an io.Writer).
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, body io.Reader, contentType string, out any) error {
	u := strings.TrimRight(c.BaseURL, "/") + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the outreach daemon at %s (is `outreach serve` running? set --server or OUTREACH_SERVER): %w", c.BaseURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var eb struct {
			Error struct {
				Code    string          `json:"code"`
				Message string          `json:"message"`
				Field   string          `json:"field"`
				Details json.RawMessage `json:"details"`
			} `json:"error"`
		}
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(data, &eb) != nil || eb.Error.Message == "" {
			return &APIError{Status: resp.StatusCode, Code: outreach.EINTERNAL, Message: fmt.Sprintf("%s: %s", resp.Status, bytes.TrimSpace(data))}
		}
		return &APIError{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message, Field: eb.Error.Field, Details: eb.Error.Details}
	}
	switch o := out.(type) {
	case nil:
		return nil
	case io.Writer:
		_, err = io.Copy(o, resp.Body)
		return err
	default:
		return json.NewDecoder(resp.Body).Decode(out)
	}
}

// JSON sends v as a JSON body (nil: no body) and decodes the answer.
func (c *Client) JSON(ctx context.Context, method, path string, query url.Values, v, out any) error {
	var body io.Reader
	ct := ""
	if v != nil {
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		body, ct = bytes.NewReader(data), "application/json"
	}
	return c.Do(ctx, method, path, query, body, ct, out)
}
