package contactcsv

import (
	"bytes"
	"errors"
	"fmt"
	"io"
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
