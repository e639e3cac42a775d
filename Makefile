# outreach: make build | test | lint | run | bench | test-real
GO      ?= go
export GOTOOLCHAIN := local
BIN     := bin/outreach
PKGS    := ./...

.PHONY: build test lint run bench test-real fuzz clean

build:
	$(GO) build -o $(BIN) ./cmd/outreach

# The real-server suite (Postfix, Dovecot) and the browser suite run when
# OUTREACH_REAL_MAIL=1 / OUTREACH_BROWSER=1 are set (.ci/run sets both);
# otherwise they skip with one line saying how to run them.
test:
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

run: build
	./$(BIN) serve

# Benchmarks: Go benchmarks plus the load scripts; see README "Benchmarks".
bench: build
	./bench/run.sh

test-real:
	OUTREACH_REAL_MAIL=1 $(GO) test -count=1 -timeout 15m -v ./test/...

fuzz:
	./bench/fuzz.sh

clean:
	rm -rf bin
