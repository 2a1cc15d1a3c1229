/* util.c - errors, allocation wrappers, safe strings. */
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *fx_progname = "ferry";
atomic_int fx_interrupted;

int fe_set(struct ferr *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL || e->code != 0)
		return e != NULL ? e->code : code;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

int fe_report(const struct ferr *e)
{
	if (e->code != 0)
		fprintf(stderr, "%s: %s\n", fx_progname, e->msg[0] ? e->msg : "failed");
	return e->code;
}

void fx_vwarn(const char *fmt, va_list ap)
{
	flockfile(stderr); /* one line, whole, when threads warn at once */
	fprintf(stderr, "%s: ", fx_progname);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

void fx_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fx_vwarn(fmt, ap);
	va_end(ap);
}

static void oom(void)
{
	static const char m[] = "out of memory\n";

	if (write(2, m, sizeof(m) - 1) < 0) {
		/* nothing more to do */
	}
	_exit(FX_IO);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);

	if (p == NULL)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		oom();
	return q;
}

void *xreallocarray(void *p, size_t n, size_t m)
{
	if (m != 0 && n > SIZE_MAX / m)
		oom();
	return xrealloc(p, n * m);
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		oom();
	return p;
}

char *xstrdup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (p == NULL)
		oom();
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (r < 0)
		oom();
	return p;
}

size_t fx_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size > 0) {
		size_t c = n < size - 1 ? n : size - 1;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

size_t fx_utf8_len(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if (s[0] == 0xe0 && s[1] < 0xa0)
			return 0;
		if (s[0] == 0xed && s[1] >= 0xa0)
			return 0; /* surrogates */
		return 3;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		if ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

int fx_bidi_control(const unsigned char *s)
{
	return s[0] == 0xe2 && ((s[1] == 0x80 && s[2] >= 0xaa && s[2] <= 0xae) ||
	    (s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9));
}

int fx_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		size_t l = fx_utf8_len(p);

		if (l == 0)
			return 0;
		p += l;
	}
	return 1;
}

const char *fx_esc(const char *s, char *buf, size_t size)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;

	if (size == 0)
		return buf;
	if (s == NULL)
		s = "(null)", p = (const unsigned char *)s;
	while (*p != '\0') {
		size_t l = fx_utf8_len(p);
		int plain = (l > 1 && !(l == 3 && fx_bidi_control(p))) ||
		    (l == 1 && *p >= 0x20 && *p != 0x7f && *p != '\\');

		if (plain) {
			if (o + l >= size)
				break;
			memcpy(buf + o, p, l);
			o += l;
			p += l;
		} else {
			if (o + 4 >= size)
				break;
			if (*p == '\\') {
				buf[o++] = '\\';
				buf[o++] = '\\';
			} else {
				snprintf(buf + o, 5, "\\x%02x", *p);
				o += 4;
			}
			p++;
		}
	}
	buf[o] = '\0';
	return buf;
}

void hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* upper case is not canonical: rejected */
}

