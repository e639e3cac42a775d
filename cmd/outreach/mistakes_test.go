package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// Common mistakes get an error that says what to do, and change nothing.
func TestCommonMistakes(t *testing.T) {
	d := startDaemon(t, "")
	d.mustCLI("contacts", "import", sampleCSV)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"waves", "add", "--name", "Everyone", "--template", "call-to-action"}, "--filter or --segment"},
		{[]string{"waves", "add", "--name", "Typo", "--template", "call-to-action", "--filter", "contry = MY"}, "unknown field"},
		{[]string{"waves", "add", "--name", "No such", "--template", "call-to-actoin", "--filter", "country = MY"}, "no template"},
		{[]string{"log", "--status", "sennt"}, "not an outcome"},
		{[]string{"waves", "show", "999"}, "not found"},
	} {
		out, errs, err := d.cli(tc.args...)
		if err == nil || !strings.Contains(err.Error()+errs, tc.want) {
			t.Errorf("outreach %s: err=%v stderr=%q stdout=%q; want an error mentioning %q", strings.Join(tc.args, " "), err, errs, out, tc.want)
		}
	}
	if out := d.mustCLI("waves", "list"); strings.Contains(out, "Everyone") || strings.Contains(out, "Typo") {
		t.Errorf("a refused wave was created:\n%s", out)
	}
	// A client without the daemon's data directory is told to pass it.
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"--data", t.TempDir(), "waves", "list"}, nil, strings.NewReader(""), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "--data") {
		t.Errorf("client without a token: %v; want it to point at --data", err)
	}
}
