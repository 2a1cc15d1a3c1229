/* bundle_write.c - writes a bundle: a pax tar through libarchive, optionally wrapped
 * in multi-threaded zstd, into a temporary file renamed into place at the end. */
#include "bundle/bundle.h"
#include "util/file.h"
#include "util/progress.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/crypto.h>
#include <zstd.h>

#define COPY_BUF (1u << 20)

#define MAX_PARTS 1000 /* .000 to .999 */

struct part {
	char *name; /* basename, NAME.ferry.NNN */
	unsigned char digest[SHA256_LEN];
};

struct bundle_writer {
	struct archive *a;
	int fd;
	char *path, *tmp; /* tmp: the temporary file, or with split the temporary directory */
	/* split volumes: the byte stream cut into parts of o.split bytes */
	struct part *parts;
	size_t nparts;
	uint64_t part_used;
	struct sha256 part_hash;
	struct bw_opts o;
	ZSTD_CCtx *z;
	unsigned char *zout;
	size_t zout_cap;
	unsigned char *buf; /* COPY_BUF for file copies */
	int io_errno;       /* errno of a failed write, reported by the caller */
	int zstd_failed;
	/* o.head_room: a plain single file whose head is written last (bw_put_head) */
	uint64_t pos;       /* output offset of the next byte */
	uint64_t hole_left; /* bytes of a hole (bw_add_hole) still to pass over */
	uint64_t open_entry; /* bw_begin_entry: where its header goes (0: none open) */
	/* A plain single file (head_room): a thread puts the bytes on disk while they are
	 * written (flush_main), so that bw_commit's fsync has only the last of them left. */
	pthread_t flusher;
	pthread_mutex_t flush_mu;
	pthread_cond_t flush_cv;
	int flushing;       /* the thread runs, or has not been joined */
	int flush_stop;     /* flush_join: the thread ends */
	int flush_now;      /* bw_start_writeback: flush without waiting for FLUSH_BYTES */
	int flush_errno;    /* the first failed fdatasync's errno (0: none) */
};

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s != NULL ? s + 1 : p;
}

/* Starts the next part file inside the temporary directory. */
static int next_part(struct bundle_writer *w)
{
	char *path;

	if (w->nparts == MAX_PARTS) {
		errno = EFBIG;
		return -1;
	}
	w->parts = xreallocarray(w->parts, w->nparts + 1, sizeof(*w->parts));
	w->parts[w->nparts].name = xasprintf("%s.%03zu", base_name(w->path), w->nparts);
	path = xasprintf("%s/%s", w->tmp, w->parts[w->nparts].name);
	w->nparts++;
	w->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	free(path);
	if (w->fd < 0)
		return -1;
	w->part_used = 0;
	sha256_init(&w->part_hash);
	return 0;
}

static int end_part(struct bundle_writer *w)
{
	int r = 0;

	sha256_final(&w->part_hash, w->parts[w->nparts - 1].digest);
	if (fsync(w->fd) != 0)
		r = -1;
	if (close(w->fd) != 0)
		r = -1;
	w->fd = -1;
	return r;
}

/* All output bytes pass here: to the file, or cut into parts. */
static int out_write(struct bundle_writer *w, const void *buf, size_t n)
{
	const unsigned char *p = buf;

	if (w->o.split == 0 && w->hole_left > 0) { /* bytes another writer puts there */
		size_t k = w->hole_left < n ? (size_t)w->hole_left : n;
		if (lseek(w->fd, (off_t)k, SEEK_CUR) < 0)
			return -1;
		w->hole_left -= k;
		w->pos += k;
		p += k;
		n -= k;
	}
	if (w->o.split == 0) {
		w->pos += n;
		return write_all(w->fd, p, n);
	}
	while (n > 0) {
		size_t k;

		if (w->fd < 0 || w->part_used == w->o.split) {
			if ((w->fd >= 0 && end_part(w) != 0) || next_part(w) != 0)
				return -1;
		}
		k = w->o.split - w->part_used < n ? (size_t)(w->o.split - w->part_used) : n;
		sha256_update(&w->part_hash, p, k);
		if (write_all(w->fd, p, k) != 0)
			return -1;
		w->part_used += k;
		p += k;
		n -= k;
	}
	return 0;
}