int hex_decode(const char *in, size_t hexlen, unsigned char *out)
{
	size_t i;

	if (hexlen % 2 != 0)
		return -1;
	for (i = 0; i < hexlen; i += 2) {
		int hi = hexval(in[i]), lo = hexval(in[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (s == NULL || *s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

int parse_size(const char *s, uint64_t *out)
{
	char num[32];
	size_t n = strlen(s);
	uint64_t v, mult = 1;

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n + 1);
	switch (num[n - 1]) {
	case 'k': case 'K': mult = 1ULL << 10; break;
	case 'm': case 'M': mult = 1ULL << 20; break;
	case 'g': case 'G': mult = 1ULL << 30; break;
	case 't': case 'T': mult = 1ULL << 40; break;
	default: break;
	}
	if (mult != 1)
		num[n - 1] = '\0';
	if (parse_u64(num, &v) != 0 || v == 0 || v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

void fmt_time_utc(int64_t t, char buf[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		fx_strlcpy(buf, "invalid-time", 32);
}

int parse_time_utc(const char *s, int64_t *out)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0') {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%d", &tm);
		if (end == NULL || *end != '\0')
			return -1;
	}
	if (tm.tm_year < 70 || tm.tm_year > 8000)
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

const char *fmt_bytes(uint64_t n, char *buf, size_t size)
{
	static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)n;
	int u = 0;

	while (v >= 1024.0 && u < 4) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%llu B", (unsigned long long)n);
	else
		snprintf(buf, size, "%.1f %s", v, units[u]);
	return buf;
}

int read_file_max(const char *path, size_t max, char **out, size_t *len, struct ferr *e)
{
	int fd = -1, rc = FX_OK;
	struct stat st;
	char *buf = NULL;
	size_t got = 0;

	/* O_NONBLOCK: a FIFO planted where a file belongs is refused, not waited on */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		rc = fe_set(e, FX_IO, "%s: %s", ESC(path), strerror(errno));
		goto end;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = fe_set(e, FX_IO, "%s: not a regular file", ESC(path));
		goto end;
	}
	if ((uint64_t)st.st_size > max) {
		rc = fe_set(e, FX_IO, "%s: larger than %zu bytes", ESC(path), max);
		goto end;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = fe_set(e, FX_IO, "%s: %s", ESC(path), r < 0 ? strerror(errno) : "file shrank while read");
			goto end;
		}
		got += (size_t)r;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
end:
	free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}

int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int pwrite_all(int fd, const void *buf, size_t n, uint64_t off)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

static char cleanup_file[4096];
static char cleanup_dir[4096];

void fx_cleanup_file(const char *path)
{
	fx_strlcpy(cleanup_file, path, sizeof(cleanup_file));
}

void fx_cleanup_dir(const char *path)
{
	fx_strlcpy(cleanup_dir, path, sizeof(cleanup_dir));
}

void fx_cleanup_forget(void)
{
	cleanup_file[0] = '\0';
	cleanup_dir[0] = '\0';
}

/* Empties and removes the directory name under dirfd with system calls only
 * (open, getdents64, unlinkat, close): async-signal-safe, no allocation. Symbolic
 * links are removed, never followed; depth is bounded by the stack it may use.
 * Returns 0 when name is gone. */
static int remove_tree_at(int dirfd, const char *name, int depth)
{
	char entries[2048];
	int fd, removed;

	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -1; /* not a directory, and it cannot be removed */
	if (depth > 24)
		return -1;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	do {
		ssize_t n, off;

		removed = 0;
		if (lseek(fd, 0, SEEK_SET) != 0)
			break;
		while ((n = getdents64(fd, entries, sizeof(entries))) > 0) {
			for (off = 0; off < n;) {
				struct dirent64 *d = (struct dirent64 *)(void *)(entries + off);

				off += d->d_reclen;
				if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0 &&
				    remove_tree_at(fd, d->d_name, depth + 1) == 0)
					removed = 1;
			}
		}
	} while (removed);
	close(fd);
	return unlinkat(dirfd, name, AT_REMOVEDIR);
}

static void on_signal(int sig)
{
	int saved_errno = errno;

	/* Only async-signal-safe work here. The first signal drops the partial file at
	 * once and lets the loops that check fx_interrupted unwind (they remove their
	 * partial directory themselves). A second one ends the process now: the
	 * registered directory goes first, so an impatient second Ctrl-C does not leave
	 * gigabytes of staged data behind. */
	if (cleanup_file[0] != '\0')
		unlink(cleanup_file);
	if (fx_interrupted) {
		if (cleanup_dir[0] != '\0')
			(void)remove_tree_at(AT_FDCWD, cleanup_dir, 0);
		signal(sig, SIG_DFL);
		raise(sig);
	}
	fx_interrupted = sig;
	errno = saved_errno;
}

void fx_install_signal_handlers(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(p) : unlink(p)) != 0 && errno != ENOENT ? -1 : 0;
}

int rm_tree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

int mkdir_p(const char *path, unsigned mode)
{
	char buf[4096];
	size_t i, n = fx_strlcpy(buf, path, sizeof(buf));

	if (n >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (i = 1; i <= n; i++) {
		if (buf[i] == '/' || buf[i] == '\0') {
			char c = buf[i];
			buf[i] = '\0';
			if (mkdir(buf, mode) != 0 && errno != EEXIST)
				return -1;
			buf[i] = c;
		}
	}
	return 0;
}
