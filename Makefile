# The two commands of the README's quick start, and what they need.
# `make demo` runs Herald end to end; `make test` runs every test, as CI does.

SWIFT ?= swift

.PHONY: demo test test-fast setup test-setup build release

# System packages Herald builds against: SQLite's headers for GRDB, libcurl's for the SMTP
# transport. Installed only when missing.
setup:
	@if [ ! -f /usr/include/sqlite3.h ]; then \
		echo "installing libsqlite3-dev"; \
		(apt-get update -qq && apt-get install -y -qq libsqlite3-dev sqlite3) || \
		{ echo "error: libsqlite3-dev is missing and could not be installed (run as root, or install it yourself)"; exit 1; }; \
	fi
	@if ! pkg-config --exists libcurl 2>/dev/null; then \
		echo "installing libcurl4-openssl-dev"; \
		(apt-get update -qq && apt-get install -y -qq libcurl4-openssl-dev pkg-config) || \
		{ echo "error: libcurl4-openssl-dev is missing and could not be installed (run as root, or install it yourself)"; exit 1; }; \
	fi

# What the tests need besides: Chromium (Debian's package), which opens the HTML report.
test-setup: setup
	@if ! command -v chromium >/dev/null 2>&1; then \
		echo "installing chromium (the HTML report's test opens the page in it)"; \
		(apt-get update -qq && apt-get install -y -qq chromium) || \
		{ echo "error: chromium is missing and could not be installed (run as root, or install it yourself)"; exit 1; }; \
	fi

build: setup
	$(SWIFT) build --product herald

demo: build
	$(SWIFT) run --skip-build herald demo

# Two runs: the unit and provider tests, then the end-to-end tests that run the herald binary.
# Together in one process, the end-to-end tests' in-process sandboxes (thousands of requests
# from their child processes, in a debug build) take the process's two event-loop threads for
# tens of seconds, and the provider tests beside them time out waiting for theirs.
#
# The PostgreSQL store's tests, and the end-to-end test of herald on it, run against a throwaway
# cluster on a free local port (scripts/postgres-cluster installs Debian's PostgreSQL when
# missing), stopped after, whatever the tests' outcome.
PG_TEST_DIR ?= /tmp/herald-test-pg-$(notdir $(CURDIR))

test: test-setup
	scripts/python-venv > /dev/null
	$(SWIFT) build --build-tests
	url=$$(scripts/postgres-cluster start $(PG_TEST_DIR)) && trap 'scripts/postgres-cluster stop $(PG_TEST_DIR)' EXIT && \
		HERALD_TEST_POSTGRES_URL=$$url $(SWIFT) test --skip-build --skip HeraldCLITests && \
		HERALD_TEST_POSTGRES_URL=$$url $(SWIFT) test --skip-build --filter HeraldCLITests
	scripts/api-check

# The unit tests alone: skips the end-to-end tests that run the herald binary.
test-fast: setup
	scripts/python-venv > /dev/null
	$(SWIFT) test --skip HeraldCLITests

release: setup
	$(SWIFT) build -c release --product herald

# Plants each bug of scripts/mutations.toml in turn, in a copy of the tree under .build-mutants/,
# and checks that a test catches it; prints a table, exits non-zero if one survives. Not part of CI.
.PHONY: mutants
mutants: setup
	scripts/mutation-check