static int zstd_push(struct bundle_writer *w, const void *src, size_t n, ZSTD_EndDirective mode)
{
	ZSTD_inBuffer in = {src, n, 0};

	for (;;) {
		ZSTD_outBuffer out = {w->zout, w->zout_cap, 0};
		size_t left = ZSTD_compressStream2(w->z, &out, &in, mode);
		if (ZSTD_isError(left)) {
			w->zstd_failed = 1;
			return -1;
		}
		if (out.pos > 0 && out_write(w, w->zout, out.pos) != 0) {
			w->io_errno = errno;
			return -1;
		}
		if (mode == ZSTD_e_end ? left == 0 : in.pos == in.size)
			return 0;
	}
}

static la_ssize_t write_cb(struct archive *a, void *ctx, const void *buf, size_t n)
{
	struct bundle_writer *w = ctx;

	if (fx_interrupted) {
		archive_set_error(a, EINTR, "interrupted");
		return -1;
	}
	if (w->z != NULL) {
		if (zstd_push(w, buf, n, ZSTD_e_continue) != 0) {
			archive_set_error(a, w->io_errno ? w->io_errno : EIO, "%s",
			    w->io_errno ? strerror(w->io_errno) : "zstd compression failed");
			return -1;
		}
	} else if (out_write(w, buf, n) != 0) {
		w->io_errno = errno;
		archive_set_error(a, errno, "%s", strerror(errno));
		return -1;
	}
	return (la_ssize_t)n;
}

static int werr(struct bundle_writer *w, const char *what, struct ferr *e)
{
	if (fx_interrupted)
		return fe_set(e, FX_IO, "interrupted; %s removed", ESC(w->tmp));
	return fe_set(e, FX_IO, "%s: %s: %s", ESC(w->path), what,
	    w->io_errno ? strerror(w->io_errno) : archive_error_string(w->a) ? archive_error_string(w->a) : "write failed");
}

/* The flusher looks every FLUSH_POLL_MS at how many bytes the process has written
 * (/proc/self/io wchar: every write path counts, the fetch and compression threads'
 * pwrite included) and flushes the file once FLUSH_BYTES more were written: a flush per
 * 32 MiB costs little on any disk, and the final fsync no longer waits for the whole
 * bundle to reach it (on a virtual disk, for the host to write it). */
#define FLUSH_POLL_MS 20
#define FLUSH_BYTES (32ull << 20)

