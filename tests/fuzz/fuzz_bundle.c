/* fuzz_bundle.c - libFuzzer target for the bundle reader: the tar reader, the zstd
 * stream under it, SHA256SUMS, bundle.yaml and the entry rules, through bundle_read.
 *
 * Input: one mode byte, then the bundle bytes. The bundle goes into a memfd that
 * bundle_read opens by its /proc/self/fd path. No keyring is given, so no GnuPG is
 * ever started; unsigned bundles are allowed so every entry is reached.
 *   mode bit 0: head_only (what inspect reads)
 *   mode bit 1: the sink skips entry data (want = 0) instead of taking it
 *   mode bit 2: unsigned bundles are refused (the default of ferry-load)
 *   mode bit 3: the sink takes every entry offered by position (SINK_RANGED) and reads
 *               and checks it itself, as the registry target's workers do; the
 *               verdict must equal that of a second read through the stream */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bundle/bundle.h"
#include "bundle/sums.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int mfd = -1;
static char mpath[64];

struct discard {
	int want, ranged_mode;
	size_t ranged;
	unsigned acc;          /* touches every byte handed over (ASan sees bad reads) */
	int in_entry;
	size_t heads, begins, ends;
};

static int d_head(void *ctx, const struct bundle_head *h, struct ferr *e)
{
	struct discard *d = ctx;

	(void)e;
	/* the head handed to a sink is fully parsed: its strings must be readable */
	if (h->man.name == NULL || h->man.version == NULL || h->sums.n == 0)
		abort();
	d->heads++;
	return FX_OK;
}

/* Reads an entry by position and reports on it, as a registry worker would. */
static void read_ranged(const struct entry_loc *loc, uint64_t size)
{
	unsigned char buf[65536], got[SHA256_LEN];
	struct sha256 h;
	uint64_t done = 0;

	sha256_init(&h);
	while (done < size) {
		size_t n = size - done < sizeof(buf) ? (size_t)(size - done) : sizeof(buf);
		ssize_t r = pread(loc->fd, buf, n, (off_t)(loc->off + done));
		if (r <= 0)
			break;
		sha256_update(&h, buf, (size_t)r);
		done += (uint64_t)r;
	}
	sha256_final(&h, got);
	bundle_ranged_done(loc->rg, done == size && memcmp(got, loc->digest, SHA256_LEN) == 0 ? RANGED_OK : RANGED_BAD,
	    done == size ? NULL : "short");
}

static int d_begin(void *ctx, const char *name, uint64_t size, const struct entry_loc *loc, int *want,
    struct ferr *e)
{
	struct discard *d = ctx;

	(void)e;
	/* only names that passed the entry rules reach a sink */
	if (entry_name_problem(name) != NULL || d->in_entry)
		abort();
	if (loc != NULL && (!d->ranged_mode || size < 1))
		abort(); /* offered only to a sink that can drain, and only non-empty entries */
	if (loc != NULL) {
		read_ranged(loc, size);
		d->ranged++;
		*want = SINK_RANGED;
		return FX_OK;
	}
	d->in_entry = 1;
	d->begins++;
	*want = d->want;
	return FX_OK;
}

static int d_data(void *ctx, const void *buf, size_t n, struct ferr *e)
{
	struct discard *d = ctx;
	const unsigned char *p = buf;
	size_t i;

	(void)e;
	if (!d->want || !d->in_entry)
		abort();
	for (i = 0; i < n; i++)
		d->acc += p[i];
	return FX_OK;
}

static int d_end(void *ctx, const char *name, int ok, struct ferr *e)
{
	struct discard *d = ctx;

	(void)name;
	(void)ok;
	(void)e;
	d->in_entry = 0;
	d->ends++;
	return FX_OK;
}

static void d_drain(void *ctx)
{
	(void)ctx; /* every ranged entry was read in begin() */
}

static int d_finish(void *ctx, int all_ok, struct ferr *e)
{
	struct discard *d = ctx;

	(void)all_ok;
	(void)e;
	if (d->in_entry)
		abort();
	return FX_OK;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	FILE *devnull;

	(void)argc;
	(void)argv;
	mfd = memfd_create("ferry-fuzz-bundle", MFD_CLOEXEC);
	if (mfd < 0)
		abort();
	snprintf(mpath, sizeof(mpath), "/proc/self/fd/%d", mfd);
	/* per-entry problems are printed through stdio; the sanitizers and libFuzzer
	 * write to the descriptor directly, so their reports still show */
	devnull = fopen("/dev/null", "w");
	if (devnull != NULL)
		stderr = devnull;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct read_opts o;
	struct discard d;
	struct sink s;
	struct bundle_head h;
	struct read_report rep;
	struct ferr e = {0};
	size_t off = 0;
	int rc;

	if (size < 1)
		return 0;
	if (ftruncate(mfd, 0) != 0)
		abort();
	while (off < size - 1) {
		ssize_t n = pwrite(mfd, data + 1 + off, size - 1 - off, (off_t)off);
		if (n <= 0)
			abort();
		off += (size_t)n;
	}
	memset(&o, 0, sizeof(o));
	o.allow_unsigned = !(data[0] & 4);
	o.head_only = data[0] & 1;
	o.now = 1767225600; /* 2026-01-01: fixed, so runs repeat */
	memset(&d, 0, sizeof(d));
	d.want = !(data[0] & 2);
	d.ranged_mode = (data[0] & 8) != 0;
	o.ranged_min = 1; /* offer every non-empty entry: fuzz inputs are small */
	memset(&s, 0, sizeof(s));
	s.ctx = &d;
	s.head = d_head;
	s.begin = d_begin;
	s.data = d_data;
	s.end = d_end;
	s.finish = d_finish;
	if (d.ranged_mode)
		s.drain = d_drain;
	rc = bundle_read(mpath, &o, &s, &h, &rep, &e);
	if (rc != FX_OK && e.msg[0] == '\0')
		abort(); /* every failure names its reason */
	if (rc == FX_OK && !o.head_only && (rep.entries_bad || rep.missing || rep.extra))
		abort(); /* a bundle with problems never reads as good */
	if (d.begins != d.ends)
		abort();
	bundle_head_free(&h);
	if (d.ranged_mode) {
		/* The same bundle read through the stream must get the same verdict: an
		 * entry handed out by position was where the sink looked for it. */
		struct read_report rep2;
		struct ferr e2 = {0};
		int rc2;

		memset(&d, 0, sizeof(d));
		d.want = 1;
		s.drain = NULL;
		rc2 = bundle_read(mpath, &o, &s, &h, &rep2, &e2);
		bundle_head_free(&h);
		if (rc2 != rc)
			abort();
		/* entry counts are whole only when the read got to the end (a fatal error
		 * stops it wherever it is) */
		if ((rc == FX_OK || strstr(e.msg, "verification FAILED") != NULL) &&
		    (rep2.entries_ok != rep.entries_ok || rep2.entries_bad != rep.entries_bad ||
		    rep2.missing != rep.missing || rep2.extra != rep.extra))
			abort();
		if (rc == FX_OK && rep2.bytes != rep.bytes)
			abort(); /* (a bad entry's bytes count only when they streamed) */
	}
	return 0;
}
