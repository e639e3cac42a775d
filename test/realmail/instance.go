package realmail

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serverWait bounds how long a server may take to start or stop.
const serverWait = 20 * time.Second

// AddUser adds the mailbox LOCAL@Domain, with the common Password, to
// Dovecot's passwd file and returns its address. Dovecot re-reads the file
// when it changes, so the user can log in and receive mail at once; Postfix
// needs no change (it hands every local address to Dovecot). Users are not
// removed and mailboxes persist for the instance's life: tests that want
// fresh mailboxes should put a unique run id in local.
func (s *Servers) AddUser(t testing.TB, local string) string {
	t.Helper()
	if local == "" || strings.ContainsAny(local, "@:/\\+ \t\r\n") || strings.HasPrefix(local, ".") {
		t.Fatalf("add user: bad local part %q", local)
	}
	if s.StateDir == "" {
		t.Fatalf("add user: OUTREACH_REAL_STATE_DIR is not set")
	}
	addr := local + "@" + s.Domain
	line := addr + ":{PLAIN}" + s.Password + "::::::\n"
	path := filepath.Join(s.StateDir, "dovecot", "passwd")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatalf("add user %s: %v", addr, err)
	}
	// One write of a short line to an O_APPEND file: concurrent callers
	// never interleave.
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		t.Fatalf("add user %s: %v", addr, err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("add user %s: %v", addr, err)
	}
	// Dovecot notices a changed passwd file by its size and mtime; two
	// appends within one second by parallel tests can leave it with a
	// stale copy for a moment. Wait until its userdb knows the user, or
	// LMTP refuses mail to it with 5.1.1.
	deadline := time.Now().Add(serverWait)
	for {
		out, err := exec.Command("doveadm", "-c", s.DovecotConfig, "user", addr).CombinedOutput()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("add user %s: dovecot does not know it: %v: %s", addr, err, out)
		}
		// Touch the file so the next lookup re-reads it.
		now := time.Now()
		os.Chtimes(path, now, now)
		time.Sleep(100 * time.Millisecond)
	}
	return addr
}

// StartInstance starts a private pair of Postfix and Dovecot with
// test/mailservers/start.sh on free ports, in a new state directory under
// /tmp, and stops and removes it when the test ends. It is for tests that
// stop and restart servers (StopPostfix, StartDovecot, ...), which must
// not disturb the shared instance. Like Env, it skips the test when the
// real servers are not configured, unless OUTREACH_REAL_MAIL=1. About 2 s
// to start and 3 s to stop.
func StartInstance(t testing.TB) *Servers {
	t.Helper()
	Env(t)
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("start instance: cannot locate test/mailservers")
	}
	scripts := filepath.Join(filepath.Dir(self), "..", "mailservers")
	dir, err := os.MkdirTemp("/tmp", "om.")
	if err != nil {
		t.Fatalf("start instance: %v", err)
	}
	stop := func() {
		out, err := exec.Command(filepath.Join(scripts, "stop.sh"), dir).CombinedOutput()
		if err != nil {
			t.Errorf("stop.sh %s: %v\n%s", dir, err, out)
		}
		os.RemoveAll(dir)
	}
	ports, err := freePorts(4)
	if err != nil {
		os.RemoveAll(dir)
		t.Fatalf("start instance: %v", err)
	}
	cmd := exec.Command(filepath.Join(scripts, "start.sh"), dir)
	cmd.Env = append(os.Environ(),
		"MX_PORT="+ports[0], "SUBMISSION_PORT="+ports[1], "IMAP_PORT="+ports[2], "IMAPS_PORT="+ports[3])
	// start.sh redirects the daemons' stdio to log files, so the pipes
	// close when it exits.
	if out, err := cmd.CombinedOutput(); err != nil {
		stop()
		t.Fatalf("start.sh %s: %v\n%s", dir, err, out)
	}
	t.Cleanup(stop)
	s, err := load(filepath.Join(dir, "env"))
	if err == nil {
		err = s.probe()
	}
	if err != nil {
		t.Fatalf("start instance: %v", err)
	}
	return s
}

func freePorts(n int) ([]string, error) {
	var ports []string
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		ports = append(ports, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	}
	return ports, nil
}

// StopPostfix stops Postfix as a service manager would: "postfix stop",
// then, once the master has exited, SIGTERM to the processes that outlive
// it (an smtpd finishes its client's session otherwise). It waits until
// all are gone and the ports refuse connections. Use it on a private
// instance (StartInstance) only.
func (s *Servers) StopPostfix(t testing.TB) {
	t.Helper()
	pid := s.pid(t, filepath.Join(s.StateDir, "postfix", "spool", "pid", "master.pid"), "master")
	if out, err := exec.Command("postfix", "-c", s.PostfixConfig, "stop").CombinedOutput(); err != nil {
		t.Fatalf("postfix stop: %v\n%s", err, out)
	}
	s.waitStopped(t, "postfix", pid, s.MX, s.Submission)
	// Postfix's daemons run in its queue directory.
	spool := filepath.Join(s.StateDir, "postfix") + "/"
	killLeftovers(t, "postfix", func(pid int) bool {
		cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
		return err == nil && strings.HasPrefix(cwd+"/", spool)
	})
}

