# Hisaab build. Plain make + pkg-config; Debian 12 packages only.
#
#   make            build build/hisaab, build/hisaab-etl and build/hisaab-admin
#   make run        install missing packages, start local Postgres + Redis, load the sample, serve
#   make test       install missing packages, then every unit and black-box test
#   make bench      benchmarks (print figures; never fail on a number)
#   make test-asan  unit and black-box tests under ASan+UBSan (build-asan/), fails on a report
#   make fuzz-ci    every fuzz target for FUZZ_SECONDS from its committed corpus
#   make backup / make restore BACKUP=DIR   pg_dump -Fc plus settings; restore and check
#   make lint       clang-format, the layer rule, promtool check/test of the alert rules
#   make audio      (re)make the voice clips in audio/ that the manifest changed (espeak-ng, sox)
#   make test SANITIZE=address,undefined   the same tests under sanitizers

CC      ?= cc
PKGS    := libevent libevent_pthreads libpq hiredis libcurl libxml-2.0 sndfile jansson zlib libcrypto
WARN    := -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wwrite-strings -Wformat=2 -fno-common -Werror
CFLAGS  ?= -O2 -g
CFLAGS  += $(WARN) -D_GNU_SOURCE -Isrc -Ietl $(shell pkg-config --cflags $(PKGS))
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -lhttp_parser -lpthread -lm

ifneq ($(SANITIZE),)
# The same -O2 as the plain build, so the warnings are the same; GCC 12's
# -Wstringop-overread misfires on UBSan's instrumented code (vxml.c's untel()).
CFLAGS  += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -Wno-stringop-overread
LDFLAGS += -fsanitize=$(SANITIZE)
endif

B := build

