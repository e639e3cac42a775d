// Package e2e is the end-to-end suite against real Postfix and Dovecot
// (issue 7): it builds the outreach binary once, runs `outreach serve` as a
// child process configured through its environment to send through
// Postfix's submission port (STARTTLS, AUTH) and to watch a campaign
// mailbox on Dovecot over IMAP, and drives it with the same binary's CLI.
// What arrived is always read from the real mailboxes over IMAP, never from
// outreach's own records.
//
// Every test gets its own campaign mailbox and data directory, and finds
// its mail by its campaign's reply address (campaign+TOKEN@), so the tests
// run in parallel against the shared servers; the fault tests stop and
// restart servers of a private instance (realmail.StartInstance).
//
// Run with `make test-real`; without the servers every test skips with
// realmail.SkipMessage.
package e2e

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
)

// binary is the outreach binary built by TestMain; empty when the real
// servers are not configured (every test then skips).
var binary string

// parallel is how many tests run at once unless -parallel says otherwise:
// they mostly wait for the servers, so more than GOMAXPROCS (the default,
// 2 on CI) keeps the suite at the length of its longest test, the ~65 s
// of Postfix's deferred-mail expiry.
const parallel = 8

func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		flag.Set("test.parallel", strconv.Itoa(parallel))
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv("OUTREACH_REAL_MAIL_ENV") == "" && os.Getenv("OUTREACH_REAL_MAIL") != "1" {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "outreach-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "outreach")
	if err := build(binary); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	return m.Run()
}

// build compiles ./cmd/outreach into bin, with the race detector when this
// test binary has it, so a data race in the daemon fails the suite too.
func build(bin string) error {
	goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goCmd); err != nil {
		goCmd = "go"
	}
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command(goCmd, append(args, "./cmd/outreach")...)
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/outreach: %v\n%s", err, out)
	}
	return nil
}
