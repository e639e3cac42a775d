package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/outreach-coalition/outreach/internal/contactcsv"
	"github.com/outreach-coalition/outreach/internal/store"
)

// importFilters are the segment counts timed over the imported contacts.
var importFilters = []string{
	"",
	"country in (MY, PH) and kind = partner",
	"language = es or region = OAS",
	"attr.sector = housing and not tag = board",
}

// writeContactsCSV writes n generated contacts: mostly partners, some
// targets, over 24 countries, 6 languages, a few tags and one attribute.
func writeContactsCSV(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	countries := []string{"MY", "PH", "ID", "TH", "KE", "NG", "ZA", "GH", "CO", "MX", "BR", "AR",
		"PE", "CL", "FR", "ES", "PT", "DE", "IN", "NP", "BD", "LK", "US", "CA"}
	langs := []string{"en", "es", "fr", "pt", "es-MX", "ms"}
	kinds := []string{"partner", "partner", "partner", "partner", "partner", "partner", "partner", "legislator", "ministry", "nhri"}
	tags := []string{"board", "media", "legal;founding", "youth", "", "housing|food", "board;media"}
	sectors := []string{"housing", "health", "education", "food", "work", "legal aid"}
	fmt.Fprintln(w, "email,name,organization,kind,country,language,tags,consent,consent_date,sector")
	for i := range n {
		fmt.Fprintf(w, "contact%d@org%d.example,Person %d,\"Organisation %d, Association\",%s,%s,%s,%s,signup form,2025-%02d-%02d,%s\n",
			i, i%9973, i, i%9973, kinds[i%len(kinds)], countries[i%len(countries)], langs[i%len(langs)],
			tags[i%len(tags)], i%12+1, i%28+1, sectors[i%len(sectors)])
	}
	return errors.Join(w.Flush(), f.Close())
}

func importCmd(ctx context.Context, args []string, out io.Writer) error {
	fl := flag.NewFlagSet("import", flag.ContinueOnError)
	bin := fl.String("bin", "bin/outreach", "the outreach binary")
	n := fl.Int("n", 1_000_000, "contacts to import")
	if err := fl.Parse(args); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "outreach-bench-import-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	csvPath := filepath.Join(tmp, "contacts.csv")
	if err := writeContactsCSV(csvPath, *n); err != nil {
		return err
	}
	fi, err := os.Stat(csvPath)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "import: %d generated contacts, CSV of %.0f MB, through `outreach contacts import` against the running daemon (fsync on)\n", *n, float64(fi.Size())/(1<<20))

	// Baseline: parsing and validating the same file in this process,
	// which every import must do at least.
	t0 := time.Now()
	rows, err := parseOnly(csvPath)
	if err != nil {
		return err
	}
	parse := time.Since(t0)

	med, worst, err := syncLatency(tmp, 50)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "  disk: fdatasync of 4 KiB median %.1f ms, worst %.1f ms (just before the import)\n", ms(med), ms(worst))
	dir := filepath.Join(tmp, "data")
	d, err := startDaemon(ctx, *bin, dir)
	if err != nil {
		return err
	}
	defer d.stop()
	t0 = time.Now()
	said, err := d.cli(ctx, "contacts", "import", csvPath)
	if err != nil {
		return err
	}
	imp := time.Since(t0)
	if !strings.Contains(said, fmt.Sprintf("created %d", *n)) {
		return fmt.Errorf("import said %q; want %d created", strings.TrimSpace(said), *n)
	}
	fmt.Fprintf(out, "  import: %.1f s, %.0f rows/s (CSV parse alone: %.1f s, %.0f rows/s); RATIO import/parse-alone rows/s: %.2f; aim: 1M well under 60 s\n",
		imp.Seconds(), float64(*n)/imp.Seconds(), parse.Seconds(), float64(rows)/parse.Seconds(), parse.Seconds()/imp.Seconds())

	cl, err := d.client()
	if err != nil {
		return err
	}
	for _, f := range importFilters {
		// The CLI as a person runs it, then the API's own timing.
		t0 := time.Now()
		got, err := d.cli(ctx, "contacts", "count", "--filter", f)
		if err != nil {
			return err
		}
		wall := time.Since(t0)
		var v struct {
			Count int   `json:"count"`
			MS    int64 `json:"ms"`
		}
		if err := cl.JSON(ctx, http.MethodGet, "/api/v1/contacts/count", url.Values{"filter": {f}}, nil, &v); err != nil {
			return err
		}
		fmt.Fprintf(out, "  count %-45q = %7s in %4d ms (CLI, wall) / %4d ms (in the daemon); aim < 1000 ms\n", f, strings.TrimSpace(got), wall.Milliseconds(), v.MS)
	}
	mem, err := procStatus(d.cmd.Process.Pid)
	if err != nil {
		return err
	}
	db, _ := os.Stat(filepath.Join(dir, store.FileName))
	var dbSize int64
	if db != nil {
		dbSize = db.Size()
	}
	fmt.Fprintf(out, "  daemon after: RSS %s = %s heap and stacks + %s of the mapped database (peak %s); database file %s\n",
		mib(mem["VmRSS"]), mib(mem["RssAnon"]), mib(mem["RssFile"]), mib(mem["VmHWM"]), mib(dbSize))
	return d.stop()
}

// parseOnly reads and validates every row of a contact CSV.
func parseOnly(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r, err := contactcsv.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		_, line, err := r.Next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		n++
	}
}
