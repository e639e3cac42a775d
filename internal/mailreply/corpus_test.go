package mailreply

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/outreach-coalition/outreach/internal/outreach"
)

type expectation struct {
	file, class, review string
}

func readExpected(t testing.TB, dir string) []expectation {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "expected.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []expectation
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if strings.HasPrefix(text, "#") || strings.TrimSpace(text) == "" {
			continue
		}
		cols := strings.Split(text, "\t")
		if len(cols) != 3 {
			t.Fatalf("expected.tsv:%d: want 3 tab-separated columns, got %d", line, len(cols))
		}
		switch cols[2] {
		case "true", "false", "any":
		default:
			t.Fatalf("expected.tsv:%d: review %q is not true, false or any", line, cols[2])
		}
		out = append(out, expectation{cols[0], cols[1], cols[2]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func parseFile(t testing.TB, path string) *Message {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := Parse(f)
	if err != nil {
		t.Fatalf("Parse(%s): %v", path, err)
	}
	return m
}

// TestCorpus classifies every fixture. Any endorsement, sure or not, of a
// reply whose expected class is not endorse fails the test: that is the
// false endorsement the project must never make. Other mismatches fail too;
// the accuracy and the share sent to review are logged.
func TestCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "replies")
	exp := readExpected(t, dir)
	if len(exp) < 70 {
		t.Errorf("corpus has %d fixtures; want at least 70", len(exp))
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) != len(exp) {
		t.Errorf("%d .eml files but %d rows in expected.tsv", len(files), len(exp))
	}
	correct, review := 0, 0
	perClass := map[string][2]int{}
	for _, e := range exp {
		m := parseFile(t, filepath.Join(dir, e.file))
		r := Classify(m)
		if r.Review {
			review++
		}
		c := perClass[e.class]
		c[1]++
		if r.Class == outreach.ClassEndorse && e.class != outreach.ClassEndorse {
			t.Errorf("FALSE ENDORSEMENT %s: got %+v; want %s", e.file, r, e.class)
			continue
		}
		if r.Class == outreach.ClassEndorse && !r.Sure && !r.Review {
			t.Errorf("%s: unsure endorsement not sent to review: %+v", e.file, r)
		}
		if r.Class != e.class {
			t.Errorf("%s: class %s (%s); want %s", e.file, r.Class, r.Reason, e.class)
			perClass[e.class] = c
			continue
		}
		if e.review != "any" && (e.review == "true") != r.Review {
			t.Errorf("%s: review %v (%s); want %s", e.file, r.Review, r.Reason, e.review)
			perClass[e.class] = c
			continue
		}
		c[0]++
		perClass[e.class] = c
		correct++
	}
	t.Logf("accuracy %d/%d (%.1f%%), sent to review %d/%d (%.1f%%)",
		correct, len(exp), 100*float64(correct)/float64(len(exp)), review, len(exp), 100*float64(review)/float64(len(exp)))
	for class, c := range perClass {
		t.Logf("  %-12s %d/%d", class, c[0], c[1])
	}
}
