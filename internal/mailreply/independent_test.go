package mailreply_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/outreach-coalition/outreach/internal/mailreply"
	"github.com/outreach-coalition/outreach/internal/outreach"
)

// independentDir holds a blind test set written without reading the
// classifier or its own fixtures: raw replies from several MUAs in English,
// Spanish, French and Portuguese, with the expected class of each in
// expected.tsv (file, class, note). It measures how the classifier does on
// mail it was not tuned on.
const independentDir = "testdata/independent"

type expectedReply struct {
	file  string
	class string
	note  string
	line  int
}

// readExpected parses expected.tsv: one "file<TAB>class<TAB>note" per line;
// blank lines and lines starting with # are skipped.
func readExpected(path string) ([]expectedReply, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	classes := map[string]bool{
		outreach.ClassEndorse: true, outreach.ClassDecline: true, outreach.ClassUnsubscribe: true,
		outreach.ClassAutoReply: true, outreach.ClassBounce: true, outreach.ClassOther: true,
	}
	var out []expectedReply
	seen := map[string]int{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) != 3 {
			return nil, fmt.Errorf("%s:%d: want 3 tab-separated fields, got %d", path, n, len(fields))
		}
		e := expectedReply{file: fields[0], class: fields[1], note: fields[2], line: n}
		if !classes[e.class] {
			return nil, fmt.Errorf("%s:%d: unknown class %q", path, n, e.class)
		}
		if prev, ok := seen[e.file]; ok {
			return nil, fmt.Errorf("%s:%d: %s already listed on line %d", path, n, e.file, prev)
		}
		seen[e.file] = n
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return out, nil
}

// languageOf returns the language a reply is written in, taken from its file
// name prefix, or "" for machine-written mail (bounces).
func languageOf(file string) string {
	for _, l := range []string{"en", "es", "fr", "pt"} {
		if strings.HasPrefix(file, l+"-") {
			return l
		}
	}
	return ""
}

// TestIndependentCorpus fails only on false endorsements, the worst error the
// classifier can make. Every other mismatch, and the language it reports, is
// logged so that a run with -v shows how well the classifier does.
func TestIndependentCorpus(t *testing.T) {
	want, err := readExpected(filepath.Join(independentDir, "expected.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(independentDir, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, e := range want {
		listed[e.file] = true
	}
	for _, f := range files {
		if !listed[filepath.Base(f)] {
			t.Errorf("%s is not listed in expected.tsv", f)
		}
	}
	if len(want) < 36 {
		t.Fatalf("expected.tsv lists %d replies; the corpus needs at least 36", len(want))
	}

	var (
		correct, review, langOK, langChecked int
		falseEndorse, mismatches, langMiss   []string
		perClass                             = map[string][2]int{} // class -> {correct, total}
		confusion                            = map[string]int{}    // "want->got" -> count
	)
	for _, e := range want {
		got, err := classifyFile(filepath.Join(independentDir, e.file))
		pc := perClass[e.class]
		pc[1]++
		if err != nil {
			mismatches = append(mismatches, fmt.Sprintf("%s: want %s, %v (%s)", e.file, e.class, err, e.note))
			confusion[e.class+"->error"]++
			perClass[e.class] = pc
			continue
		}
		if got.Review {
			review++
		}
		if got.Class == e.class {
			correct++
			pc[0]++
		} else {
			confusion[e.class+"->"+got.Class]++
			line := fmt.Sprintf("%s: got %s (sure=%v review=%v reason=%q), want %s (%s)",
				e.file, got.Class, got.Sure, got.Review, got.Reason, e.class, e.note)
			if got.Class == outreach.ClassEndorse {
				falseEndorse = append(falseEndorse, line)
			} else {
				mismatches = append(mismatches, line)
			}
		}
		perClass[e.class] = pc
		if lang := languageOf(e.file); lang != "" {
			langChecked++
			if strings.HasPrefix(strings.ToLower(got.Language), lang) {
				langOK++
			} else {
				langMiss = append(langMiss, fmt.Sprintf("%s: language %q, want %s", e.file, got.Language, lang))
			}
		}
	}

	n := len(want)
	for _, m := range mismatches {
		t.Logf("mismatch: %s", m)
	}
	for _, m := range langMiss {
		t.Logf("language: %s", m)
	}
	classes := make([]string, 0, len(perClass))
	for c := range perClass {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	for _, c := range classes {
		t.Logf("class %-11s %2d/%2d correct", c, perClass[c][0], perClass[c][1])
	}
	pairs := make([]string, 0, len(confusion))
	for p := range confusion {
		pairs = append(pairs, p)
	}
	sort.Strings(pairs)
	for _, p := range pairs {
		t.Logf("confused %s: %d", p, confusion[p])
	}
	t.Logf("accuracy %.1f%%, sent to review %.1f%%, language right %d/%d",
		100*float64(correct)/float64(n), 100*float64(review)/float64(n), langOK, langChecked)
	t.Logf("independent corpus: %d replies, %d false endorsements, %d correct, %d sent to review",
		n, len(falseEndorse), correct, review)
	if len(falseEndorse) > 0 {
		t.Errorf("%d false endorsements:\n%s", len(falseEndorse), strings.Join(falseEndorse, "\n"))
	}
}

func classifyFile(path string) (mailreply.Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return mailreply.Result{}, err
	}
	defer f.Close()
	m, err := mailreply.Parse(f)
	if err != nil {
		return mailreply.Result{}, fmt.Errorf("parse %s: %w", filepath.Base(path), err)
	}
	return mailreply.Classify(m), nil
}