/* Bytes the process has passed to write calls so far; 0 if /proc cannot tell. */
static uint64_t written_so_far(void)
{
	char buf[512];
	const char *p;
	ssize_t n;
	int fd = open("/proc/self/io", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strstr(buf, "wchar: ");
	return p != NULL ? strtoull(p + 7, NULL, 10) : 0;
}

static void *flush_main(void *arg)
{
	struct bundle_writer *w = arg;
	uint64_t last = written_so_far();

	pthread_mutex_lock(&w->flush_mu);
	while (!w->flush_stop) {
		struct timespec until;
		uint64_t now;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += FLUSH_POLL_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		if (!w->flush_now)
			pthread_cond_timedwait(&w->flush_cv, &w->flush_mu, &until);
		if (w->flush_stop)
			break;
		now = written_so_far();
		if (!w->flush_now && now - last < FLUSH_BYTES)
			continue;
		w->flush_now = 0;
		last = now;
		pthread_mutex_unlock(&w->flush_mu);
		if (fdatasync(w->fd) != 0 && w->flush_errno == 0)
			w->flush_errno = errno ? errno : EIO;
		pthread_mutex_lock(&w->flush_mu);
	}
	pthread_mutex_unlock(&w->flush_mu);
	return NULL;
}

static void flush_start(struct bundle_writer *w)
{
	pthread_condattr_t ca;

	pthread_mutex_init(&w->flush_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->flush_cv, &ca);
	pthread_condattr_destroy(&ca);
	w->flushing = pthread_create(&w->flusher, NULL, flush_main, w) == 0;
	if (!w->flushing) { /* no flusher: bw_commit's fsync does it all */
		pthread_cond_destroy(&w->flush_cv);
		pthread_mutex_destroy(&w->flush_mu);
	}
}

/* Ends the flusher; 0, or the errno of a flush that failed: kept, because a later
 * fsync may no longer report it (the kernel clears a write error once reported). */
static int flush_join(struct bundle_writer *w)
{
	if (w->flushing) {
		pthread_mutex_lock(&w->flush_mu);
		w->flush_stop = 1;
		pthread_cond_signal(&w->flush_cv);
		pthread_mutex_unlock(&w->flush_mu);
		pthread_join(w->flusher, NULL);
		pthread_cond_destroy(&w->flush_cv);
		pthread_mutex_destroy(&w->flush_mu);
		w->flushing = 0;
	}
	return w->flush_errno;
}

int bw_open(struct bundle_writer **wp, const char *path, const struct bw_opts *o, struct ferr *e)
{
	struct bundle_writer *w = xcalloc(1, sizeof(*w));
	int rc = FX_OK;

	w->fd = -1;
	w->o = *o;
	w->path = xstrdup(path);
	w->tmp = xasprintf("%s.partial.XXXXXX", path);
	if (o->split > 0) {
		if (mkdtemp(w->tmp) == NULL) {
			rc = fe_set(e, FX_IO, "%s: cannot create: %s", ESC(w->tmp), strerror(errno));
			free(w->tmp);
			w->tmp = NULL;
			goto end;
		}
		fx_cleanup_dir(w->tmp);
	} else {
		w->fd = mkstemp(w->tmp);
		if (w->fd < 0) {
			rc = fe_set(e, FX_IO, "%s: cannot create: %s", ESC(w->tmp), strerror(errno));
			free(w->tmp);
			w->tmp = NULL;
			goto end;
		}
		fx_cleanup_file(w->tmp);
		fchmod(w->fd, 0644);
	}
	if (o->head_room > 0 && (o->zstd || o->split > 0 || o->head_room % 512 != 0 ||
	    lseek(w->fd, (off_t)o->head_room, SEEK_SET) < 0)) {
		rc = fe_set(e, FX_IO, "%s: room for the head: only in a plain single file", ESC(w->path));
		goto end;
	}
	w->pos = o->head_room;
	if (o->head_room > 0)
		flush_start(w);
	w->buf = xmalloc(COPY_BUF);
	if (o->zstd) {
		w->z = ZSTD_createCCtx();
		w->zout_cap = ZSTD_CStreamOutSize() * 4;
		w->zout = xmalloc(w->zout_cap);
		/* nbWorkers >= 1 gives the same bytes whatever the worker count */
		if (w->z == NULL ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(w->z, ZSTD_c_compressionLevel, o->zstd_level ? o->zstd_level : 3)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(w->z, ZSTD_c_nbWorkers, o->jobs > 0 ? o->jobs : 1)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(w->z, ZSTD_c_checksumFlag, 1))) {
			rc = fe_set(e, FX_IO, "zstd: cannot set up compression");
			goto end;
		}
	}
	w->a = archive_write_new();
	if (w->a == NULL || archive_write_set_format_pax_restricted(w->a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(w->a, 0) != ARCHIVE_OK ||
	    archive_write_open(w->a, w, NULL, write_cb, NULL) != ARCHIVE_OK) {
		rc = fe_set(e, FX_IO, "libarchive: cannot start the tar writer");
		goto end;
	}
end:
	if (rc != FX_OK) {
		bw_free(w);
		w = NULL;
	}
	*wp = w;
	return rc;
}

static int entry_header(struct archive *a, const char *name, uint64_t size, int64_t mtime)
{
	struct archive_entry *ent = archive_entry_new();
	int r;

	archive_entry_set_pathname(ent, name);
	archive_entry_set_filetype(ent, AE_IFREG);
	archive_entry_set_perm(ent, 0644);
	archive_entry_set_size(ent, (la_int64_t)size);
	archive_entry_set_uid(ent, 0);
	archive_entry_set_gid(ent, 0);
	archive_entry_set_mtime(ent, (time_t)mtime, 0);
	r = archive_write_header(a, ent);
	archive_entry_free(ent);
	return r;
}

static int header(struct bundle_writer *w, const char *name, uint64_t size, struct ferr *e)
{
	if (entry_header(w->a, name, size, w->o.mtime) != ARCHIVE_OK)
		return werr(w, name, e);
	return FX_OK;
}

int bw_add_buf(struct bundle_writer *w, const char *name, const void *buf, size_t len, struct ferr *e)
{
	int rc;

	if ((rc = header(w, name, len, e)) != FX_OK)
		return rc;
	if (len > 0 && archive_write_data(w->a, buf, len) != (la_ssize_t)len)
		return werr(w, name, e);
	return FX_OK;
}

int bw_add_range(struct bundle_writer *w, const char *name, const char *path, uint64_t off, uint64_t size,
    const unsigned char want[SHA256_LEN], unsigned char got[SHA256_LEN], uint64_t *data_off, struct ferr *e)
{
	struct sha256 hash;
	unsigned char sum[SHA256_LEN];
	uint64_t total = 0;
	int fd, rc, hashing = want != NULL || got != NULL;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fe_set(e, FX_IO, "%s: %s", ESC(path), strerror(errno));
	if (hashing)
		sha256_init(&hash);
	rc = header(w, name, size, e);
	if (data_off != NULL)
		*data_off = w->pos;
	while (rc == FX_OK) {
		/* a range stops at its end; a whole file is read to EOF so that growth shows */
		size_t want_n = off > 0 && size - total < COPY_BUF ? (size_t)(size - total) : COPY_BUF;
		ssize_t r = want_n == 0 ? 0 : pread(fd, w->buf, want_n, (off_t)(off + total));

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			break;
		if (r < 0)
			rc = fe_set(e, FX_IO, "%s: %s", ESC(path), strerror(errno));
		else if (total + (uint64_t)r > size)
			rc = fe_set(e, FX_IO, "%s: changed while the bundle was written (grew)", ESC(path));
		else if (archive_write_data(w->a, w->buf, (size_t)r) != r)
			rc = werr(w, name, e);
		if (rc != FX_OK)
			break;
		if (hashing)
			sha256_update(&hash, w->buf, (size_t)r);
		total += (uint64_t)r;
		if (w->o.progress != NULL)
			progress_add(w->o.progress, (uint64_t)r);
	}
	if (hashing)
		sha256_final(&hash, sum);
	close(fd);
	if (got != NULL)
		memcpy(got, sum, SHA256_LEN);
	if (rc == FX_OK && total != size)
		rc = off > 0 ? fe_set(e, FX_VERIFY, "%s: ends inside %s", ESC(path), ESC(name)) :
		    fe_set(e, FX_IO, "%s: changed while the bundle was written (shrank)", ESC(path));
	else if (rc == FX_OK && want != NULL && CRYPTO_memcmp(sum, want, SHA256_LEN) != 0)
		rc = fe_set(e, FX_IO, "%s: changed while the bundle was written", ESC(path));
	return rc;
}

int bw_add_file(struct bundle_writer *w, const char *name, const char *path, uint64_t size,
    const unsigned char want[SHA256_LEN], struct ferr *e)
{
	return bw_add_range(w, name, path, 0, size, want, NULL, NULL, e);
}

int bw_add_hole(struct bundle_writer *w, const char *name, uint64_t size, uint64_t *off, struct ferr *e)
{
	uint64_t left = size;
	int rc;

	if (w->o.head_room == 0)
		return fe_set(e, FX_IO, "%s: %s: a hole needs a plain single file", ESC(w->path), ESC(name));
	if ((rc = header(w, name, size, e)) != FX_OK)
		return rc;
	*off = w->pos;
	w->hole_left = size;
	memset(w->buf, 0, COPY_BUF);
	/* libarchive counts the entry's bytes; out_write passes over them */
	while (left > 0 && rc == FX_OK) {
		size_t k = left < COPY_BUF ? (size_t)left : COPY_BUF;
		if (archive_write_data(w->a, w->buf, k) != (la_ssize_t)k)
			rc = werr(w, name, e);
		left -= k;
	}
	if (rc == FX_OK && w->hole_left != 0)
		rc = fe_set(e, FX_IO, "%s: %s: the tar writer buffered the hole", ESC(w->path), ESC(name));
	w->hole_left = 0;
	return rc;
}

int bw_begin_entry(struct bundle_writer *w, uint64_t *data_off, struct ferr *e)
{
	if (w->o.head_room == 0 || w->open_entry != 0)
		return fe_set(e, FX_IO, "%s: an entry of unknown size needs a plain single file, one at a time", ESC(w->path));
	/* the padding of the entry before is written now, not with the next header */
	if (archive_write_finish_entry(w->a) != ARCHIVE_OK)
		return werr(w, "finishing an entry", e);
	if (w->pos % 512 != 0 || lseek(w->fd, (off_t)(w->pos + 512), SEEK_SET) < 0) {
		w->io_errno = w->pos % 512 != 0 ? EIO : errno;
		return werr(w, "keeping room for a header", e);
	}
	w->open_entry = w->pos;
	*data_off = w->pos + 512;
	return FX_OK;
}

/* The ustar header of an entry as libarchive writes it: one block, or more (a name or
 * size that needs a pax header), which does not fit the room kept and is refused. */
struct header_buf {
	unsigned char b[512];
	size_t len;
	int over;
	int done; /* the header is written */
};

static la_ssize_t header_cb(struct archive *a, void *ctx, const void *buf, size_t n)
{
	struct header_buf *h = ctx;

	if (h->done) { /* what closing writes (the entry's data, the end blocks): stopped at once */
		archive_set_error(a, EFBIG, "header only");
		return -1;
	}
	if (h->len + n > sizeof(h->b))
		h->over = 1;
	else
		memcpy(h->b + h->len, buf, n);
	h->len += n;
	return (la_ssize_t)n;
}

int bw_end_entry(struct bundle_writer *w, const char *name, uint64_t size, struct ferr *e)
{
	static const unsigned char zeros[512];
	struct archive *a = archive_write_new();
	struct header_buf hdr;
	uint64_t data_off = w->open_entry + 512, pad = (512 - size % 512) % 512;
	int rc = FX_OK;

	memset(&hdr, 0, sizeof(hdr));
	if (w->open_entry == 0) {
		rc = fe_set(e, FX_IO, "%s: %s: no entry is open", ESC(w->path), ESC(name));
		goto end;
	}
	if (a == NULL || archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(a, 0) != ARCHIVE_OK || archive_write_open(a, &hdr, NULL, header_cb, NULL) != ARCHIVE_OK ||
	    entry_header(a, name, size, w->o.mtime) != ARCHIVE_OK) {
		rc = fe_set(e, FX_IO, "libarchive: cannot make the header of %s", ESC(name));
		goto end;
	}
	hdr.done = 1;
	if (hdr.over || hdr.len != sizeof(hdr.b)) {
		rc = fe_set(e, FX_IO, "%s: %s: its tar header does not fit one block (%llu bytes)", ESC(w->path), ESC(name),
		    (unsigned long long)size);
		goto end;
	}
	if (pwrite_all(w->fd, hdr.b, sizeof(hdr.b), w->open_entry) != 0 ||
	    (pad > 0 && pwrite_all(w->fd, zeros, (size_t)pad, data_off + size) != 0) ||
	    lseek(w->fd, (off_t)(data_off + size + pad), SEEK_SET) < 0) {
		w->io_errno = errno;
		rc = werr(w, name, e);
		goto end;
	}
	w->pos = data_off + size + pad;
	w->open_entry = 0;
end:
	hdr.done = 1;
	if (a != NULL)
		archive_write_free(a);
	return rc;
}

int bw_fd(const struct bundle_writer *w)
{
	return w->fd;
}

void bw_start_writeback(struct bundle_writer *w)
{
	if (!w->flushing)
		return;
	pthread_mutex_lock(&w->flush_mu);
	w->flush_now = 1;
	pthread_cond_signal(&w->flush_cv);
	pthread_mutex_unlock(&w->flush_mu);
}

const char *bw_tmp_path(const struct bundle_writer *w)
{
	return w->tmp;
}

uint64_t bw_entry_span(uint64_t len)
{
	return 512 + (len + 511) / 512 * 512;
}

/* The head's bytes go to their room at the start of the file; anything past it (the
 * end-of-archive blocks libarchive writes when it closes) is dropped. */
struct head_out {
	int fd;
	uint64_t pos, room;
	int err;
};

static la_ssize_t head_cb(struct archive *a, void *ctx, const void *buf, size_t n)
{
	struct head_out *h = ctx;
	size_t k = h->room - h->pos < n ? (size_t)(h->room - h->pos) : n;

	(void)a;
	if (k > 0 && !h->err) {
		if (pwrite_all(h->fd, buf, k, h->pos) != 0)
			h->err = errno;
		else
			h->pos += k;
	}
	return (la_ssize_t)n;
}

int bw_put_head(struct bundle_writer *w, const char *const *names, const char *const *bufs, const size_t *lens, size_t n,
    struct ferr *e)
{
	struct archive *a = archive_write_new();
	struct head_out h = {w->fd, 0, w->o.head_room, 0};
	uint64_t need = 0;
	size_t i;
	int rc = FX_OK;

	for (i = 0; i < n; i++)
		need += bw_entry_span(lens[i]);
	if (need != w->o.head_room) {
		rc = fe_set(e, FX_IO, "%s: the head takes %llu bytes, not the %llu kept for it", ESC(w->path),
		    (unsigned long long)need, (unsigned long long)w->o.head_room);
		goto end;
	}
	if (a == NULL || archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(a, 0) != ARCHIVE_OK || archive_write_open(a, &h, NULL, head_cb, NULL) != ARCHIVE_OK) {
		rc = fe_set(e, FX_IO, "libarchive: cannot start the tar writer");
		goto end;
	}
	for (i = 0; i < n && rc == FX_OK; i++)
		if (entry_header(a, names[i], lens[i], w->o.mtime) != ARCHIVE_OK ||
		    (lens[i] > 0 && archive_write_data(a, bufs[i], lens[i]) != (la_ssize_t)lens[i]))
			rc = fe_set(e, FX_IO, "%s: %s: %s", ESC(w->path), names[i], h.err ? strerror(h.err) : "cannot write");
	if (rc == FX_OK && archive_write_finish_entry(a) != ARCHIVE_OK)
		rc = fe_set(e, FX_IO, "%s: the head: cannot write", ESC(w->path));
	if (rc == FX_OK && (h.err || h.pos != h.room))
		rc = fe_set(e, FX_IO, "%s: the head: %s", ESC(w->path), h.err ? strerror(h.err) : "it does not fill its room");
end:
	if (a != NULL)
		archive_write_free(a);
	return rc;
}

/* Writes a small sidecar file (the .parts list or its signature) into the temporary
 * directory of a split bundle. */
static int write_sidecar(struct bundle_writer *w, const char *suffix, const char *buf, size_t len, struct ferr *e)
{
	char *p = xasprintf("%s/%s%s", w->tmp, base_name(w->path), suffix);
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644), rc = FX_OK;

	if (fd < 0 || write_all(fd, buf, len) != 0 || fsync(fd) != 0)
		rc = fe_set(e, FX_IO, "%s%s: %s", ESC(w->path), suffix, strerror(errno));
	if (fd >= 0 && close(fd) != 0)
		rc = fe_set(e, FX_IO, "%s%s: %s", ESC(w->path), suffix, strerror(errno));
	free(p);
	return rc;
}

