/* test_bundle_write.c - the writer's head room (a streamed build): entries after the
 * room, one left as a hole that the caller fills with pwrite, the head put into the
 * room last; the reader must see an ordinary bundle. The same with the blob as an entry
 * of unknown size (bw_begin_entry: data first, header last). A hole never filled, a head
 * that does not fill its room and a room asked of a zstd bundle fail. The writer's
 * flusher puts a growing file on disk as it is written, and a flush that fails fails
 * the commit even though the final fsync succeeds. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bundle/bundle.h"
#include "bundle/sums.h"
#include "check.h"
#include "util/digest.h"

static char tmp[4096];

/* The writer's flusher calls fdatasync (bw_commit calls fsync): counted here, and made
 * to fail with EIO while fail_fdatasync is set. This definition takes the place of the
 * C library's in this program, the writer's object included. */
static atomic_int fdatasyncs, fail_fdatasync;

int fdatasync(int fd)
{
	atomic_fetch_add(&fdatasyncs, 1);
	if (atomic_load(&fail_fdatasync)) {
		errno = EIO;
		return -1;
	}
	return (int)syscall(SYS_fdatasync, fd);
}

/* write_streamed, once the hole is filled: 1: waits for the flusher to flush by
 * itself; 2: asks it to (bw_start_writeback) and waits. At most 10 s. */
static int flush_mode;

static int flushed_since(int before)
{
	struct timespec ms = {0, 1000000L};

	for (int i = 0; i < 10000; i++) {
		if (atomic_load(&fdatasyncs) > before)
			return 1;
		nanosleep(&ms, NULL);
	}
	return 0;
}

static const char yaml_fmt[] = "apiVersion: ferry/v1\nkind: Bundle\nmetadata: {name: t, version: '1'}\n"
                               "docs: [{path: docs/a.txt}]\nentries:\n  - {path: docs/a.txt, size: 5}\n"
                               "  - {path: files/blob, size: %zu}\n";

struct head {
	char *sums, *yaml;
	size_t sums_len, yaml_len;
};

/* SHA256SUMS and bundle.yaml for docs/a.txt ("hello") and files/blob (blob). */
static void make_head(const unsigned char *blob, size_t blob_len, struct head *h)
{
	struct sums sums;
	unsigned char d[SHA256_LEN];

	memset(&sums, 0, sizeof(sums));
	h->yaml = xasprintf(yaml_fmt, blob_len);
	h->yaml_len = strlen(h->yaml);
	sha256_buf(h->yaml, h->yaml_len, d);
	sums_add(&sums, BUNDLE_YAML, d);
	sha256_buf("hello", 5, d);
	sums_add(&sums, "docs/a.txt", d);
	sha256_buf(blob, blob_len, d);
	sums_add(&sums, "files/blob", d);
	sums_sort(&sums);
	h->sums = sums_format(&sums, &h->sums_len);
	sums_free(&sums);
}

/* Writes the bundle with the blob as a hole (filled unless fill is 0; fill 2: as an
 * entry of unknown size instead; fill 3: copied by bw_add_range from the middle of a
 * file) and the head put into room + extra bytes; the head's rc in *head_rc. */
