# outreach: make build | test | lint | run | bench | test-real
GO      ?= go
export GOTOOLCHAIN := local
BIN     := bin/outreach
PKGS    := ./...

.PHONY: build test lint run bench test-real fuzz clean

build:
	$(GO) build -o $(BIN) ./cmd/outreach

REAL_MAIL_STATE ?= /tmp/outreach-mail
TEST    := $(GO) test -race -count=1 -timeout 25m

# With OUTREACH_REAL_MAIL=1 (what .ci/run sets) the real-server suite is
# required: Postfix and Dovecot are installed if missing, started on
# loopback for the run and stopped after it; a missing server fails the
# run. Without it those tests skip.
test:
ifeq ($(OUTREACH_REAL_MAIL),1)
	$(MAKE) --no-print-directory mail-start
	set -a; . $(REAL_MAIL_STATE)/env; set +a; \
	OUTREACH_REAL_MAIL_ENV=$(REAL_MAIL_STATE)/env $(TEST) $(PKGS); \
	status=$$?; test/mailservers/stop.sh $(REAL_MAIL_STATE); exit $$status
else
	@echo "note: real-server tests (Postfix, Dovecot) are skipped: run 'make test-real', or 'OUTREACH_REAL_MAIL=1 make test' as root on Debian"
	$(TEST) $(PKGS)
endif

.PHONY: mail-install mail-start mail-stop
mail-install:
	test/mailservers/install.sh

mail-start: mail-install
	test/mailservers/stop.sh $(REAL_MAIL_STATE)
	rm -rf $(REAL_MAIL_STATE)
	test/mailservers/start.sh $(REAL_MAIL_STATE)

mail-stop:
	test/mailservers/stop.sh $(REAL_MAIL_STATE)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

run: build
	./$(BIN) serve --demo

# Benchmarks: Go benchmarks plus the load scripts; see README "Benchmarks".
bench: build
	./bench/run.sh

# Only the real-server suites, against freshly started servers.
test-real: mail-start
	set -a; . $(REAL_MAIL_STATE)/env; set +a; \
	OUTREACH_REAL_MAIL=1 OUTREACH_REAL_MAIL_ENV=$(REAL_MAIL_STATE)/env $(TEST) -v ./test/...; \
	status=$$?; test/mailservers/stop.sh $(REAL_MAIL_STATE); exit $$status

fuzz:
	./bench/fuzz.sh

clean:
	rm -rf bin