/* Moves one finished file from the temporary place to its final name. */
static int place(struct bundle_writer *w, const char *from, const char *to, struct ferr *e)
{
	if (fx_rename(AT_FDCWD, from, AT_FDCWD, to, w->o.force) != 0)
		return fe_set(e, FX_IO, "%s: %s", ESC(to), errno == EEXIST ? FX_EXISTS : strerror(errno));
	return FX_OK;
}

/* The files of a split bundle: the parts, the .parts list and its signature (when
 * signed), each with its temporary name inside w->tmp and its final name. */
static size_t split_files(const struct bundle_writer *w, int is_signed, char ***from, char ***to)
{
	static const char *const suffixes[2] = {".parts", ".parts.asc"};
	const char *base = base_name(w->path);
	size_t n = w->nparts + 1 + (size_t)is_signed, i;
	int dirlen = (int)(base - w->path);

	*from = xcalloc(n, sizeof(char *));
	*to = xcalloc(n, sizeof(char *));
	for (i = 0; i < n; i++) {
		if (i < w->nparts) {
			(*from)[i] = xasprintf("%s/%s", w->tmp, w->parts[i].name);
			(*to)[i] = xasprintf("%.*s%s", dirlen, w->path, w->parts[i].name);
		} else {
			(*from)[i] = xasprintf("%s/%s%s", w->tmp, base, suffixes[i - w->nparts]);
			(*to)[i] = xasprintf("%s%s", w->path, suffixes[i - w->nparts]);
		}
	}
	return n;
}

