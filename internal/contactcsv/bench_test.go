package contactcsv

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"
)

// generate returns a CSV file of n contacts spread over a few countries,
// kinds and tags, with one attribute column.
func generate(n int) []byte {
	countries := []string{"MY", "PH", "KE", "CO", "FR", "US", "BR"}
	kinds := []string{"partner", "partner", "partner", "legislator", "ministry"}
	var b bytes.Buffer
	b.WriteString("email,name,organization,kind,country,language,tags,consent,consent_date,sector\n")
	for i := range n {
		fmt.Fprintf(&b, "user%d@org%d.example,Person %d,\"Organisation %d, Inc.\",%s,%s,en,tag%d;common,signup,2025-01-%02d,sector%d\n",
			i, i%997, i, i%997, kinds[i%len(kinds)], countries[i%len(countries)], i%10, i%28+1, i%5)
	}
	return b.Bytes()
}

func BenchmarkRead(b *testing.B) {
	const rows = 100_000
	data := generate(rows)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, _, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != rows {
			b.Fatalf("read %d rows; want %d", n, rows)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// rowSource generates CSV rows on demand, so the input is never in memory.
type rowSource struct {
	n, rows int
	buf     []byte
}

func (s *rowSource) Read(p []byte) (int, error) {
	for len(s.buf) < len(p) && s.n < s.rows {
		if s.n == 0 {
			s.buf = append(s.buf, "email,name,organization,country,tags,sector\n"...)
		}
		s.buf = fmt.Appendf(s.buf, "user%d@org.example,Person %d,Organisation %d,MY,a;b,sector %d\n", s.n, s.n, s.n, s.n%7)
		s.n++
	}
	if len(s.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.buf)
	s.buf = s.buf[:copy(s.buf, s.buf[n:])]
	return n, nil
}

func TestReaderStreams(t *testing.T) {
	const rows = 20_000
	r, err := NewReader(&rowSource{rows: rows})
	if err != nil {
		t.Fatal(err)
	}
	var peak uint64
	for n := 0; ; n++ {
		_, _, err := r.Next()
		if errors.Is(err, io.EOF) {
			if n != rows {
				t.Fatalf("read %d rows; want %d", n, rows)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n%5_000 == 4_999 {
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	// 20,000 contacts held would take over 10 MiB.
	t.Logf("peak heap %d bytes", peak)
	if peak > 4<<20 {
		t.Errorf("heap reached %d bytes while streaming %d rows; want under 4 MiB", peak, rows)
	}
}
