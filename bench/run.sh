#!/usr/bin/env bash
# make bench: the load benchmarks against the real binary, then the Go
# benchmarks, printed and written to bench/results.txt. The machine is
# shared and noisy, so each figure that matters is printed as a ratio to a
# baseline measured in the same run. About 6 minutes on 2 cores.
#
# Knobs (environment): BENCH_MESSAGES (20000), BENCH_CONNECTIONS (4),
# BENCH_ROUNDS (5), BENCH_CONTACTS (1000000), BENCH_TIME (1s, go test
# -benchtime), BIN (bin/outreach).
#
# Everything is inside main, which bash parses whole before running it, so
# editing this file while a run is going on cannot break that run.
set -euo pipefail

main() {
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local
GO=${GO:-go}
BIN=${BIN:-bin/outreach}
LOAD=bin/outreach-load
OUT=bench/results.txt
MESSAGES=${BENCH_MESSAGES:-20000}
CONNECTIONS=${BENCH_CONNECTIONS:-4}
ROUNDS=${BENCH_ROUNDS:-5}
CONTACTS=${BENCH_CONTACTS:-1000000}
BENCHTIME=${BENCH_TIME:-1s}

"$GO" build -o "$BIN" ./cmd/outreach
"$GO" build -o "$LOAD" ./bench/load

# gobench PKG REGEXP: run Go benchmarks and print each one's custom
# metrics (those reported with b.ReportMetric) on one line.
gobench() {
	local pkg=$1 re=$2 out
	if ! out=$("$GO" test -run '^$' -bench "$re" -benchtime "$BENCHTIME" -count 1 "$pkg" 2>&1); then
		echo "  $pkg: FAILED"
		echo "$out" | sed 's/^/    /' | tail -20
		return 0
	fi
	echo "$out" | awk -v pkg="${pkg#./}" '
		/^Benchmark/ {
			name = $1; sub(/-[0-9]+$/, "", name)
			line = sprintf("  %-20s %-44s", pkg, name)
			for (i = 3; i < NF; i += 2) {
				unit = $(i+1)
				if (unit == "ns/op" || unit == "B/op" || unit == "allocs/op" || unit == "MB/s") continue
				line = line sprintf(($i < 100 && $i != int($i)) ? "  %10.2f %s" : "  %10.0f %s", $i, unit)
			}
			print line
		}'
}

run() {
	echo "# outreach benchmarks: $(date -u +%Y-%m-%dT%H:%MZ), commit $(git describe --always --dirty 2>/dev/null || echo unknown)"
	echo "# machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo) RAM, $(uname -sr), $("$GO" env GOVERSION)"
	echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews absolute figures; compare the ratios)"
	echo
	echo "## (a) sending: outreach wave vs bare go-mail (issue 4, acceptance 4)"
	echo "# $LOAD outbox -bin $BIN -n $MESSAGES -conns $CONNECTIONS -rounds $ROUNDS"
	"$LOAD" outbox -bin "$BIN" -n "$MESSAGES" -conns "$CONNECTIONS" -rounds "$ROUNDS"
	echo
	echo "## (a') sending short messages (one paragraph, no layout: about 1.5 KB on the wire)"
	echo "# $LOAD outbox -bin $BIN -n $MESSAGES -conns $CONNECTIONS -rounds $ROUNDS -short"
	"$LOAD" outbox -bin "$BIN" -n "$MESSAGES" -conns "$CONNECTIONS" -rounds "$ROUNDS" -short
	echo "# peers (notes/peers.md, same machine type, another day): listmonk 4 conns 6,611 msg/s first to last, 4,652 from the start call,"
	echo "# 889 B/msg (one HTML part, no per-recipient record); bare go-mail 4 conns 5,622 msg/s at 2,245 B/msg in that run."
	echo
	echo "## (b) import and segment counts (issue 2, acceptance 6)"
	echo "# $LOAD import -bin $BIN -n $CONTACTS"
	"$LOAD" import -bin "$BIN" -n "$CONTACTS"
	echo
	echo "## (c) Go benchmarks (go test -run '^\$' -bench ... -benchtime $BENCHTIME)"
	gobench ./internal/render 'BenchmarkRender$'
	gobench ./internal/mailreply 'BenchmarkClassify$'
	gobench ./internal/imapwatch 'BenchmarkFetch$'
	gobench ./internal/segment 'BenchmarkMatch$'
	gobench ./internal/contactcsv 'BenchmarkRead$'
	gobench ./internal/store 'BenchmarkImportContacts$|BenchmarkClaimRecord$'
	gobench ./internal/outbox 'BenchmarkEngine$'
	gobench ./internal/web 'BenchmarkLogPage$'
	echo
	echo "# done: $(date -u +%Y-%m-%dT%H:%MZ); load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

run 2>&1 | tee "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "written to $OUT"
}

main "$@"; exit
