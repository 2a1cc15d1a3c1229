# ferry - build, test, demo, benchmark.
PREFIX   ?= /usr/local
CC       ?= cc
PKGS      = libarchive libzstd gpgme openssl yaml-0.1 libcurl jansson zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN     = -Wall -Wextra -Wshadow -Wvla -Wformat=2 -Wcast-qual -Wstrict-prototypes \
           -Wundef -Wpointer-arith -Werror
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 $(WARN) $(CFLAGS) $(PKG_CFLAGS)
LDLIBS   = $(PKG_LIBS) -lpthread

SAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

MAINS    = src/ferry-pack.c src/ferry-load.c
LIB_SRCS = $(filter-out $(MAINS),$(wildcard src/*.c))
HDRS     = $(wildcard src/*.h)
UNIT_SRCS = $(wildcard tests/unit/test_*.c)

# Two builds side by side: build/ (release) and build/asan/ (sanitizers, used by make check).
B  = build
BA = build/asan

LIB_OBJS    = $(LIB_SRCS:src/%.c=$(B)/obj/%.o)
LIB_OBJS_SAN = $(LIB_SRCS:src/%.c=$(BA)/obj/%.o)

.SECONDARY:
.PHONY: all check unit cli demo bench install clean deps fuzz asan

all: $(B)/ferry-pack $(B)/ferry-load

$(B)/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BA)/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -c $< -o $@

$(B)/libferry.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BA)/libferry.a: $(LIB_OBJS_SAN)
	@rm -f $@
	ar rcs $@ $^

$(B)/ferry-%: $(B)/obj/ferry-%.o $(B)/libferry.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(BA)/ferry-%: $(BA)/obj/ferry-%.o $(BA)/libferry.a
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)

$(BA)/unit/%: tests/unit/%.c $(BA)/libferry.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -Isrc -o $@ $< $(BA)/libferry.a $(LDLIBS)

asan: $(BA)/ferry-pack $(BA)/ferry-load $(UNIT_SRCS:tests/unit/%.c=$(BA)/unit/%)

# The whole suite runs against the sanitizer build; the release build is built too so
# that both compile warning-free.
check: all asan
	FERRY_BIN=$(CURDIR)/$(BA) FERRY_UNIT=$(CURDIR)/$(BA)/unit bash tests/run.sh

deps:
	bash scripts/install-deps.sh

demo: deps
	$(MAKE) all
	bash scripts/demo.sh

bench: all
	@if [ -f scripts/bench.sh ]; then bash scripts/bench.sh; else echo "bench: no benchmark yet"; fi

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(B)/ferry-pack $(B)/ferry-load $(DESTDIR)$(PREFIX)/bin/

clean:
	rm -rf $(B)
