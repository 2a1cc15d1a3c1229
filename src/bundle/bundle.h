/* bundle.h - reading and writing ferry bundles: a pax tar of entries in format.md
 * order, optionally zstd-compressed as a whole. */
#ifndef FERRY_BUNDLE_H
#define FERRY_BUNDLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bundle/manifest.h"
#include "crypto/pgp.h"
#include "bundle/sums.h"
#include "util/util.h"

#define BUNDLE_SUMS "SHA256SUMS"
#define BUNDLE_SIG "SHA256SUMS.asc"
#define BUNDLE_YAML "bundle.yaml"

/* The most a reader takes of a bundle's head and of a license entry (bundle_read.c);
 * pack checks the same limits before it signs, so it never signs a bundle that a
 * loader refuses. */
#define BUNDLE_SUMS_MAX (64u << 20)
#define BUNDLE_SIG_MAX (1u << 20)
#define BUNDLE_YAML_MAX (16u << 20)
#define BUNDLE_LICENSE_MAX (1u << 20)

/* ---- writing ---- */

struct bundle_writer;
struct progress;

struct bw_opts {
	int zstd;        /* wrap the tar in zstd */
	int zstd_level;  /* 0: default */
	int jobs;        /* zstd worker threads */
	int64_t mtime;   /* every entry's mtime */
	int force;       /* replace an existing output */
	uint64_t split;  /* > 0: cut the output into parts of this many bytes, written as
	                    PATH.000, PATH.001, ... with PATH.parts (their sha256sum lines) */
	/* signs the .parts list (PATH.parts.asc); NULL: unsigned */
	int (*sign)(void *ctx, const char *text, size_t len, char **sig, size_t *siglen, struct ferr *e);
	void *sign_ctx;
	struct progress *progress; /* NULL, or fed the bytes bw_add_file copies */
	/* > 0 (a multiple of 512; a plain single file only): the entries start at this
	 * offset and the head goes into the room before them last (bw_put_head), so that
	 * SHA256SUMS can list what is only known once the rest is written */
	uint64_t head_room;
};

/* Opens a temporary file beside path; nothing appears at path before bw_commit. */
int bw_open(struct bundle_writer **w, const char *path, const struct bw_opts *o, struct ferr *e);
int bw_add_buf(struct bundle_writer *w, const char *name, const void *buf, size_t len, struct ferr *e);
/* Streams a file into the bundle; when want is given the bytes must hash to it
 * (a source changed since it was hashed is an error, not a silently bad bundle).
 * NULL: not hashed again (a file the caller wrote and hashed itself, in a directory
 * of its own); its size is still checked. */
int bw_add_file(struct bundle_writer *w, const char *name, const char *path, uint64_t size,
    const unsigned char want[SHA256_LEN], struct ferr *e);
/* The same for bytes off..off+size-1 of path (off > 0: a member of an archive; a file
 * that ends inside it is FX_VERIFY). got (optional) gets the sha256 of what was
 * copied, for a caller that checks it itself (want NULL) and names the source in its
 * message; *data_off (optional) gets where the data begins in the bundle's file. */
int bw_add_range(struct bundle_writer *w, const char *name, const char *path, uint64_t off, uint64_t size,
    const unsigned char want[SHA256_LEN], unsigned char got[SHA256_LEN], uint64_t *data_off, struct ferr *e);
/* With head_room: the entry's header now, its size bytes left as a hole at *off of
 * bw_fd(w) for the caller to fill (pwrite) before bw_commit. */
int bw_add_hole(struct bundle_writer *w, const char *name, uint64_t size, uint64_t *off, struct ferr *e);
/* With head_room: an entry whose size is known only once its data is written (a layer
 * compressed on its way in). bw_begin_entry keeps one block for its header at the end
 * of the file and leaves the file offset of bw_fd(w) at *data_off, where the caller
 * write()s the data; bw_end_entry then names it, writes its header and padding, and
 * moves the file offset past them. Nothing else is added in between. */
int bw_begin_entry(struct bundle_writer *w, uint64_t *data_off, struct ferr *e);
int bw_end_entry(struct bundle_writer *w, const char *name, uint64_t size, struct ferr *e);
int bw_fd(const struct bundle_writer *w);
/* With head_room, a thread of the writer flushes the file to disk as it grows (every
 * 32 MiB the process writes, the bytes filled into holes by pwrite included), so that
 * bw_commit's fsync has only the last of it left; this flushes what is there now,
 * without waiting (call it once the bulk is written, before the SBOMs and the head). */
void bw_start_writeback(struct bundle_writer *w);
const char *bw_tmp_path(const struct bundle_writer *w); /* the file being written */
/* Bytes an entry of len bytes with a short name takes in the tar (header and data
 * padded to 512). */
uint64_t bw_entry_span(uint64_t len);
/* With head_room: writes the n entries (SHA256SUMS, its signature, bundle.yaml) into
 * the room, which they must fill exactly (sum of bw_entry_span). */
int bw_put_head(struct bundle_writer *w, const char *const *names, const char *const *bufs, const size_t *lens, size_t n,
    struct ferr *e);
/* Finishes the tar, fsyncs, renames into place. */
int bw_commit(struct bundle_writer *w, struct ferr *e);
/* Number of parts a split bundle was cut into. */
size_t bw_parts(const struct bundle_writer *w);
/* Removes the temporary file and frees w (safe after a commit too). */
void bw_free(struct bundle_writer *w);

/* ---- reading ---- */