SRC_ALL   := $(sort $(shell find src -name '*.c'))
SRC_LIB   := $(filter-out src/main.c,$(SRC_ALL))
ETL_ALL   := $(sort $(wildcard etl/*.c))
ETL_LIB   := $(filter-out etl/cli.c etl/admin_cli.c,$(ETL_ALL))
SRC_OBJ   := $(SRC_LIB:%.c=$(B)/%.o)
ETL_OBJ   := $(ETL_LIB:%.c=$(B)/%.o)
UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)

.PHONY: all icons deps run test unit blackbox bench bench-parse bench-etl fuzz lint audio clean \
        test-scale lint-deploy

all: $(B)/hisaab $(B)/hisaab-etl $(B)/hisaab-admin icons

# The web app's PNG icons, drawn from its SVGs (rsvg-convert, librsvg2-bin); git-ignored.
ICON_DIR  := assets/web/app/icons
ICONS     := $(ICON_DIR)/icon-192.png $(ICON_DIR)/icon-512.png $(ICON_DIR)/maskable-512.png

icons: $(ICONS)

$(ICON_DIR)/icon-%.png: $(ICON_DIR)/icon.svg
	rsvg-convert -w $* -h $* -o $@ $<

$(ICON_DIR)/maskable-%.png: $(ICON_DIR)/maskable.svg
	rsvg-convert -w $* -h $* -o $@ $<

deps:
	@./scripts/install-deps
	@./scripts/install-web-deps

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(B)/libcore.a: $(SRC_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/libetl.a: $(ETL_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/hisaab: $(B)/src/main.o $(B)/libetl.a $(B)/libcore.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/hisaab-etl: $(B)/etl/cli.o $(B)/libetl.a $(B)/libcore.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/hisaab-admin: $(B)/etl/admin_cli.o $(B)/libetl.a $(B)/libcore.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/%: tests/unit/%.c $(B)/libetl.a $(B)/libcore.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wno-missing-prototypes $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

run: deps all
	@./scripts/run

test: deps all $(UNIT_BIN) lint test-scale
	@./tests/run-all

# The scale-out drills (tests/scale/drills.py): replica, instance, Redis failover and
# primary restart under load, two instances behind nginx; about two minutes.
test-scale: all
	@python3 tests/scale/drills.py --seconds 10 > $(B)/drills.log 2>&1 && tail -n 7 $(B)/drills.log \
	    || (cat $(B)/drills.log; exit 1)

unit: all $(UNIT_BIN)
	@./tests/run-all --unit

blackbox: all
	@./tests/run-all --blackbox

bench: deps all $(B)/bench_voice
	@HISAAB_DEPS=bench ./scripts/install-deps
	@HISAAB_WEB_BENCH=1 ./scripts/install-web-deps
	@./tests/bench/run

# The voice summary's assembly timed on the clip library (tests/bench/bench_voice.c).
$(B)/bench_voice: tests/bench/bench_voice.c $(B)/libetl.a $(B)/libcore.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Parse+clean speed of libetl on a generated national-size CSV (400,000 records).
$(B)/bench_parse: tests/bench/bench_parse.c $(B)/libetl.a $(B)/libcore.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/bench/national.csv: tests/bench/gen_national.py
	@mkdir -p $(dir $@)
	python3 tests/bench/gen_national.py $@

bench-parse: $(B)/bench_parse $(B)/bench/national.csv
	$(B)/bench_parse $(B)/bench/national.csv

# hisaab-etl run on the sample and on 400,000 generated records, against a harness Postgres.
bench-etl: all
	python3 tests/bench/etl_bench.py

# The clip library is committed; only a change to audio/clips.tsv needs the synthesisers,
# which are not in the default package set (scripts/install-deps, group "audio").
audio:
	@HISAAB_DEPS=audio ./scripts/install-deps
	@./scripts/make-audio

lint:
	@clang-format --dry-run -Werror $$(find src -name '*.[ch]') etl/*.c etl/*.h tests/unit/*.[ch] \
	    tests/fuzz/*.c tests/bench/*.c && echo "lint: clang-format clean"
	@python3 scripts/check-layers
	@promtool check rules deploy/prometheus/hisaab.rules.yml >/dev/null && \
	  (cd deploy/prometheus && promtool test rules hisaab.rules.test.yml >/dev/null) && \
	  echo "lint: alert rules check and their unit tests pass"
	@$(MAKE) --no-print-directory lint-deploy

# deploy/: the Kubernetes manifests checked against the Kubernetes models (npm
# kubernetes-models, offline) and the compose file parsed (deploy/lint/).
lint-deploy:
	@./scripts/install-deploy-lint
	@node deploy/lint/check.mjs
	@./deploy/make-conf --check

# libFuzzer targets for every parser that sees outside input (tests/fuzz/fuzz_*.c), built
# with clang into $(B)/fuzz/ over all library sources (compiled once into $(B)/fuzz/obj/);
# without clang they are only compiled, so they keep building. Each target's committed
# corpus is tests/fuzz/corpus/<target>/ (a crash found becomes a file there). Run e.g.:
#   build/fuzz/fuzz_config -max_total_time=60 tests/fuzz/corpus/fuzz_config
# `make fuzz-ci` runs every target for FUZZ_SECONDS (30) from its corpus and fails on a
# crash, a leak or a sanitizer report (scripts/fuzz-run).
FUZZ_SRC   := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN   := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)
FUZZ_OBJ   := $(SRC_LIB:%.c=$(B)/fuzz/obj/%.o) $(ETL_LIB:%.c=$(B)/fuzz/obj/%.o)
FUZZ_FLAGS := -g -O1 $(WARN) -Wno-missing-prototypes -Wno-format-nonliteral -D_GNU_SOURCE \
              -Isrc -Ietl $(shell pkg-config --cflags $(PKGS))
FUZZ_SECONDS ?= 30

.PHONY: fuzz-bins fuzz-ci test-asan backup restore

$(B)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link,address,undefined -MMD -MP -c -o $@ $<

$(B)/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJ)
	clang $(FUZZ_FLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_OBJ) $(LDLIBS)

fuzz-bins: $(FUZZ_BIN)

fuzz:
	@mkdir -p $(B)/fuzz
	@if command -v clang >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory fuzz-bins; \
	else \
	  for f in $(FUZZ_SRC); do \
	    $(CC) $(CFLAGS) -c -o $(B)/fuzz/$$(basename $$f .c).o $$f || exit 1; \
	  done; \
	fi

fuzz-ci: deps fuzz-bins
	@./scripts/fuzz-run $(FUZZ_SECONDS) $(B)/fuzz $(FUZZ_BIN:$(B)/fuzz/%=%)

# The unit tests and the black-box tests (ASAN_TESTS: comma-separated name parts, default
# all) built with AddressSanitizer and UndefinedBehaviorSanitizer into build-asan/; every
# process logs its reports under build-asan/sanitizer/ and any report fails the run.
ASAN_B     := build-asan
ASAN_TESTS ?=
test-asan: deps
	@$(MAKE) --no-print-directory B=$(ASAN_B) SANITIZE=address,undefined all \
	  $(UNIT_SRC:tests/unit/%.c=$(ASAN_B)/tests/%)
	@./scripts/sanitized-run $(ASAN_B) $(if $(ASAN_TESTS),-k $(ASAN_TESTS))

# A backup of the database and the settings (scripts/backup; BACKUP=DIR, default
# var/backups/<time>), and its restore (BACKUP=DIR required). docs/operations.md, "Backups".
backup:
	@./scripts/backup $(BACKUP)

restore:
	@test -n "$(BACKUP)" || { echo "make restore BACKUP=DIR" >&2; exit 2; }
	@./scripts/restore $(BACKUP)

clean:
	rm -rf $(B) $(ASAN_B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