static int write_streamed(const char *path, const unsigned char *blob, size_t blob_len, int fill, uint64_t extra,
    int *head_rc, struct ferr *e)
{
	struct bundle_writer *w = NULL;
	struct bw_opts o;
	struct head h;
	const char *names[2] = {BUNDLE_SUMS, BUNDLE_YAML}, *bufs[2];
	size_t lens[2];
	uint64_t off = 0;
	int rc;

	make_head(blob, blob_len, &h);
	memset(&o, 0, sizeof(o));
	o.force = 1;
	o.head_room = bw_entry_span(h.sums_len) + bw_entry_span(h.yaml_len) + extra;
	bufs[0] = h.sums, lens[0] = h.sums_len;
	bufs[1] = h.yaml, lens[1] = h.yaml_len;
	*head_rc = -1;
	if ((rc = bw_open(&w, path, &o, e)) != FX_OK)
		goto end;
	if (fill == 2) { /* the blob first, then an ordinary entry after it */
		uint64_t again;
		if ((rc = bw_begin_entry(w, &off, e)) != FX_OK)
			goto end;
		if (bw_begin_entry(w, &again, e) == FX_OK || write(bw_fd(w), blob, blob_len) != (ssize_t)blob_len) {
			rc = FX_IO; /* one entry at a time */
			goto end;
		}
		if ((rc = bw_end_entry(w, "files/blob", blob_len, e)) != FX_OK ||
		    (rc = bw_add_buf(w, "docs/a.txt", "hello", 5, e)) != FX_OK)
			goto end;
	} else if (fill == 3) { /* the blob lies at byte 1000 of a file, between other bytes */
		char *src = xasprintf("%s/range.src", tmp);
		unsigned char got[SHA256_LEN], want[SHA256_LEN], *back = xmalloc(blob_len + 1);
		FILE *f = fopen(src, "wb");
		int ok = f != NULL;
		for (size_t i = 0; ok && i < 1000; i++)
			ok = fputc('A', f) != EOF;
		ok = ok && fwrite(blob, 1, blob_len, f) == blob_len && fputs("trailing bytes", f) >= 0;
		if (f != NULL && fclose(f) != 0)
			ok = 0;
		CHECK(ok);
		sha256_buf(blob, blob_len, want);
		if ((rc = bw_add_buf(w, "docs/a.txt", "hello", 5, e)) == FX_OK)
			rc = bw_add_range(w, "files/blob", src, 1000, blob_len, NULL, got, &off, e);
		CHECK_MSG(rc == FX_OK && memcmp(got, want, SHA256_LEN) == 0, "bw_add_range: %s", e->msg);
		CHECK(pread(bw_fd(w), back, blob_len, (off_t)off) == (ssize_t)blob_len && memcmp(back, blob, blob_len) == 0);
		free(back);
		free(src);
		if (rc != FX_OK)
			goto end;
	} else if ((rc = bw_add_buf(w, "docs/a.txt", "hello", 5, e)) != FX_OK ||
	    (rc = bw_add_hole(w, "files/blob", blob_len, &off, e)) != FX_OK) {
		goto end;
	}
	if (fill == 1 && pwrite(bw_fd(w), blob, blob_len, (off_t)off) != (ssize_t)blob_len) {
		rc = FX_IO;
		goto end;
	}
	if (flush_mode != 0) {
		int before = atomic_load(&fdatasyncs);
		if (flush_mode == 2)
			bw_start_writeback(w);
		CHECK_MSG(flushed_since(before), "no flush within 10 s (mode %d)", flush_mode);
	}
	if ((rc = *head_rc = bw_put_head(w, names, bufs, lens, 2, e)) != FX_OK)
		goto end;
	rc = bw_commit(w, e);
end:
	bw_free(w);
	free(h.sums);
	free(h.yaml);
	return rc;
}

static int verify(const char *path, struct read_report *rep)
{
	struct read_opts ro;
	struct bundle_head h;
	struct ferr e = {0, ""};
	int rc;

	memset(&ro, 0, sizeof(ro));
	memset(&h, 0, sizeof(h));
	memset(rep, 0, sizeof(*rep));
	ro.allow_unsigned = 1;
	rc = bundle_read(path, &ro, NULL, &h, rep, &e);
	bundle_head_free(&h);
	return rc;
}

static void test_hole_filled(void)
{
	char *path = xasprintf("%s/ok.ferry", tmp);
	unsigned char *blob = xmalloc(300000);
	struct read_report rep;
	struct ferr e = {0, ""};
	int head_rc;
	size_t i;

	for (i = 0; i < 300000; i++)
		blob[i] = (unsigned char)(i * 7 + 3);
	CHECK(write_streamed(path, blob, 300000, 1, 0, &head_rc, &e) == FX_OK);
	CHECK(verify(path, &rep) == FX_OK);
	CHECK_MSG(rep.entries_ok == 2 && rep.entries_bad == 0 && rep.missing == 0 && rep.extra == 0, "ok %zu bad %zu missing %zu extra %zu",
	    rep.entries_ok, rep.entries_bad, rep.missing, rep.extra);
	/* the same with a blob of 0 and of 1 byte (a hole with no block, one of one byte) */
	CHECK(write_streamed(path, blob, 0, 1, 0, &head_rc, &e) == FX_OK && verify(path, &rep) == FX_OK);
	CHECK(write_streamed(path, blob, 1, 1, 0, &head_rc, &e) == FX_OK && verify(path, &rep) == FX_OK);
	free(blob);
	free(path);
}

