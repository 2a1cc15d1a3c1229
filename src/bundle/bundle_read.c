/* bundle_read.c - reads a bundle in one sequential pass: the signed head first, then
 * every entry through the hasher into a sink. Memory stays fixed whatever the size. */
#include "bundle/bundle.h"
#include "bundle/state.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <zstd.h>

#include "crypto/license.h"
#include "bundle/parts.h"
#include "util/progress.h"

#define IN_BUF (1u << 20)
#define SUMS_MAX BUNDLE_SUMS_MAX /* bundle.h: pack checks the same */
#define SIG_MAX BUNDLE_SIG_MAX
#define YAML_MAX BUNDLE_YAML_MAX
#define ZSTD_WINDOW_LOG_MAX 25   /* 32 MiB: more than ferry ever writes */
#define UNSIGNED_SKIP_MAX (64u << 20)
#define LICENSE_MAX BUNDLE_LICENSE_MAX

/* The byte stream under libarchive: the file, decompressed when it is zstd. */
struct instream {
	int fd;
	const char *path;
	int zstd;
	ZSTD_DCtx *dz;
	unsigned char *in, *out;
	size_t in_len, in_pos, out_cap;
	size_t frame_left; /* last ZSTD_decompressStream hint: 0 at a frame end */
	int eof;
	uint64_t raw;      /* bytes read from the file, or skipped: where the stream is */
	uint64_t size;     /* of the file, or of the parts joined; 0 when not known */
	char err[512];
	int err_code;      /* FX_IO, or FX_VERIFY for a bad part */
	/* split volumes: the parts read as one file (each opened when first needed) */
	struct parts parts;
	int after_skip;    /* the last move was a skip: read a little, a header is next */
	int hashing;       /* part_hash holds the part hash_part, read whole up to hashed */
	size_t hash_part;
	uint64_t hashed;
	struct sha256 part_hash;
};

/* After a skip the next bytes are mostly a tar header: a split bundle reads this much
 * then, not a whole buffer of the blob that follows (which may be skipped too). */
#define SKIP_PEEK (64u << 10)

/* Hashes bytes of a split bundle's part k read at in_part. A part read from its first
 * byte to its last must match its line in the signed .parts list before those last
 * bytes are used; a part the stream skipped into (an entry every target holds, or one
 * an upload worker reads by position) is not checked as a whole: what is used of it is
 * checked by the entries' own hashes. Returns -1 on a mismatch (s->err set). */
static int part_hash_add(struct instream *s, size_t k, uint64_t in_part, size_t n)
{
	const struct parts *p = &s->parts;
	uint64_t part_len = k + 1 < p->n ? p->part_size : p->total - (uint64_t)k * p->part_size;
	unsigned char d[SHA256_LEN];

	if (in_part == 0) {
		if (s->hashing)
			sha256_free(&s->part_hash);
		sha256_init(&s->part_hash);
		s->hashing = 1;
		s->hash_part = k;
		s->hashed = 0;
	}
	if (!s->hashing)
		return 0;
	if (s->hash_part != k || s->hashed != in_part) {
		sha256_free(&s->part_hash); /* a gap: not checked as a whole */
		s->hashing = 0;
		return 0;
	}
	sha256_update(&s->part_hash, s->in, n);
	s->hashed += n;
	if (s->hashed < part_len)
		return 0;
	sha256_final(&s->part_hash, d);
	s->hashing = 0;
	if (CRYPTO_memcmp(d, p->digests[k], SHA256_LEN) != 0) {
		snprintf(s->err, sizeof(s->err), "part %zu of %zu (%s): checksum mismatch", k + 1, p->n,
		    ESC(p->paths[k]));
		s->err_code = FX_VERIFY;
		return -1;
	}
	return 0;
}

/* The next bytes of a split bundle, from the part that holds them. */
static ssize_t fill_parts(struct instream *s)
{
	const struct parts *p = &s->parts;
	size_t k = (size_t)(s->raw / p->part_size), failed;
	ssize_t r;

	if (s->raw >= p->total)
		return 0;
	r = parts_pread(p, s->in, s->after_skip ? SKIP_PEEK : IN_BUF, s->raw, &failed);
	if (r < 0) {
		snprintf(s->err, sizeof(s->err), "part %zu of %zu (%s): %s", failed + 1, p->n, ESC(p->paths[failed]),
		    strerror(errno));
		s->err_code = FX_IO;
		return -1;
	}
	if (r == 0) {
		snprintf(s->err, sizeof(s->err), "part %zu of %zu (%s): shorter than when the read began", k + 1, p->n,
		    ESC(p->paths[k]));
		s->err_code = FX_VERIFY;
		return -1;
	}
	if (part_hash_add(s, k, s->raw - (uint64_t)k * p->part_size, (size_t)r) < 0)
		return -1;
	return r;
}

