package main

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// /readyz reports the store, the development mail server (no smtp.url)
// and IMAP, and turns 503 when a configured server does not answer.
func TestReadyz(t *testing.T) {
	get := func(d *daemonT) (int, map[string]string) {
		t.Helper()
		addr, err := os.ReadFile(filepath.Join(d.data, "serve.addr"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get("http://" + strings.TrimSpace(string(addr)) + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var checks map[string]string
		if err := json.NewDecoder(resp.Body).Decode(&checks); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, checks
	}
	d := startDaemon(t, "")
	code, checks := get(d)
	if code != http.StatusOK || checks["store"] != "ok" || checks["smtp"] != "ok" || checks["imap"] != "disabled" {
		t.Errorf("/readyz = %d %v; want 200 with store and smtp ok, imap disabled", code, checks)
	}
	d.stop()

	// A port nothing listens on: bind one, then free it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	d = startDaemon(t, "", "OUTREACH_IMAP_URL=imap://u:p@"+dead+"?tls=none")
	code, checks = get(d)
	if code != http.StatusServiceUnavailable || !strings.HasPrefix(checks["imap"], "unreachable") || checks["smtp"] != "ok" {
		t.Errorf("/readyz with IMAP down = %d %v; want 503 with imap unreachable", code, checks)
	}
}