/* A byte range of a file as an entry: its data where *data_off says, got its sha256;
 * a range past the end of its file, or whose bytes are not the want given, fails. */
static void test_range(void)
{
	char *path = xasprintf("%s/range.ferry", tmp), *src = xasprintf("%s/short.src", tmp);
	unsigned char blob[70000], want[SHA256_LEN];
	struct bundle_writer *w = NULL;
	struct read_report rep;
	struct bw_opts o;
	struct ferr e = {0, ""};
	uint64_t off;
	int head_rc;
	size_t i;
	FILE *f;

	for (i = 0; i < sizeof(blob); i++)
		blob[i] = (unsigned char)(i * 13 + 1);
	CHECK(write_streamed(path, blob, sizeof(blob), 3, 0, &head_rc, &e) == FX_OK);
	CHECK(verify(path, &rep) == FX_OK && rep.entries_ok == 2 && rep.entries_bad == 0);
	CHECK((f = fopen(src, "wb")) != NULL && fwrite(blob, 1, 5000, f) == 5000 && fclose(f) == 0);
	memset(&o, 0, sizeof(o));
	o.force = 1;
	CHECK(bw_open(&w, path, &o, &e) == FX_OK);
	CHECK(bw_add_range(w, "files/a", src, 100, 5000, NULL, want, &off, &e) == FX_VERIFY);
	CHECK_MSG(strstr(e.msg, "ends inside files/a") != NULL, "%s", e.msg);
	bw_free(w); /* a writer whose entry failed is done */
	w = NULL;
	e = (struct ferr){0, ""};
	CHECK(bw_open(&w, path, &o, &e) == FX_OK);
	memset(want, 0, sizeof(want));
	CHECK(bw_add_range(w, "files/b", src, 100, 4900, want, NULL, NULL, &e) == FX_IO);
	CHECK_MSG(strstr(e.msg, "changed while the bundle was written") != NULL, "%s", e.msg);
	bw_free(w);
	free(src);
	free(path);
}

/* Entries of unknown size: 0 bytes, one block exactly, and padding; a name that needs
 * more than one header block is refused. */
static void test_entry_unknown_size(void)
{
	char *path = xasprintf("%s/entry.ferry", tmp);
	unsigned char *blob = xmalloc(300000);
	struct bundle_writer *w = NULL;
	struct bw_opts o;
	struct read_report rep;
	struct ferr e = {0, ""};
	char long_name[200];
	uint64_t off;
	int head_rc;
	size_t i, sizes[4] = {300000, 0, 512, 1};

	for (i = 0; i < 300000; i++)
		blob[i] = (unsigned char)(i * 13 + 1);
	for (i = 0; i < 4; i++) {
		CHECK_MSG(write_streamed(path, blob, sizes[i], 2, 0, &head_rc, &e) == FX_OK, "%zu: %s", sizes[i], e.msg);
		CHECK_MSG(verify(path, &rep) == FX_OK && rep.entries_ok == 2 && rep.extra == 0 && rep.missing == 0, "%zu bytes",
		    sizes[i]);
	}
	memset(&o, 0, sizeof(o));
	o.head_room = 1024;
	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	free(path);
	path = xasprintf("%s/long.ferry", tmp);
	CHECK(bw_open(&w, path, &o, &e) == FX_OK);
	CHECK(bw_end_entry(w, "files/x", 0, &e) != FX_OK); /* none open */
	CHECK(bw_begin_entry(w, &off, &e) == FX_OK && off == 1024 + 512);
	memset(&e, 0, sizeof(e));
	CHECK_MSG(bw_end_entry(w, long_name, 10, &e) != FX_OK && strstr(e.msg, "one block") != NULL, "%s", e.msg);
	bw_free(w);
	CHECK(access(path, F_OK) != 0);
	o.head_room = 0; /* only with room for the head */
	CHECK(bw_open(&w, path, &o, &e) == FX_OK && bw_begin_entry(w, &off, &e) != FX_OK);
	bw_free(w);
	free(blob);
	free(path);
}