static ssize_t fill(struct instream *s)
{
	ssize_t r;

	if (s->parts.n > 0) {
		r = fill_parts(s);
	} else {
		do
			r = read(s->fd, s->in, IN_BUF);
		while (r < 0 && errno == EINTR);
		if (r < 0) {
			snprintf(s->err, sizeof(s->err), "%s", strerror(errno));
			s->err_code = FX_IO;
		}
	}
	if (r < 0)
		return -1;
	s->after_skip = 0;
	s->in_len = (size_t)r;
	s->in_pos = 0;
	s->raw += (uint64_t)r;
	if (r == 0)
		s->eof = 1;
	return r;
}

static la_ssize_t read_cb(struct archive *a, void *ctx, const void **buf)
{
	struct instream *s = ctx;

	if (fx_interrupted) {
		archive_set_error(a, EINTR, "interrupted");
		return -1;
	}
	if (!s->zstd) {
		if (s->in_pos < s->in_len) { /* the bytes peeked at open */
			size_t n = s->in_len - s->in_pos;
			*buf = s->in + s->in_pos;
			s->in_pos = s->in_len;
			return (la_ssize_t)n;
		}
		if (fill(s) < 0) {
			archive_set_error(a, EIO, "%s", s->err);
			return -1;
		}
		*buf = s->in;
		s->in_pos = s->in_len;
		return (la_ssize_t)s->in_len;
	}
	for (;;) {
		ZSTD_outBuffer out = {s->out, s->out_cap, 0};
		ZSTD_inBuffer in;
		size_t r;

		if (s->in_pos == s->in_len && !s->eof && fill(s) < 0) {
			archive_set_error(a, EIO, "%s", s->err);
			return -1;
		}
		if (s->in_pos == s->in_len && s->eof) {
			if (s->frame_left != 0) {
				archive_set_error(a, EIO, "zstd stream is truncated");
				return -1;
			}
			return 0;
		}
		in.src = s->in;
		in.size = s->in_len;
		in.pos = s->in_pos;
		r = ZSTD_decompressStream(s->dz, &out, &in);
		s->in_pos = in.pos;
		if (ZSTD_isError(r)) {
			archive_set_error(a, EIO, "zstd: %s", ZSTD_getErrorName(r));
			return -1;
		}
		s->frame_left = r;
		if (out.pos > 0) {
			*buf = s->out;
			return (la_ssize_t)out.pos;
		}
	}
}

/* Skips forward in an uncompressed bundle (a file, or the parts joined) by seeking;
 * libarchive reads through whatever this declines (zstd, pipes). */
static la_int64_t skip_cb(struct archive *a, void *ctx, la_int64_t request)
{
	struct instream *s = ctx;

	(void)a;
	if (s->zstd || s->size == 0 || request <= 0 || s->in_pos < s->in_len)
		return 0;
	/* never past the end: a truncated bundle must still be found truncated */
	if ((uint64_t)request > s->size - s->raw)
		request = (la_int64_t)(s->size - s->raw);
	if (request == 0 || (s->parts.n == 0 && lseek(s->fd, (off_t)request, SEEK_CUR) < 0))
		return 0;
	s->raw += (uint64_t)request;
	s->after_skip = 1;
	return request;
}