/* Writes the .parts list and its signature, then moves every file into place: all of
 * them or none (a clash is found before the first move, and a move that still fails
 * takes back the ones before it). */
static int commit_split(struct bundle_writer *w, struct ferr *e)
{
	struct sums list;
	char *text = NULL, *sig = NULL, **from = NULL, **to = NULL;
	size_t len = 0, siglen = 0, i, n = 0, moved = 0;
	struct stat st;
	int rc = FX_OK;

	memset(&list, 0, sizeof(list));
	if (w->fd >= 0 && end_part(w) != 0) {
		w->io_errno = errno;
		return werr(w, "finishing the last part", e);
	}
	for (i = 0; i < w->nparts; i++)
		sums_add(&list, w->parts[i].name, w->parts[i].digest);
	text = sums_format(&list, &len);
	if ((rc = write_sidecar(w, ".parts", text, len, e)) != FX_OK)
		goto end;
	if (w->o.sign != NULL && ((rc = w->o.sign(w->o.sign_ctx, text, len, &sig, &siglen, e)) != FX_OK ||
	    (rc = write_sidecar(w, ".parts.asc", sig, siglen, e)) != FX_OK))
		goto end;
	if (fx_interrupted) {
		rc = werr(w, "interrupted", e);
		goto end;
	}
	n = split_files(w, sig != NULL, &from, &to);
	/* refuse before moving anything, so a clash leaves no mixture of old and new parts */
	for (i = 0; i < n && !w->o.force && rc == FX_OK; i++)
		if (lstat(to[i], &st) == 0)
			rc = fe_set(e, FX_IO, "%s: %s", ESC(to[i]), FX_EXISTS);
	while (moved < n && rc == FX_OK && (rc = place(w, from[moved], to[moved], e)) == FX_OK)
		moved++;
	while (rc != FX_OK && moved > 0)
		unlink(to[--moved]); /* what this run moved, and nothing else */
end:
	for (i = 0; i < n; i++) {
		free(from[i]);
		free(to[i]);
	}
	free(from);
	free(to);
	sums_free(&list);
	free(text);
	free(sig);
	return rc;
}

