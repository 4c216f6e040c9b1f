# jitgate: the two commands a user needs are `make run` and `make test`.
# Every target installs the Debian packages it needs first (scripts/deps.sh, the lists in
# scripts/packages.txt); `make install` puts the programs and man pages in PREFIX.
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_KEEP ?= 5
FUZZ_CORPUS_MAX ?= 60
STATE_DIR ?= $(CURDIR)/.state
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all deps test unit-test run stop install bench fuzz clean

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	@sh scripts/deps.sh build
	meson setup $(BUILD)

$(ASAN_BUILD)/build.ninja:
	@sh scripts/deps.sh build
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false \
		-Dbuildtype=debug

# All tests twice: a normal build, and one with AddressSanitizer + UBSan; each run beside a
# throwaway PostgreSQL cluster (tests/integration/pg_cluster.py) for the *-pg tests.
# The last line is the total: "N passed, N failed, N skipped".
test:
	@sh scripts/deps.sh build test run
	@$(MAKE) --no-print-directory $(BUILD)/build.ninja $(ASAN_BUILD)/build.ninja
	@sh tests/integration/azure-sdk/install.sh || \
		echo "make test: could not install the Azure SDK; its test will be skipped" >&2
	@sh tests/browser/install.sh || \
		echo "make test: could not install playwright-core and axe-core; the browser test will fail" >&2
	ninja -C $(BUILD)
	ninja -C $(ASAN_BUILD)
	@rc=0; \
	python3 tests/integration/pg_cluster.py --around \
		meson test -C $(BUILD) --print-errorlogs --num-processes 2 || rc=1; \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=1 \
		python3 tests/integration/pg_cluster.py --around \
		meson test -C $(ASAN_BUILD) --print-errorlogs --num-processes 2 \
		--timeout-multiplier 3 || rc=1; \
	python3 scripts/test-summary.py $(BUILD)/meson-logs/testlog.json \
		$(ASAN_BUILD)/meson-logs/testlog.json || rc=1; \
	exit $$rc

# The demo, until Ctrl-C or `make stop` (SIGINT, SIGTERM and SIGHUP to scripts/run.sh all
# stop it; env makes them reach it even when started in the background, which ignores INT).
run: all
	@sh scripts/deps.sh run
	env --default-signal=INT,TERM,HUP sh scripts/run.sh "$(BUILD)" "$(STATE_DIR)"

stop:
	@sh scripts/run.sh --stop

# jitgated and jitgate-agent in PREFIX/sbin, jitgate in PREFIX/bin, man pages, completion.
install: all
	meson configure $(BUILD) -Dprefix=$(PREFIX) >/dev/null
	ninja -C $(BUILD)
	DESTDIR="$(DESTDIR)" meson install -C $(BUILD) --no-rebuild --quiet

bench: all
	@sh scripts/deps.sh bench
	sh bench/run.sh "$(BUILD)"

# libFuzzer targets, each for FUZZ_SECONDS. Inputs that add coverage are left in
# $(FUZZ_BUILD)/new-<target>/; FUZZ_KEEP of them, spread over their sizes, go to
# tests/fuzz/corpus/<target>/ while it holds fewer than FUZZ_CORPUS_MAX files (0: none).
fuzz:
	@sh scripts/deps.sh build fuzz
	@[ -f $(FUZZ_BUILD)/build.ninja ] || CC=clang meson setup $(FUZZ_BUILD) -Dfuzz=true \
		-Db_lundef=false
	ninja -C $(FUZZ_BUILD)
	sh scripts/fuzz.sh "$(FUZZ_BUILD)" "$(FUZZ_SECONDS)" "$(FUZZ_KEEP)" "$(FUZZ_CORPUS_MAX)"

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
