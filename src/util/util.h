/* util.h - errors, allocation wrappers, safe strings: shared by every part of ferry. */
#ifndef FERRY_UTIL_H
#define FERRY_UTIL_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FERRY_VERSION "0.1.0"

/* Exit codes of both programs (cli.md). */
enum fx_code {
	FX_OK = 0,
	FX_VERIFY = 1, /* verification failed */
	FX_USAGE = 2,  /* usage error, malformed spec */
	FX_IO = 3,     /* I/O or environment error */
	FX_TARGET = 4  /* a target failed */
};

/* An error travelling up to the main: an exit code and one message. */
struct ferr {
	int code;
	char msg[2048];
};

extern const char *fx_progname;

/* Records the first error only (later ones are usually consequences); returns code. */
int fe_set(struct ferr *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prints "prog: msg" for e and returns its code. */
int fe_report(const struct ferr *e);
/* Prints "prog: ..." to stderr (a per-item error or warning). */
void fx_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fx_vwarn(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t n, size_t m);
char *xstrdup(const char *s);
char *xstrdup_or_null(const char *s); /* NULL stays NULL */
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* strlcpy/strlcat semantics: returns strlen(src); truncation when >= size. */
size_t fx_strlcpy(char *dst, const char *src, size_t size);

/* 1 when s is valid UTF-8 (no overlong forms, no surrogates). */
int fx_utf8_valid(const char *s);
/* Length of the valid UTF-8 sequence at s (1..4; s NUL-terminated or with 3 readable
 * bytes after a lead byte), or 0 when it is not valid. */
size_t fx_utf8_len(const unsigned char *s);
/* 1 when s starts with a bidi override (U+202A..U+202E, U+2066..U+2069), which
 * reorders a terminal line; fx_esc shows it escaped. */
int fx_bidi_control(const unsigned char *s);

/* Copies s into buf with control, non-UTF-8-safe and escape bytes shown as \xNN,
 * so untrusted text never reaches a terminal raw. Returns buf. */
const char *fx_esc(const char *s, char *buf, size_t size);
/* An escaped copy of s in a buffer of the calling block (a compound literal, alive
 * until that block ends): no shared state, so any thread may use it. Never return it. */
#define ESC_MAX 1024
#define ESC(s) fx_esc((s), (char[ESC_MAX]){0}, ESC_MAX)

void hex_encode(const unsigned char *in, size_t n, char *out /* 2n+1 */);
int hex_decode(const char *in, size_t hexlen, unsigned char *out); /* 0 ok, -1 bad */

/* Parses a non-negative decimal integer fully; -1 on garbage or overflow. */
int parse_u64(const char *s, uint64_t *out);
/* Parses SIZE like 4000M, 1G, 700m, 512k, 123 (bytes); -1 on error. */
int parse_size(const char *s, uint64_t *out);

/* Formats t (UTC) as 2026-11-23T10:00:00Z into buf[21]. */
void fmt_time_utc(int64_t t, char buf[32]);
/* Parses 2026-11-23T10:00:00Z or 2026-11-23 (UTC); -1 on error. */
int parse_time_utc(const char *s, int64_t *out);

/* Human-readable byte count ("12.3 MiB") into buf. */
const char *fmt_bytes(uint64_t n, char *buf, size_t size);

/* Reads a whole (small) file, refusing more than max bytes. 0 ok, else FX_* with e set. */
int read_file_max(const char *path, size_t max, char **out, size_t *len, struct ferr *e);
/* Writes all of buf to fd, retrying short writes; -1 with errno on failure. */
int write_all(int fd, const void *buf, size_t n);
/* All n bytes at offset off (pwrite, EINTR retried); -1 with errno set (EIO where
 * pwrite wrote nothing). */
int pwrite_all(int fd, const void *buf, size_t n, uint64_t off);

/* Registers what to remove if the process is interrupted (SIGINT/SIGTERM/SIGHUP);
 * fx_cleanup_forget() once the output is complete. One file and one directory at a
 * time. The file goes at the first signal; the directory is removed by the code that
 * unwinds after it (it checks fx_interrupted), or, when a second signal ends the
 * process at once, by the signal handler itself. */
void fx_cleanup_file(const char *path);
void fx_cleanup_dir(const char *path);
void fx_cleanup_forget(void);
void fx_install_signal_handlers(void);
/* Non-zero once a termination signal arrived (long loops check it). Atomic, not
 * volatile: the upload threads read what the signal handler writes. */
extern atomic_int fx_interrupted;

/* Removes a directory tree that ferry made (no symlinks followed). 0 ok. */
int rm_tree(const char *path);
/* mkdir -p for a directory that ferry owns; 0 ok, -1 with errno. */
int mkdir_p(const char *path, unsigned mode);

#endif