int bw_commit(struct bundle_writer *w, struct ferr *e)
{
	if (archive_write_close(w->a) != ARCHIVE_OK)
		return werr(w, "finishing the tar", e);
	if (w->z != NULL && zstd_push(w, NULL, 0, ZSTD_e_end) != 0)
		return werr(w, "finishing zstd", e);
	if (w->o.split > 0)
		return commit_split(w, e);
	if ((w->io_errno = flush_join(w)) != 0)
		return werr(w, "fsync", e);
	if (fsync(w->fd) != 0) { /* what came after the flush began (the head), and the metadata */
		w->io_errno = errno;
		return werr(w, "fsync", e);
	}
	if (close(w->fd) != 0) {
		w->fd = -1;
		w->io_errno = errno;
		return werr(w, "close", e);
	}
	w->fd = -1;
	if (fx_interrupted)
		return werr(w, "interrupted", e);
	if (place(w, w->tmp, w->path, e) != FX_OK)
		return e->code;
	fx_cleanup_forget();
	free(w->tmp);
	w->tmp = NULL;
	return FX_OK;
}

size_t bw_parts(const struct bundle_writer *w)
{
	return w->nparts;
}

void bw_free(struct bundle_writer *w)
{
	if (w == NULL)
		return;
	(void)flush_join(w); /* before its file descriptor goes */
	if (w->a != NULL)
		archive_write_free(w->a); /* may try to close: harmless after an error */
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmp != NULL) {
		if (w->o.split > 0)
			rm_tree(w->tmp); /* after a commit it holds nothing but the empty directory */
		else
			unlink(w->tmp);
		fx_cleanup_forget();
	}
	if (w->part_hash.ctx != NULL)
		sha256_free(&w->part_hash);
	for (size_t i = 0; i < w->nparts; i++)
		free(w->parts[i].name);
	free(w->parts);
	ZSTD_freeCCtx(w->z);
	free(w->zout);
	free(w->buf);
	free(w->tmp);
	free(w->path);
	free(w);
}
