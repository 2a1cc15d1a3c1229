/* bundle_write.c - writes a bundle: a pax tar through libarchive, optionally wrapped
 * in multi-threaded zstd, into a temporary file renamed into place at the end. */
#include "bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/crypto.h>
#include <zstd.h>

#define COPY_BUF (1u << 20)

struct bundle_writer {
	struct archive *a;
	int fd;
	char *path, *tmp;
	struct bw_opts o;
	ZSTD_CCtx *z;
	unsigned char *zout;
	size_t zout_cap;
	unsigned char *buf; /* COPY_BUF for file copies */
	int io_errno;       /* errno of a failed write, reported by the caller */
	int zstd_failed;
};

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
		if (out.pos > 0 && write_all(w->fd, w->zout, out.pos) != 0) {
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
	} else if (write_all(w->fd, buf, n) != 0) {
		w->io_errno = errno;
		archive_set_error(a, errno, "%s", strerror(errno));
		return -1;
	}
	return (la_ssize_t)n;
}

static int werr(struct bundle_writer *w, const char *what, struct ferr *e)
{
	if (fx_interrupted)
		return fe_set(e, FX_IO, "interrupted; %s removed", esc(w->tmp));
	return fe_set(e, FX_IO, "%s: %s: %s", esc(w->path), what,
	    w->io_errno ? strerror(w->io_errno) : archive_error_string(w->a) ? archive_error_string(w->a) : "write failed");
}

int bw_open(struct bundle_writer **wp, const char *path, const struct bw_opts *o, struct ferr *e)
{
	struct bundle_writer *w = xcalloc(1, sizeof(*w));
	struct stat st;
	int rc = FX_OK;

	w->fd = -1;
	w->o = *o;
	w->path = xstrdup(path);
	if (!o->force && lstat(path, &st) == 0) {
		rc = fe_set(e, FX_IO, "%s: already exists (use --force to replace it)", esc(path));
		goto end;
	}
	w->tmp = xasprintf("%s.partial.XXXXXX", path);
	w->fd = mkstemp(w->tmp);
	if (w->fd < 0) {
		rc = fe_set(e, FX_IO, "%s: cannot create: %s", esc(w->tmp), strerror(errno));
		free(w->tmp);
		w->tmp = NULL;
		goto end;
	}
	fx_cleanup_file(w->tmp);
	fchmod(w->fd, 0644);
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

static int header(struct bundle_writer *w, const char *name, uint64_t size, struct ferr *e)
{
	struct archive_entry *ent = archive_entry_new();
	int r;

	archive_entry_set_pathname(ent, name);
	archive_entry_set_filetype(ent, AE_IFREG);
	archive_entry_set_perm(ent, 0644);
	archive_entry_set_size(ent, (la_int64_t)size);
	archive_entry_set_uid(ent, 0);
	archive_entry_set_gid(ent, 0);
	archive_entry_set_mtime(ent, (time_t)w->o.mtime, 0);
	r = archive_write_header(w->a, ent);
	archive_entry_free(ent);
	if (r != ARCHIVE_OK)
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

int bw_add_file(struct bundle_writer *w, const char *name, const char *path, uint64_t size,
    const unsigned char want[SHA256_LEN], struct ferr *e)
{
	struct sha256 h;
	unsigned char got[SHA256_LEN];
	uint64_t total = 0;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fe_set(e, FX_IO, "%s: %s", esc(path), strerror(errno));
	if ((rc = header(w, name, size, e)) != FX_OK) {
		close(fd);
		return rc;
	}
	sha256_init(&h);
	for (;;) {
		ssize_t r = read(fd, w->buf, COPY_BUF);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = fe_set(e, FX_IO, "%s: %s", esc(path), strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		if (total + (uint64_t)r > size) {
			rc = fe_set(e, FX_IO, "%s: changed while the bundle was written (grew)", esc(path));
			goto fail;
		}
		sha256_update(&h, w->buf, (size_t)r);
		if (archive_write_data(w->a, w->buf, (size_t)r) != r) {
			rc = werr(w, name, e);
			goto fail;
		}
		total += (uint64_t)r;
	}
	close(fd);
	sha256_final(&h, got);
	if (total != size)
		return fe_set(e, FX_IO, "%s: changed while the bundle was written (shrank)", esc(path));
	if (want != NULL && CRYPTO_memcmp(got, want, SHA256_LEN) != 0)
		return fe_set(e, FX_IO, "%s: changed while the bundle was written", esc(path));
	return FX_OK;
fail:
	sha256_free(&h);
	close(fd);
	return rc;
}

int bw_commit(struct bundle_writer *w, struct ferr *e)
{
	if (archive_write_close(w->a) != ARCHIVE_OK)
		return werr(w, "finishing the tar", e);
	if (w->z != NULL && zstd_push(w, NULL, 0, ZSTD_e_end) != 0)
		return werr(w, "finishing zstd", e);
	if (fsync(w->fd) != 0) {
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
	if (w->o.force) {
		if (rename(w->tmp, w->path) != 0)
			return fe_set(e, FX_IO, "%s: %s", esc(w->path), strerror(errno));
	} else if (renameat2(AT_FDCWD, w->tmp, AT_FDCWD, w->path, RENAME_NOREPLACE) != 0) {
		return fe_set(e, FX_IO, "%s: %s", esc(w->path),
		    errno == EEXIST ? "appeared while the bundle was written (use --force to replace it)" : strerror(errno));
	}
	fx_cleanup_forget();
	free(w->tmp);
	w->tmp = NULL;
	return FX_OK;
}

void bw_free(struct bundle_writer *w)
{
	if (w == NULL)
		return;
	if (w->a != NULL)
		archive_write_free(w->a); /* may try to close: harmless after an error */
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmp != NULL) {
		unlink(w->tmp);
		fx_cleanup_forget();
	}
	ZSTD_freeCCtx(w->z);
	free(w->zout);
	free(w->buf);
	free(w->tmp);
	free(w->path);
	free(w);
}