// StartPostfix starts the stopped Postfix again and waits for its ports.
func (s *Servers) StartPostfix(t testing.TB) {
	t.Helper()
	cmd := exec.Command("postfix", "-c", s.PostfixConfig, "start")
	if err := s.runLogged(cmd, "postfix.start.log"); err != nil {
		t.Fatalf("postfix start: %v (see %s)", err, filepath.Join(s.StateDir, "log", "postfix.start.log"))
	}
	waitPorts(t, "postfix", s.MX, s.Submission)
}

// StopDovecot stops Dovecot as a service manager would: SIGTERM to its
// master, then, once it has exited, to the processes that outlive it (an
// imap process keeps serving its logged-in client otherwise, so IMAP
// clients would never notice the restart). It waits until all are gone
// and the ports refuse connections. Meanwhile Postfix defers the mail it
// cannot hand over by LMTP, and SMTP AUTH on the submission port fails.
// Use it on a private instance (StartInstance) only.
func (s *Servers) StopDovecot(t testing.TB) {
	t.Helper()
	pid := s.pid(t, filepath.Join(s.StateDir, "dovecot", "run", "master.pid"), "dovecot")
	conf, err := os.ReadFile(s.DovecotConfig)
	if err != nil {
		t.Fatalf("stop dovecot: %v", err)
	}
	instance := ""
	for line := range strings.Lines(string(conf)) {
		if k, v, ok := strings.Cut(line, "="); ok && strings.TrimSpace(k) == "instance_name" {
			instance = strings.TrimSpace(v)
		}
	}
	if instance == "" {
		t.Fatalf("stop dovecot: no instance_name in %s", s.DovecotConfig)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatalf("stop dovecot (pid %d): %v", pid, err)
	}
	s.waitStopped(t, "dovecot", pid, s.IMAP, s.IMAPS)
	// Dovecot titles its processes "dovecot-INSTANCE/SERVICE ...".
	title := []byte("dovecot-" + instance + "/")
	killLeftovers(t, "dovecot", func(pid int) bool {
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		return err == nil && bytes.HasPrefix(cmdline, title)
	})
}

// killLeftovers sends SIGTERM to every process that match selects, and
// SIGKILL to those still there 5 s later, and waits until they are gone.
func killLeftovers(t testing.TB, name string, match func(pid int) bool) {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("stop %s: %v", name, err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() || gone(pid) || !match(pid) {
			continue
		}
		if syscall.Kill(pid, syscall.SIGTERM) == nil {
			pids = append(pids, pid)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	killed := false
	for _, pid := range pids {
		for !gone(pid) {
			if time.Now().After(deadline) {
				if killed {
					t.Fatalf("stop %s: pid %d survives SIGKILL", name, pid)
				}
				for _, p := range pids {
					syscall.Kill(p, syscall.SIGKILL)
				}
				killed = true
				deadline = time.Now().Add(serverWait)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// StartDovecot starts the stopped Dovecot again and waits for its ports.
// Its stdio goes to a log file: the Dovecot master keeps it open.
func (s *Servers) StartDovecot(t testing.TB) {
	t.Helper()
	cmd := exec.Command("dovecot", "-c", s.DovecotConfig)
	if err := s.runLogged(cmd, "dovecot.start.log"); err != nil {
		t.Fatalf("dovecot start: %v (see %s)", err, filepath.Join(s.StateDir, "log", "dovecot.start.log"))
	}
	waitPorts(t, "dovecot", s.IMAP, s.IMAPS)
}

// runLogged runs cmd with stdin from /dev/null and stdout and stderr
// appended to the instance's log file name.
func (s *Servers) runLogged(cmd *exec.Cmd, name string) error {
	f, err := os.OpenFile(filepath.Join(s.StateDir, "log", name), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	return cmd.Run()
}

// pid reads a pid file and checks that it names a live process called
// comm.
func (s *Servers) pid(t testing.TB, file, comm string) int {
	t.Helper()
	if s.StateDir == "" {
		t.Fatalf("OUTREACH_REAL_STATE_DIR is not set")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%s is not running: %v", comm, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("pid file %s: %q", file, b)
	}
	if c, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(c)) != comm || gone(pid) {
		t.Fatalf("pid %d of %s is not a running %s", pid, file, comm)
	}
	return pid
}

// gone reports whether process pid has exited; a zombie (whose parent,
// the container's init, may never reap it) counts as exited.
func gone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the parenthesised command name.
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] == 'Z'
}

func (s *Servers) waitStopped(t testing.TB, name string, pid int, addrs ...string) {
	t.Helper()
	deadline := time.Now().Add(serverWait)
	for !gone(pid) || anyListening(addrs) {
		if time.Now().After(deadline) {
			t.Fatalf("%s (pid %d) still running %v after it was told to stop", name, pid, serverWait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitPorts(t testing.TB, name string, addrs ...string) {
	t.Helper()
	deadline := time.Now().Add(serverWait)
	for _, addr := range addrs {
		for !listening(addr) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s not listening %v after start", name, addr, serverWait)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func anyListening(addrs []string) bool {
	for _, a := range addrs {
		if listening(a) {
			return true
		}
	}
	return false
}

func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
