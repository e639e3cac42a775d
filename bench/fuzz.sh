#!/usr/bin/env bash
# make fuzz: run every Fuzz* target in the repository for FUZZTIME (20s)
# each, one after the other. A failure leaves its input under the
# package's testdata/fuzz/ and makes the script exit non-zero after the
# other targets have run.
set -uo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-20s}

failed=()
while IFS=: read -r file name; do
	pkg=./$(dirname "$file")
	echo "== $pkg $name ($FUZZTIME)"
	if ! "$GO" test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$pkg"; then
		failed+=("$pkg $name")
	fi
done < <(git ls-files '*_test.go' | xargs grep -o '^func Fuzz[A-Za-z0-9_]*' | sed 's/^\(.*\):func /\1:/' | sort)

if [ ${#failed[@]} -gt 0 ]; then
	echo "FAILED:"
	printf '  %s\n' "${failed[@]}"
	exit 1
fi
echo "all fuzz targets ran $FUZZTIME without a failure"