static void test_hole_unfilled(void)
{
	char *path = xasprintf("%s/zeros.ferry", tmp);
	unsigned char blob[4096];
	struct read_report rep;
	struct ferr e = {0, ""};
	int head_rc;

	memset(blob, 'x', sizeof(blob));
	CHECK(write_streamed(path, blob, sizeof(blob), 0, 0, &head_rc, &e) == FX_OK);
	CHECK(verify(path, &rep) == FX_VERIFY); /* zeros where the blob should be */
	CHECK(rep.entries_bad == 1);
	free(path);
}

static void test_room_mismatch(void)
{
	char *path = xasprintf("%s/room.ferry", tmp);
	unsigned char blob[10] = "0123456789";
	struct bundle_writer *w = NULL;
	struct bw_opts o;
	struct ferr e = {0, ""};
	int head_rc;

	CHECK(write_streamed(path, blob, sizeof(blob), 1, 512, &head_rc, &e) == FX_IO && head_rc == FX_IO);
	CHECK_MSG(strstr(e.msg, "not the") != NULL, "%s", e.msg);
	CHECK(access(path, F_OK) != 0); /* nothing at the path */
	memset(&o, 0, sizeof(o));
	o.zstd = 1;
	o.head_room = 1024;
	CHECK(bw_open(&w, path, &o, &e) != FX_OK && w == NULL);
	o.zstd = 0;
	o.head_room = 1000; /* not a multiple of 512 */
	CHECK(bw_open(&w, path, &o, &e) != FX_OK && w == NULL);
	o.head_room = 0;
	CHECK(bw_open(&w, path, &o, &e) == FX_OK);
	{
		uint64_t off;
		CHECK(bw_add_hole(w, "files/x", 10, &off, &e) != FX_OK); /* no room: no holes */
	}
	bw_free(w);
	CHECK(access(path, F_OK) != 0);
	free(path);
}

/* 40 MiB filled into a hole: more than the flusher lets pass unflushed (32 MiB). */
static void test_flush(void)
{
	size_t n = 40u << 20, i;
	unsigned char *blob = xmalloc(n);
	char *path = xasprintf("%s/flushed.ferry", tmp);
	struct read_report rep;
	struct ferr e = {0, ""};
	int head_rc;

	for (i = 0; i < n; i++)
		blob[i] = (unsigned char)(i * 7 + 3);
	flush_mode = 1;
	CHECK_MSG(write_streamed(path, blob, n, 1, 0, &head_rc, &e) == FX_OK, "%s", e.msg);
	CHECK(verify(path, &rep) == FX_OK && rep.entries_ok == 2);
	unlink(path);
	/* a failed flush: the final fsync would succeed (the kernel reports a write error
	 * once), so the writer must keep the error and fail, leaving nothing at the path */
	atomic_store(&fail_fdatasync, 1);
	flush_mode = 2;
	memset(&e, 0, sizeof(e));
	CHECK(write_streamed(path, blob, 1000, 1, 0, &head_rc, &e) == FX_IO);
	CHECK_MSG(strstr(e.msg, "fsync") != NULL && strstr(e.msg, strerror(EIO)) != NULL, "%s", e.msg);
	CHECK(access(path, F_OK) != 0);
	atomic_store(&fail_fdatasync, 0);
	flush_mode = 0;
	free(path);
	free(blob);
}

int main(void)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	fx_progname = "test_bundle_write";
	snprintf(tmp, sizeof(tmp), "%s/ferry-test-bw.XXXXXX", base);
	if (mkdtemp(tmp) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_hole_filled();
	test_entry_unknown_size();
	test_hole_unfilled();
	test_room_mismatch();
	test_range();
	test_flush();
	rm_tree(tmp);
	return check_report("test_bundle_write");
}