static int instream_open(struct instream *s, const char *path, const struct read_opts *o, struct ferr *e)
{
	static const unsigned char zmagic[4] = {0x28, 0xb5, 0x2f, 0xfd};
	struct stat st;
	int rc;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->path = path;
	if ((rc = parts_open(path, o, &s->parts, e)) != FX_OK)
		return rc;
	s->in = xmalloc(IN_BUF);
	if (s->parts.n > 0) {
		s->size = s->parts.total;
		if (fill(s) < 0)
			return fe_set(e, s->err_code, "%s: %s", ESC(path), s->err);
	} else {
		s->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (s->fd < 0)
			return fe_set(e, FX_IO, "%s: %s", ESC(path), strerror(errno));
		if (fstat(s->fd, &st) != 0 || S_ISDIR(st.st_mode))
			return fe_set(e, FX_IO, "%s: is a directory", ESC(path));
		if (S_ISREG(st.st_mode) && lseek(s->fd, 0, SEEK_CUR) == 0)
			s->size = (uint64_t)st.st_size;
	}
	/* peek enough bytes to tell zstd from tar (magic bytes, never the file name) */
	while (s->in_len < 4 && !s->eof && s->parts.n == 0) {
		ssize_t r = read(s->fd, s->in + s->in_len, IN_BUF - s->in_len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return fe_set(e, FX_IO, "%s: %s", ESC(path), strerror(errno));
		if (r == 0)
			s->eof = 1;
		s->in_len += (size_t)r;
		s->raw += (uint64_t)r;
	}
	if (s->parts.n > 0 && s->in_len < 4) {
		/* the first part held fewer than 4 bytes: a split that small is not ferry's */
		return fe_set(e, FX_VERIFY, "%s: first part too short", ESC(s->path));
	}
	if (s->in_len == 0)
		return fe_set(e, FX_VERIFY, "%s: empty file, not a ferry bundle", ESC(path));
	if (s->in_len >= 4 && memcmp(s->in, zmagic, 4) == 0) {
		s->zstd = 1;
		s->dz = ZSTD_createDCtx();
		s->out_cap = ZSTD_DStreamOutSize() * 8;
		s->out = xmalloc(s->out_cap);
		s->frame_left = 1;
		if (s->dz == NULL || ZSTD_isError(ZSTD_DCtx_setParameter(s->dz, ZSTD_d_windowLogMax, ZSTD_WINDOW_LOG_MAX)))
			return fe_set(e, FX_IO, "zstd: cannot set up decompression");
	}
	return FX_OK;
}

static void instream_close(struct instream *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (s->hashing)
		sha256_free(&s->part_hash);
	s->hashing = 0;
	parts_free(&s->parts);
	ZSTD_freeDCtx(s->dz);
	free(s->in);
	free(s->out);
	s->dz = NULL;
	s->in = s->out = NULL;
}

ssize_t bundle_pread(int fd, const struct parts *parts, void *buf, size_t n, uint64_t off)
{
	size_t failed;
	ssize_t r;

	if (parts != NULL)
		return parts_pread(parts, buf, n, off, &failed);
	do
		r = pread(fd, buf, n, (off_t)off);
	while (r < 0 && errno == EINTR);
	return r;
}

/* An entry a sink reads itself (SINK_RANGED); its result comes from the sink's thread. */
struct ranged {
	struct ranged *next;
	pthread_mutex_t *mu;
	char *name;
	uint64_t size;
	int done, result;
	const char *why;
};

struct reader {
	struct archive *a;
	struct instream in;
	const char *path;
	const struct read_opts *o;
	struct read_report *rep;
	int bad; /* something did not verify */
	uint64_t unsigned_skipped;
	size_t licenses; /* license entries checked */
	int can_range;   /* a plain bundle file: entries can be offered by position */
	struct ranged *ranged; /* entries taken with SINK_RANGED, newest first */
	int drained;     /* the sink's drain() ran */
	pthread_mutex_t mu;
};

static void problem(struct reader *r, const char *name, const char *what);

void bundle_ranged_done(struct ranged *rg, int result, const char *why)
{
	pthread_mutex_lock(rg->mu);
	if (!rg->done) {
		rg->done = 1;
		rg->result = result;
		rg->why = why;
	}
	pthread_mutex_unlock(rg->mu);
}

/* Waits for the sink to finish every entry it took by position, then counts them as
 * the stream would have (the sink checked each against its signed digest). */
static void ranged_settle(struct reader *r, const struct sink *s)
{
	struct ranged *rg;

	if (r->ranged == NULL || r->drained)
		return;
	s->drain(s->ctx);
	r->drained = 1;
	for (rg = r->ranged; rg != NULL; rg = rg->next) {
		int done, result;
		const char *why;

		pthread_mutex_lock(&r->mu);
		done = rg->done;
		result = rg->result;
		why = rg->why;
		pthread_mutex_unlock(&r->mu);
		if (!done) {
			problem(r, rg->name, "not read by its target (internal error)");
			r->rep->entries_bad++;
		} else if (result == RANGED_OK) {
			r->rep->entries_ok++;
			r->rep->bytes += rg->size;
		} else if (result == RANGED_UNREAD) {
			r->rep->present++;
		} else {
			problem(r, rg->name, why != NULL ? why : "checksum mismatch");
			r->rep->entries_bad++;
		}
	}
}

static void ranged_free(struct reader *r)
{
	while (r->ranged != NULL) {
		struct ranged *rg = r->ranged;
		r->ranged = rg->next;
		free(rg->name);
		free(rg);
	}
}

static int is_license(const char *name)
{
	size_t n = strlen(name);

	return strncmp(name, "license/", 8) == 0 && n > 12 && strcmp(name + n - 4, ".lic") == 0;
}

/* A license entry, complete and hashed: checked with the operator's key. An invalid
 * license is fatal here, so no later entry (images) reaches a target. */
static int check_license(struct reader *r, const char *name, const char *tok, size_t len, struct ferr *e)
{
	char reason[256] = "";
	int days = 0;
	enum license_state st = license_check(tok, len, r->o->license_pubkey, r->o->audience, r->o->now,
	    NULL, &days, reason, sizeof(reason));

	r->licenses++;
	if (st == LIC_GRACE) {
		fx_warn("%s: %s: license expired, in its grace period: %d days left", ESC(r->path), ESC(name), days);
		return FX_OK;
	}
	if (st != LIC_VALID)
		return fe_set(e, FX_VERIFY, "%s: %s: license is %s: %s", ESC(r->path), ESC(name),
		    license_state_name(st), reason);
	return FX_OK;
}

static const char *arc_err(struct reader *r)
{
	const char *s = archive_error_string(r->a);

	if (r->in.err[0] != '\0')
		return r->in.err;
	return s != NULL ? s : "malformed tar";
}

/* Reads the next header; 1 with *ent set, 0 at the end, -1 on a fatal error. */
static int next(struct reader *r, struct archive_entry **ent, struct ferr *e)
{
	int x = archive_read_next_header(r->a, ent);

	if (x == ARCHIVE_EOF)
		return 0;
	if (x == ARCHIVE_OK)
		return 1;
	if (fx_interrupted)
		fe_set(e, FX_IO, "interrupted");
	else if (r->in.err[0] != '\0')
		fe_set(e, r->in.err_code ? r->in.err_code : FX_IO, "%s: %s", ESC(r->path), r->in.err);
	else
		fe_set(e, FX_VERIFY, "%s: %s%s", ESC(r->path), arc_err(r),
		    archive_file_count(r->a) == 0 ? " (not a ferry bundle)" : " (damaged or truncated bundle)");
	return -1;
}

/* Reads a small head entry fully into memory. */
static int slurp(struct reader *r, struct archive_entry *ent, const char *want, size_t max,
    char **out, size_t *len, struct ferr *e)
{
	const char *name = archive_entry_pathname(ent);
	la_int64_t size = archive_entry_size(ent);
	size_t got = 0;
	char *buf = NULL;
	int rc = FX_OK;

	if (name == NULL || strcmp(name, want) != 0)
		return fe_set(e, FX_VERIFY, "%s: entry '%s' where %s belongs: not a ferry bundle, or damaged",
		    ESC(r->path), ESC(name ? name : ""), want);
	if (archive_entry_filetype(ent) != AE_IFREG || archive_entry_hardlink(ent) != NULL)
		return fe_set(e, FX_VERIFY, "%s: %s is not a regular file", ESC(r->path), want);
	if (size < 0 || (uint64_t)size > max)
		return fe_set(e, FX_VERIFY, "%s: %s is %lld bytes, more than the %zu allowed", ESC(r->path), want,
		    (long long)size, max);
	buf = xmalloc((size_t)size + 1);
	while (got < (size_t)size && rc == FX_OK) {
		la_ssize_t n = archive_read_data(r->a, buf + got, (size_t)size - got);

		if (n <= 0)
			rc = fe_set(e, n < 0 && r->in.err[0] && r->in.err_code != FX_VERIFY ? FX_IO : FX_VERIFY,
			    "%s: %s: %s", ESC(r->path), want, n < 0 ? arc_err(r) : "truncated");
		else
			got += (size_t)n;
	}
	if (rc == FX_OK) {
		buf[got] = '\0';
		*out = buf;
		*len = got;
		buf = NULL;
	}
	free(buf);
	return rc;
}

static int read_head(struct reader *r, struct bundle_head *h, struct ferr *e)
{
	struct archive_entry *ent;
	struct sum_line *l;
	unsigned char d[SHA256_LEN];
	int rc, x;

	if ((x = next(r, &ent, e)) <= 0)
		return x == 0 ? fe_set(e, FX_VERIFY, "%s: no entries: not a ferry bundle", ESC(r->path)) : e->code;
	if ((rc = slurp(r, ent, BUNDLE_SUMS, SUMS_MAX, &h->sums_text, &h->sums_len, e)) != FX_OK)
		return rc;
	if ((x = next(r, &ent, e)) <= 0)
		return x == 0 ? fe_set(e, FX_VERIFY, "%s: truncated after SHA256SUMS", ESC(r->path)) : e->code;
	/* the signature is checked before SHA256SUMS is parsed: nothing unsigned is interpreted */
	if (archive_entry_pathname(ent) != NULL && strcmp(archive_entry_pathname(ent), BUNDLE_SIG) == 0) {
		if ((rc = slurp(r, ent, BUNDLE_SIG, SIG_MAX, &h->sig, &h->sig_len, e)) != FX_OK)
			return rc;
		h->is_signed = 1;
		if (r->o->keyring != NULL) {
			rc = pgp_verify(h->sums_text, h->sums_len, h->sig, h->sig_len, BUNDLE_SIG, r->o->keyring,
			    r->o->fingerprints, r->o->nfingerprints, &h->signer, e);
			if (rc != FX_OK)
				return rc;
			h->sig_checked = 1;
		}
		if ((x = next(r, &ent, e)) <= 0)
			return x == 0 ? fe_set(e, FX_VERIFY, "%s: truncated after SHA256SUMS.asc", ESC(r->path)) : e->code;
	} else if (!r->o->allow_unsigned && !r->o->head_only) {
		return fe_set(e, FX_VERIFY, "%s: not signed (no SHA256SUMS.asc); refusing it without --allow-unsigned",
		    ESC(r->path));
	}
	if ((rc = sums_parse(h->sums_text, h->sums_len, &h->sums, e)) != FX_OK)
		return rc;
	if (sums_find(&h->sums, BUNDLE_SUMS) != NULL || sums_find(&h->sums, BUNDLE_SIG) != NULL)
		return fe_set(e, FX_VERIFY, "SHA256SUMS lists itself or its signature");
	if ((rc = slurp(r, ent, BUNDLE_YAML, YAML_MAX, &h->yaml, &h->yaml_len, e)) != FX_OK)
		return rc;
	l = sums_find(&h->sums, BUNDLE_YAML);
	if (l == NULL)
		return fe_set(e, FX_VERIFY, "%s: bundle.yaml is not listed in SHA256SUMS", ESC(r->path));
	sha256_buf(h->yaml, h->yaml_len, d);
	if (CRYPTO_memcmp(d, l->digest, SHA256_LEN) != 0)
		return fe_set(e, FX_VERIFY, "%s: bundle.yaml: checksum mismatch", ESC(r->path));
	l->seen = 1;
	return manifest_parse(h->yaml, h->yaml_len, &h->man, e);
}

/* What the entries after the head hold, by their signed sizes (for progress). */
static uint64_t entries_total(const struct manifest *m)
{
	uint64_t total = 0;
	size_t i;

	for (i = 0; i < m->nentries; i++)
		total += m->entries[i].size;
	return total;
}

static void problem(struct reader *r, const char *name, const char *what)
{
	if (r->o->progress != NULL)
		progress_clear(r->o->progress);
	fx_warn("%s: %s: %s", ESC(r->path), ESC(name), what);
	r->bad = 1;
	if (r->o->observer != NULL && r->o->observer->problem != NULL)
		r->o->observer->problem(r->o->observer->ctx, name, what);
}

/* Reads and discards an entry that will not be used; bounded so a hostile stream
 * (a zstd bomb claiming terabytes) cannot keep the reader busy for ever. */
static int skip_unsigned(struct reader *r, la_int64_t size, struct ferr *e)
{
	if (size > 0)
		r->unsigned_skipped += (uint64_t)size;
	if (r->unsigned_skipped > UNSIGNED_SKIP_MAX)
		return fe_set(e, FX_VERIFY, "%s: more than %u MiB of unsigned data: stopped reading", ESC(r->path),
		    UNSIGNED_SKIP_MAX >> 20);
	if (archive_read_data_skip(r->a) != ARCHIVE_OK)
		return fe_set(e, FX_VERIFY, "%s: %s (damaged or truncated bundle)", ESC(r->path), arc_err(r));
	return FX_OK;
}

/* Skips an entry's data that its sink took by position or that every target holds
 * already: a plain bundle file is seeked over, anything else read through. */
static int skip_data(struct reader *r, struct ferr *e)
{
	if (archive_read_data_skip(r->a) != ARCHIVE_OK)
		return fe_set(e, FX_VERIFY, "%s: %s (damaged or truncated bundle)", ESC(r->path), arc_err(r));
	return FX_OK;
}

/* Checks an entry's header against the signed head: its name, its type, its line in
 * SHA256SUMS (once), its signed size. Returns the line when the entry is to be read;
 * NULL when it is not (the problem reported and counted), with *skip the bytes that
 * skipping it costs. */
static struct sum_line *admit(struct reader *r, struct bundle_head *h, struct archive_entry *ent,
    const char *name, la_int64_t size, la_int64_t *skip)
{
	const struct man_entry *signed_entry;
	struct sum_line *line = NULL;
	const char *why = entry_name_problem(name);
	unsigned type = archive_entry_filetype(ent);

	*skip = size;
	if (why == NULL && (archive_entry_hardlink(ent) != NULL || type == AE_IFLNK))
		why = "link entries are not allowed";
	if (why == NULL && type == AE_IFDIR) {
		if (sums_find(&h->sums, name) != NULL)
			problem(r, name, "listed in SHA256SUMS but is a directory");
		*skip = 0;
		return NULL;
	}
	if (why == NULL && type != AE_IFREG)
		why = "device, fifo or socket entries are not allowed";
	if (why == NULL && (line = sums_find(&h->sums, name)) == NULL)
		why = "extra entry, not listed in SHA256SUMS";
	if (why == NULL && line->seen)
		why = "duplicate entry";
	if (why != NULL) {
		problem(r, name, why);
		r->rep->extra++;
		return NULL;
	}
	line->seen = 1;
	signed_entry = manifest_entry(&h->man, name);
	if (signed_entry == NULL || size < 0 || signed_entry->size != (uint64_t)size) {
		problem(r, name, signed_entry == NULL ? "no signed size in bundle.yaml" : "size differs from the signed size");
		r->rep->entries_bad++;
		return NULL;
	}
	return line;
}

/* Offers an entry to the sink's begin(): by its position in the file when the sink can
 * read it itself (a large entry of a plain bundle file, and may_range), else as a
 * stream. *want is the sink's answer; an entry the sink took by position is kept in
 * r->ranged (even when begin() failed) for its verdict. */
static int offer(struct reader *r, const struct sink *s, const char *name, uint64_t size,
    const struct sum_line *line, int may_range, int *want, struct ferr *e)
{
	struct entry_loc loc, *where = NULL;
	int rc = FX_OK;

	*want = 1;
	if (s == NULL || s->begin == NULL)
		goto end;
	if (may_range && r->can_range && s->drain != NULL &&
	    size >= (r->o->ranged_min ? r->o->ranged_min : RANGED_MIN) && archive_filter_bytes(r->a, 0) >= 0) {
		/* after the header, the stream (the file, or the parts joined) is at the data */
		memset(&loc, 0, sizeof(loc));
		loc.fd = r->in.fd;
		loc.parts = r->in.parts.n > 0 ? &r->in.parts : NULL;
		loc.bundle_size = r->in.size;
		loc.off = (uint64_t)archive_filter_bytes(r->a, 0);
		loc.digest = line->digest;
		loc.rg = xcalloc(1, sizeof(*loc.rg));
		loc.rg->mu = &r->mu;
		loc.rg->name = xstrdup(name);
		loc.rg->size = size;
		where = &loc;
	}
	rc = s->begin(s->ctx, name, size, where, want, e);
	if (where != NULL && *want == SINK_RANGED) {
		loc.rg->next = r->ranged;
		r->ranged = loc.rg;
	} else if (where != NULL) {
		free(loc.rg->name);
		free(loc.rg);
	} else if (*want == SINK_RANGED) {
		*want = 1; /* not offered by position: it gets the stream */
	}
end:
	return rc;
}

/* Streams an entry's data through the hash, to the sink when it wants it and into
 * license when that is to be checked; counts the entry good or bad in the report. */
static int stream(struct reader *r, const struct sink *s, const char *name, uint64_t size,
    const struct sum_line *line, int want, char *license, int *ok, struct ferr *e)
{
	struct sha256 hash;
	unsigned char got[SHA256_LEN];
	uint64_t total = 0;
	int rc = FX_OK, x;

	*ok = 0;
	sha256_init(&hash);
	while (rc == FX_OK) {
		const void *buf;
		size_t n;
		la_int64_t off;

		x = archive_read_data_block(r->a, &buf, &n, &off);
		if (x == ARCHIVE_EOF)
			break;
		if (x != ARCHIVE_OK && fx_interrupted)
			rc = fe_set(e, FX_IO, "interrupted");
		else if (x != ARCHIVE_OK)
			rc = fe_set(e, r->in.err[0] && r->in.err_code != FX_VERIFY ? FX_IO : FX_VERIFY,
			    "%s: %s: %s (damaged or truncated bundle)", ESC(r->path), ESC(name), arc_err(r));
		else if ((uint64_t)off != total) /* sparse entries would leave holes never hashed */
			rc = fe_set(e, FX_VERIFY, "%s: %s: sparse entries are not allowed", ESC(r->path), ESC(name));
		if (rc != FX_OK)
			break;
		sha256_update(&hash, buf, n);
		if (license != NULL && total + n <= size)
			memcpy(license + total, buf, n);
		total += n;
		r->rep->bytes += n;
		if (r->o->progress != NULL)
			progress_add(r->o->progress, n);
		if (want && s != NULL && s->data != NULL)
			rc = s->data(s->ctx, buf, n, e);
	}
	sha256_final(&hash, got);
	if (rc == FX_OK) {
		*ok = total == size && CRYPTO_memcmp(got, line->digest, SHA256_LEN) == 0;
		if (*ok) {
			r->rep->entries_ok++;
		} else {
			problem(r, name, "checksum mismatch");
			r->rep->entries_bad++;
		}
	}
	return rc;
}

/* One entry after the head: checked against the signed head, offered to the sink,
 * then streamed through the hash, or skipped. A sink that began an entry always hears
 * its end(); ok = 0 when it did not verify or the read stopped, so it commits
 * nothing of it. */
static int read_entry(struct reader *r, struct bundle_head *h, struct archive_entry *ent,
    const struct sink *s, struct ferr *e)
{
	const char *name = archive_entry_pathname(ent) != NULL ? archive_entry_pathname(ent) : "";
	la_int64_t size = archive_entry_size(ent), skip;
	struct sum_line *line;
	char *license = NULL; /* a license entry's bytes, when it is to be checked */
	int want, ok = 0, rc, begun = 0, ended = 0;

	line = admit(r, h, ent, name, size, &skip);
	if (line == NULL) {
		rc = skip_unsigned(r, skip, e);
		goto end;
	}
	if (r->o->license_pubkey != NULL && is_license(name)) {
		if ((uint64_t)size > LICENSE_MAX) {
			rc = fe_set(e, FX_VERIFY, "%s: %s: license larger than %u bytes", ESC(r->path), ESC(name), LICENSE_MAX);
			goto end;
		}
		license = xmalloc((size_t)size + 1);
	}
	if ((rc = offer(r, s, name, (uint64_t)size, line, license == NULL, &want, e)) != FX_OK)
		goto end;
	if (want == SINK_RANGED) {
		/* the sink reads it by position (and checks it); the stream goes past it */
		rc = skip_data(r, e);
		goto end;
	}
	if (want == SINK_PRESENT && license == NULL) {
		/* content-addressed and already in every target: not read (a plain bundle
		 * file is seeked over) and not hashed, so not counted as verified either */
		r->rep->present++;
		rc = skip_data(r, e);
		goto end;
	}
	begun = 1;
	rc = stream(r, s, name, (uint64_t)size, line, want == SINK_PRESENT ? 0 : want, license, &ok, e);
	if (rc == FX_OK && license != NULL && ok)
		rc = check_license(r, name, license, (size_t)size, e);
	if (rc == FX_OK && s != NULL && s->end != NULL) {
		ended = 1;
		rc = s->end(s->ctx, name, ok, e);
	}
end:
	if (begun && !ended && s != NULL && s->end != NULL)
		s->end(s->ctx, name, 0, e); /* given up: the sink commits nothing of it */
	free(license);
	return rc;
}

int bundle_read(const char *path, const struct read_opts *o, const struct sink *s,
    struct bundle_head *h, struct read_report *rep, struct ferr *e)
{
	struct reader r;
	struct archive_entry *ent;
	size_t i;
	int rc = FX_OK, x;

	memset(h, 0, sizeof(*h));
	memset(rep, 0, sizeof(*rep));
	memset(&r, 0, sizeof(r));
	r.path = path;
	r.o = o;
	r.rep = rep;
	r.in.fd = -1;
	pthread_mutex_init(&r.mu, NULL);
	if (o->license_pubkey != NULL && !o->head_only) {
		/* an unusable key is the operator's problem (exit 3), found before any reading */
		EVP_PKEY *k = NULL;
		if ((rc = license_load_pubkey(o->license_pubkey, &k, e)) != FX_OK)
			goto end;
		EVP_PKEY_free(k);
	}
	if ((rc = instream_open(&r.in, path, o, e)) != FX_OK)
		goto end;
	h->zstd = r.in.zstd;
	r.can_range = !r.in.zstd && r.in.size > 0;
	r.a = archive_read_new();
	if (r.a == NULL || archive_read_support_format_tar(r.a) != ARCHIVE_OK ||
	    archive_read_set_callback_data(r.a, &r.in) != ARCHIVE_OK ||
	    archive_read_set_read_callback(r.a, read_cb) != ARCHIVE_OK ||
	    archive_read_set_skip_callback(r.a, skip_cb) != ARCHIVE_OK || archive_read_open1(r.a) != ARCHIVE_OK) {
		rc = fe_set(e, FX_VERIFY, "%s: %s (not a ferry bundle)", ESC(path), r.a ? arc_err(&r) : "libarchive");
		goto end;
	}
	if ((rc = read_head(&r, h, e)) != FX_OK)
		goto end;
	if (o->observer != NULL && o->observer->head != NULL)
		o->observer->head(o->observer->ctx, h);
	if (o->fresh != NULL && (rc = fresh_check(&h->man, o->fresh, e)) != FX_OK)
		goto end;
	if (o->head_only)
		goto end;
	if (o->progress != NULL)
		progress_start(o->progress, entries_total(&h->man));
	if (s != NULL && s->head != NULL && (rc = s->head(s->ctx, h, e)) != FX_OK)
		goto end;
	while ((x = next(&r, &ent, e)) == 1) {
		if ((rc = read_entry(&r, h, ent, s, e)) != FX_OK)
			goto end;
	}
	if (x < 0) {
		rc = e->code;
		goto end;
	}
	ranged_settle(&r, s);
	for (i = 0; i < h->sums.n; i++) {
		if (!h->sums.v[i].seen) {
			problem(&r, h->sums.v[i].path, "missing (listed in SHA256SUMS, not in the bundle)");
			rep->missing++;
		}
	}
	if (o->license_pubkey != NULL && r.licenses == 0 && !r.bad) {
		rc = fe_set(e, FX_VERIFY, "%s: no license in the bundle to check with %s", ESC(path),
		    ESC(o->license_pubkey));
		goto end;
	}
	if (s != NULL && s->finish != NULL && (rc = s->finish(s->ctx, !r.bad, e)) != FX_OK)
		goto end;
	if (r.bad)
		rc = fe_set(e, FX_VERIFY, "%s: verification FAILED: %zu bad, %zu missing, %zu extra entries",
		    ESC(path), rep->entries_bad, rep->missing, rep->extra);
end:
	/* a stream given up: the sink still stops reading by position before the file
	 * closes, and what it found is reported as well */
	ranged_settle(&r, s);
	ranged_free(&r);
	if (o->progress != NULL)
		progress_end(o->progress);
	if (o->observer != NULL && o->observer->done != NULL)
		o->observer->done(o->observer->ctx, h, rep);
	if (r.a != NULL)
		archive_read_free(r.a);
	instream_close(&r.in);
	pthread_mutex_destroy(&r.mu);
	return rc;
}

void bundle_head_free(struct bundle_head *h)
{
	sums_free(&h->sums);
	free(h->sums_text);
	free(h->sig);
	free(h->yaml);
	manifest_free(&h->man);
	memset(h, 0, sizeof(*h));
}
