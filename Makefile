# ferry - build, test, demo, benchmark, install.
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
CC       ?= cc
SCDOC    ?= scdoc
PKGS      = libarchive libzstd gpgme openssl yaml-0.1 libcurl jansson zlib libdeflate libmicrohttpd libcrypt libisal rpm
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN     = -Wall -Wextra -Wshadow -Wvla -Wformat=2 -Wcast-qual -Wstrict-prototypes \
           -Wundef -Wpointer-arith -Werror
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -Isrc $(WARN) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS)
LDLIBS   = $(LDFLAGS) $(PKG_LIBS) -lpthread

SAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
TSAN_FLAGS = -O1 -g -fsanitize=thread -fno-omit-frame-pointer

# src/ holds the layers (each includes what it uses as "layer/file.h"):
#   util/ crypto/ bundle/ image/ net/ target/ serve/  -> libferry.a, the core
#   cli/  the two mains and the verbs they dispatch to -> libferry-cli.a
LAYERS   = util crypto bundle image net target serve
MAINS    = src/cli/ferry-pack.c src/cli/ferry-load.c
LIB_SRCS = $(foreach d,$(LAYERS),$(wildcard src/$(d)/*.c))
CLI_SRCS = $(filter-out $(MAINS),$(wildcard src/cli/*.c))
HDRS     = $(wildcard src/*/*.h)
UNIT_SRCS = $(wildcard tests/unit/test_*.c)

# Three builds side by side: build/ (release), build/asan/ (ASan+UBSan, used by make
# check) and build/tsan/ (ThreadSanitizer: make check runs the registry tests on it too).
B  = build
BA = build/asan
BT = build/tsan

LIB_OBJS     = $(LIB_SRCS:src/%.c=$(B)/obj/%.o)
LIB_OBJS_SAN = $(LIB_SRCS:src/%.c=$(BA)/obj/%.o)
CLI_OBJS     = $(CLI_SRCS:src/%.c=$(B)/obj/%.o)
CLI_OBJS_SAN = $(CLI_SRCS:src/%.c=$(BA)/obj/%.o)
LIB_OBJS_TSAN = $(LIB_SRCS:src/%.c=$(BT)/obj/%.o)
CLI_OBJS_TSAN = $(CLI_SRCS:src/%.c=$(BT)/obj/%.o)

# Man pages, from scdoc sources in man/ (NAME.SECTION.scd -> build/man/NAME.SECTION).
MAN_SRCS  = $(wildcard man/*.scd)
MAN_PAGES = $(MAN_SRCS:man/%.scd=$(B)/man/%)

.SECONDARY:
.PHONY: all man check unit cli demo bench install uninstall deb clean deps fuzz asan tsan

all: $(B)/ferry-pack $(B)/ferry-load man

man: $(MAN_PAGES)

$(B)/man/%: man/%.scd
	@mkdir -p $(dir $@)
	$(SCDOC) <$< >$@.tmp && mv $@.tmp $@

$(B)/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BA)/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -c $< -o $@

$(BT)/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(TSAN_FLAGS) -c $< -o $@

$(B)/libferry.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BA)/libferry.a: $(LIB_OBJS_SAN)
	@rm -f $@
	ar rcs $@ $^

$(BT)/libferry.a: $(LIB_OBJS_TSAN)
	@rm -f $@
	ar rcs $@ $^

$(BT)/libferry-cli.a: $(CLI_OBJS_TSAN)
	@rm -f $@
	ar rcs $@ $^

$(B)/libferry-cli.a: $(CLI_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BA)/libferry-cli.a: $(CLI_OBJS_SAN)
	@rm -f $@
	ar rcs $@ $^

$(B)/ferry-%: $(B)/obj/cli/ferry-%.o $(B)/libferry-cli.a $(B)/libferry.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(BA)/ferry-%: $(BA)/obj/cli/ferry-%.o $(BA)/libferry-cli.a $(BA)/libferry.a
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)

$(BT)/ferry-%: $(BT)/obj/cli/ferry-%.o $(BT)/libferry-cli.a $(BT)/libferry.a
	$(CC) $(ALL_CFLAGS) $(TSAN_FLAGS) -o $@ $^ $(LDLIBS)

$(BA)/unit/%: tests/unit/%.c $(BA)/libferry-cli.a $(BA)/libferry.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -o $@ $< $(BA)/libferry-cli.a $(BA)/libferry.a $(LDLIBS)

asan: $(BA)/ferry-pack $(BA)/ferry-load $(UNIT_SRCS:tests/unit/%.c=$(BA)/unit/%)

tsan: $(BT)/ferry-pack $(BT)/ferry-load

# The whole suite runs against the ASan+UBSan build, and the registry tests once more
# against the ThreadSanitizer build (tests/cli/95-tsan.sh); the release build is built
# too so that all three compile warning-free. The three builds run on every core unless
# make was given -j itself.
CHECK_JOBS = $(if $(findstring -j,$(MAKEFLAGS))$(findstring jobserver,$(MAKEFLAGS)),,-j$(shell nproc 2>/dev/null || echo 2))
check:
	$(MAKE) $(CHECK_JOBS) all asan tsan
	FERRY_BIN=$(CURDIR)/$(BA) FERRY_UNIT=$(CURDIR)/$(BA)/unit FERRY_TSAN_BIN=$(CURDIR)/$(BT) bash tests/run.sh

deps:
	bash scripts/install-deps.sh

demo: deps
	$(MAKE) all
	bash scripts/demo.sh

bench: all
	@if [ -f scripts/bench.sh ]; then bash scripts/bench.sh; else echo "bench: no benchmark yet"; fi

# The two programs, their man pages and the bash completion (one file, loaded by
# bash-completion under either command name). Debian's package gzips the man pages
# (dh_compress); here they stay plain, which man reads as well.
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(BASHCOMPDIR)
	install -m 0755 $(B)/ferry-pack $(B)/ferry-load $(DESTDIR)$(BINDIR)/
	install -m 0644 $(filter %.1,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(filter %.5,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 completions/ferry.bash $(DESTDIR)$(BASHCOMPDIR)/ferry-pack
	ln -sf ferry-pack $(DESTDIR)$(BASHCOMPDIR)/ferry-load

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/ferry-pack $(DESTDIR)$(BINDIR)/ferry-load
	rm -f $(patsubst $(B)/man/%,$(DESTDIR)$(MANDIR)/man1/%,$(filter %.1,$(MAN_PAGES)))
	rm -f $(patsubst $(B)/man/%,$(DESTDIR)$(MANDIR)/man5/%,$(filter %.5,$(MAN_PAGES)))
	rm -f $(DESTDIR)$(BASHCOMPDIR)/ferry-pack $(DESTDIR)$(BASHCOMPDIR)/ferry-load

# The Debian package (debian/, dpkg-buildpackage), built from a copy of this tree:
# build/deb/ferry_VERSION_ARCH.deb, and lintian's verdict on it.
deb:
	bash scripts/build-deb.sh $(B)/deb

clean:
	rm -rf $(B)

# ---- fuzzing (clang + libFuzzer) ------------------------------------------------
# Every tests/fuzz/fuzz_*.c is a libFuzzer target linked against all library sources
# (compiled again with clang into build/fuzz/obj), so a new target needs no change here.
# `make fuzz` runs each for FUZZ_SECONDS on a working copy of its seed corpus
# (tests/fuzz/corpus/<target>/, or <target> without fuzz_, is never grown); crash inputs land in build/fuzz/crash/.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_FLAGS   ?=
BF           = build/fuzz
FUZZ_SAN     = -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  = -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -Isrc $(WARN) $(FUZZ_SAN) $(PKG_CFLAGS)
FUZZ_SRCS    = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS    = $(FUZZ_SRCS:tests/fuzz/%.c=$(BF)/%)
FUZZ_OBJS    = $(LIB_SRCS:src/%.c=$(BF)/obj/%.o) $(CLI_SRCS:src/%.c=$(BF)/obj/%.o)

.PHONY: fuzz-build

$(BF)/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(BF)/libferry.a: $(FUZZ_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BF)/fuzz_%: tests/fuzz/fuzz_%.c $(BF)/libferry.a $(HDRS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(BF)/libferry.a $(LDLIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@failed=""; \
	for bin in $(FUZZ_BINS); do \
		t=$$(basename $$bin); \
		rm -rf $(BF)/corpus/$$t; mkdir -p $(BF)/corpus/$$t $(BF)/crash; \
		seeds=tests/fuzz/corpus/$$t; [ -d $$seeds ] || seeds=tests/fuzz/corpus/$${t#fuzz_}; \
		if [ -d $$seeds ]; then cp -R $$seeds/. $(BF)/corpus/$$t/; fi; \
		echo "fuzz: $$t for $(FUZZ_SECONDS)s"; \
		if ASAN_OPTIONS=detect_leaks=1 $$bin -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
		    -print_final_stats=1 -artifact_prefix=$(BF)/crash/$$t- $(FUZZ_FLAGS) $(BF)/corpus/$$t \
		    >$(BF)/$$t.log 2>&1; then \
			echo "fuzz: $$t ok ($$(ls $(BF)/corpus/$$t | wc -l) corpus files)"; \
		else \
			tail -40 $(BF)/$$t.log; echo "fuzz: $$t FAILED (log: $(BF)/$$t.log)"; failed="$$failed $$t"; \
		fi; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: crashes in:$$failed (inputs in $(BF)/crash/)"; exit 1; fi