/* The head of a bundle: the first three entries, checked. */
struct bundle_head {
	struct sums sums;
	char *sums_text;
	size_t sums_len;
	int is_signed;       /* SHA256SUMS.asc present */
	char *sig;           /* its text */
	size_t sig_len;
	int sig_checked;     /* the signature was checked and is good */
	struct pgp_signer signer;
	char *yaml;
	size_t yaml_len;
	struct manifest man;
	int zstd;            /* the bundle is zstd-compressed */
};

struct fresh_opts; /* state.h */
struct read_observer;

struct read_opts {
	const char *keyring;     /* public keys to trust; NULL: signature not checked */
	char **fingerprints;     /* optional: only these signers */
	size_t nfingerprints;
	int allow_unsigned;      /* accept a bundle without SHA256SUMS.asc */
	int head_only;           /* stop after bundle.yaml (inspect) */
	const char *license_pubkey; /* check license/NAME.lic entries with this key; an invalid
	                               one stops the read before any later entry is used */
	const char *audience;    /* with license_pubkey: the product the license must name */
	int64_t now;             /* clock for the license check */
	const struct fresh_opts *fresh; /* expiry and sequence checked right after the head
	                                   (before any sink sees it); NULL: not checked */
	uint64_t ranged_min;     /* entries this large are offered by position (entry_loc) to
	                            a sink that has drain(); 0: RANGED_MIN */
	const struct read_observer *observer; /* NULL, or told what the read found (--json) */
	struct progress *progress; /* NULL, or a meter fed the bytes hashed (util/progress.h) */
};

#define SINK_PRESENT (-1)
#define SINK_RANGED (-2)

/* Where a large entry's data lies in an uncompressed bundle (one file or parts): offered
 * to a sink that would rather read it itself, on its own threads, while the stream goes
 * on past it. */
struct ranged;
struct parts;
struct entry_loc {
	int fd;                      /* the bundle: pread() only; open until drain() returned */
	const struct parts *parts;   /* a split bundle: its parts (fd is -1); read either
	                                through bundle_pread() */
	uint64_t bundle_size;        /* the whole bundle's: an entry past it is cut short */
	uint64_t off;                /* the entry's first data byte */
	const unsigned char *digest; /* its signed SHA-256: the sink checks the bytes against it */
	struct ranged *rg;           /* for bundle_ranged_done() */
};
/* pread() on the bundle an entry_loc names (fd, or parts joined); thread-safe. */
ssize_t bundle_pread(int fd, const struct parts *parts, void *buf, size_t n, uint64_t off);
enum { RANGED_OK, RANGED_BAD, RANGED_UNREAD };
#define RANGED_MIN ((uint64_t)64 << 10)
/* The sink's verdict on an entry it took with SINK_RANGED, from any thread, once (later
 * calls are ignored): RANGED_OK it read size bytes hashing to digest, RANGED_BAD it did
 * not (why: a static text, NULL for "checksum mismatch"), RANGED_UNREAD it did not need
 * them (its target holds the content by digest). */
void bundle_ranged_done(struct ranged *rg, int result, const char *why);

/* A sink receives every entry after the head, while it is hashed. Data is not yet
 * verified when it arrives: a sink commits nothing before end() says ok. */
struct sink {
	void *ctx;
	/* the head is checked (signature, bundle.yaml hash); may be NULL */
	int (*head)(void *ctx, const struct bundle_head *h, struct ferr *e);
	/* an entry starts; *want = 1: pass me the data; 0: not needed here (it is still
	 * read and hashed); SINK_PRESENT: the target already holds this content by its
	 * digest, so the entry need not even be read (the reader skips it unhashed and
	 * calls no end() for it; only when every sink says so). When loc is not NULL the
	 * sink may answer SINK_RANGED: it reads and checks the entry itself (see entry_loc;
	 * no data() or end() comes for it), and then must have a drain(). */
	int (*begin)(void *ctx, const char *name, uint64_t size, const struct entry_loc *loc, int *want,
	    struct ferr *e);
	int (*data)(void *ctx, const void *buf, size_t n, struct ferr *e);
	/* ok: the entry hashed to its SHA256SUMS line; digest: what it hashed to */
	int (*end)(void *ctx, const char *name, int ok, struct ferr *e);
	/* every entry taken with SINK_RANGED is done (bundle_ranged_done called) when this
	 * returns; called once the stream is over, or given up, before finish() */
	void (*drain)(void *ctx);
	/* the stream is over; all_ok: every entry present and good, nothing extra */
	int (*finish)(void *ctx, int all_ok, struct ferr *e);
};

struct read_report {
	size_t entries_ok, entries_bad, missing, extra;
	size_t present; /* entries not read: every target held them already */
	uint64_t bytes;
};

/* Watches a read for machine-readable results; every hook may be NULL. */
struct read_observer {
	void *ctx;
	/* the head was read and checked (signature, bundle.yaml) */
	void (*head)(void *ctx, const struct bundle_head *h);
	/* an entry did not verify: bad, missing or extra, with why (as printed) */
	void (*problem)(void *ctx, const char *entry, const char *why);
	/* the read is over, whatever its result; h as far as it was read */
	void (*done)(void *ctx, const struct bundle_head *h, const struct read_report *rep);
};

/* Reads the bundle once, front to back. Per-entry problems are printed as they are
 * found and counted in rep; the return is FX_OK, FX_VERIFY (something did not
 * verify), or another FX_* for a fatal error (e set). The head is kept in *head
 * (free with bundle_head_free). */
int bundle_read(const char *path, const struct read_opts *o, const struct sink *s,
    struct bundle_head *head, struct read_report *rep, struct ferr *e);
void bundle_head_free(struct bundle_head *h);

#endif
