package mailreply

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkClassify parses and classifies the whole fixture corpus (a mix
// of replies in four languages, HTML, DSNs and auto-replies) and reports
// replies per second.
func BenchmarkClassify(b *testing.B) {
	files, err := filepath.Glob(filepath.Join("testdata", "replies", "*.eml"))
	if err != nil || len(files) == 0 {
		b.Fatalf("no fixtures: %v", err)
	}
	var raws [][]byte
	size := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		raws = append(raws, raw)
		size += len(raw)
	}
	b.SetBytes(int64(size / len(raws)))
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		raw := raws[n%len(raws)]
		n++
		m, err := Parse(bytes.NewReader(raw))
		if err != nil {
			b.Fatal(err)
		}
		Classify(m)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "replies/s")
}
