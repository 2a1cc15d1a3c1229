/* test_compress.c - compress_files(): the block-parallel gzip is one member per block,
 * decompresses to its input with the right CRC-32 and ISIZE (zlib and gzip -t), gives
 * the same bytes for 1 and 4 threads (and for one job or many at once), stores random
 * blocks, zstd round trips, and a missing input fails naming it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "image/compress.h"
#include "util/digest.h"
#include "util/util.h"

static int failures;
static char tmp[256];

#include "check.h"

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t cap = 0, n = 0, r;

	if (f == NULL)
		return NULL;
	do {
		if (cap - n < 65536) {
			cap = cap ? cap * 2 : 1 << 20;
			buf = xrealloc(buf, cap);
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
	} while (r > 0);
	fclose(f);
	*len = n;
	return buf;
}

static void spit(const char *path, const unsigned char *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write_all(fd, buf, len) != 0)
		abort();
	close(fd);
}

/* Half text-like (compressible, with matches across block edges), half random. */
static unsigned char *make_input(size_t len, unsigned seed)
{
	unsigned char *b = xmalloc(len ? len : 1);
	static const char words[] = "ferry moves container images across an air gap; ";
	uint32_t x = seed * 2654435761u + 1;
	size_t i;

	for (i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		if ((i / 4096) % 3 == 2)
			b[i] = (unsigned char)(x >> 16);
		else
			b[i] = (unsigned char)words[(i + (i / 50000)) % (sizeof(words) - 1)];
	}
	return b;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Inflates every gzip member of a file, checking each header (deflate, no flags, mtime
 * 0) and, through zlib, each CRC-32 and ISIZE; returns the output (len in *olen) and
 * the number of members, or NULL. */
static unsigned char *gunzip(const unsigned char *gz, size_t gzlen, size_t *olen, size_t *members)
{
	z_stream zs;
	size_t cap = gzlen * 4 + 1024, n = 0;
	unsigned char *out = xmalloc(cap);
	int zr = Z_OK, bad = 0;

	*members = 0;
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 15 + 16) != Z_OK)
		abort();
	zs.next_in = (unsigned char *)(uintptr_t)gz;
	zs.avail_in = (uInt)gzlen;
	while (zs.avail_in > 0 && !bad) {
		const unsigned char *h = zs.next_in;
		if (zs.avail_in < 20 || h[0] != 0x1f || h[1] != 0x8b || h[2] != 8 || h[3] != 0 ||
		    le32(h + 4) != 0)
			bad = 1;
		do {
			if (cap - n < 65536) {
				cap *= 2;
				out = xrealloc(out, cap);
			}
			zs.next_out = out + n;
			zs.avail_out = (uInt)(cap - n);
			zr = inflate(&zs, Z_NO_FLUSH);
			n = cap - zs.avail_out;
		} while (zr == Z_OK);
		if (zr != Z_STREAM_END)
			bad = 1;
		(*members)++;
		inflateReset(&zs);
	}
	if (bad || *members == 0) {
		free(out);
		out = NULL;
	}
	inflateEnd(&zs);
	*olen = n;
	return out;
}

static int gzip_t(const char *path)
{
	char cmd[600];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "gzip -t '%s' 2>&1", path);
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	while (fgetc(p) != EOF)
		;
	return pclose(p);
}

/* Compresses every input in one call with the given threads; returns the outputs. */
static void run(const size_t *lens, size_t n, int threads, const char *tag,
    unsigned char **outs, size_t *outlens)
{
	struct cz_job *jobs = xcalloc(n, sizeof(*jobs));
	char **in = xcalloc(n, sizeof(*in)), **out = xcalloc(n, sizeof(*out));
	struct ferr e = {0, ""};
	size_t i;

	for (i = 0; i < n; i++) {
		in[i] = xasprintf("%s/in-%zu", tmp, lens[i]);
		out[i] = xasprintf("%s/out-%s-%zu", tmp, tag, i);
		unlink(out[i]);
		jobs[i].in = in[i];
		jobs[i].out = out[i];
	}
	CHECK(compress_files(jobs, n, CZ_GZIP, 0, threads, &e) == FX_OK);
	if (e.code != 0)
		fprintf(stderr, "compress_files: %s\n", e.msg);
	for (i = 0; i < n; i++) {
		unsigned char *src = make_input(lens[i], (unsigned)lens[i]), dg[SHA256_LEN];
		unsigned char *plain;
		size_t plen = 0, members = 0;

		outs[i] = slurp(out[i], &outlens[i]);
		CHECK(outs[i] != NULL);
		if (outs[i] == NULL) {
			free(src);
			continue;
		}
		/* What compress_files reports is what it wrote and read. */
		sha256_buf(outs[i], outlens[i], dg);
		CHECK(memcmp(dg, jobs[i].digest, SHA256_LEN) == 0);
		CHECK(jobs[i].size == outlens[i]);
		sha256_buf(src, lens[i], dg);
		CHECK(memcmp(dg, jobs[i].in_digest, SHA256_LEN) == 0);
		CHECK(jobs[i].in_size == lens[i]);
		/* One member per block (one for an empty input), each checked by zlib. */
		plain = gunzip(outs[i], outlens[i], &plen, &members);
		CHECK(plain != NULL && plen == lens[i] && (plen == 0 || memcmp(plain, src, plen) == 0));
		CHECK(members == (lens[i] == 0 ? 1 : (lens[i] + CZ_GZIP_BLOCK - 1) / CZ_GZIP_BLOCK));
		CHECK(gzip_t(out[i]) == 0);
		free(plain);
		free(src);
	}
	for (i = 0; i < n; i++) {
		free(in[i]);
		free(out[i]);
	}
	free(in);
	free(out);
	free(jobs);
}

static void test_gzip(void)
{
	const size_t B = CZ_GZIP_BLOCK;
	const size_t lens[] = {0, 1, B - 1, B, B + 1, 2 * B, 5 * B + 12345, 70000};
	const size_t n = sizeof(lens) / sizeof(lens[0]);
	unsigned char *o1[8], *o4[8], *s1[8], *s4[8];
	size_t l1[8], l4[8], sl1[8], sl4[8], i;

	for (i = 0; i < n; i++) {
		char *p = xasprintf("%s/in-%zu", tmp, lens[i]);
		unsigned char *src = make_input(lens[i], (unsigned)lens[i]);
		spit(p, src, lens[i]);
		free(src);
		free(p);
	}
	/* All at once (blocks of several jobs in flight together) and one by one. */
	run(lens, n, 1, "j1", o1, l1);
	run(lens, n, 4, "j4", o4, l4);
	for (i = 0; i < n; i++) {
		char t1[32], t4[32];
		snprintf(t1, sizeof(t1), "s1-%zu", i);
		snprintf(t4, sizeof(t4), "s4-%zu", i);
		run(&lens[i], 1, 1, t1, &s1[i], &sl1[i]);
		run(&lens[i], 1, 4, t4, &s4[i], &sl4[i]);
	}
	for (i = 0; i < n; i++) {
		int same = o1[i] != NULL && o4[i] != NULL && l1[i] == l4[i] && memcmp(o1[i], o4[i], l1[i]) == 0;
		if (!same)
			fprintf(stderr, "input of %zu bytes: jobs=1 and jobs=4 differ\n", lens[i]);
		CHECK(same);
		CHECK(s1[i] != NULL && s4[i] != NULL && sl1[i] == l1[i] && sl4[i] == l1[i] &&
		    memcmp(s1[i], o1[i], l1[i]) == 0 && memcmp(s4[i], o1[i], l1[i]) == 0);
		free(o1[i]);
		free(o4[i]);
		free(s1[i]);
		free(s4[i]);
	}
	/* A compressible input did shrink. */
	{
		size_t five = 5 * B + 12345, len = 0;
		char *p = xasprintf("%s/out-j1-6", tmp);
		unsigned char *gz = slurp(p, &len);
		CHECK(lens[6] == five && gz != NULL && len < five / 2);
		free(gz);
		free(p);
	}
}

/* compress_stream: every job's member bytes land at the offset its begin() gave, as
 * compress_files writes them (O_DIRECT pieces and page-cache ends alike), and nothing
 * is written between the jobs (where a tar header and padding go). */
struct fake_tar {
	int fd;
	uint64_t next;   /* where the next job's data starts */
	uint64_t off[8], size[8];
	size_t n;
};

static int fake_begin(void *ctx, const struct cz_job *j, int *fd, uint64_t *off, char *why, size_t whyl)
{
	struct fake_tar *t = ctx;

	(void)j;
	(void)why;
	(void)whyl;
	*fd = t->fd;
	*off = t->next;
	return 0;
}

static int fake_end(void *ctx, const struct cz_job *j, char *why, size_t whyl)
{
	struct fake_tar *t = ctx;

	(void)why;
	(void)whyl;
	if (t->n < 8) {
		t->off[t->n] = j->out_off;
		t->size[t->n] = j->size;
		t->n++;
	}
	/* padding to 512, then a header block: the next data is 512-aligned, rarely 4096 */
	t->next = j->out_off + (j->size + 511) / 512 * 512 + 512;
	return 0;
}

static void stream_in(const char *dir)
{
	const size_t B = CZ_GZIP_BLOCK;
	const size_t lens[] = {5 * B + 12345, 70000, 2 * B, 1, B + 1};
	const size_t n = sizeof(lens) / sizeof(lens[0]);
	struct cz_job jobs[5], ref[5];
	struct fake_tar t;
	struct cz_stream st;
	struct ferr e = {0, ""};
	char *path = xasprintf("%s/stream.out", dir), *in[5], *out[5];
	unsigned char *file;
	size_t flen = 0, i, k;

	memset(jobs, 0, sizeof(jobs));
	memset(ref, 0, sizeof(ref));
	memset(&t, 0, sizeof(t));
	t.fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(t.fd >= 0);
	t.next = 3 * 512;
	for (i = 0; i < n; i++) {
		in[i] = xasprintf("%s/in-%zu", tmp, lens[i]);
		out[i] = xasprintf("%s/ref-%zu", tmp, i);
		unlink(out[i]);
		jobs[i].in = ref[i].in = in[i];
		ref[i].out = out[i];
	}
	memset(&st, 0, sizeof(st));
	st.ctx = &t;
	st.begin = fake_begin;
	st.end = fake_end;
	CHECK(compress_files(ref, n, CZ_GZIP, 0, 2, &e) == FX_OK);
	CHECK(compress_stream(jobs, n, 0, 2, &st, &e) == FX_OK);
	if (e.code != 0)
		fprintf(stderr, "compress_stream into %s: %s\n", dir, e.msg);
	CHECK(t.n == n);
	close(t.fd);
	file = slurp(path, &flen);
	CHECK(file != NULL);
	for (i = 0; file != NULL && i < n; i++) {
		size_t rlen = 0;
		unsigned char *r = slurp(out[i], &rlen);
		int same = r != NULL && jobs[i].size == rlen && jobs[i].out_off + rlen <= flen &&
		    memcmp(file + jobs[i].out_off, r, rlen) == 0 && memcmp(jobs[i].digest, ref[i].digest, SHA256_LEN) == 0;
		if (!same)
			fprintf(stderr, "compress_stream into %s: job of %zu bytes differs from compress_files\n", dir, lens[i]);
		CHECK(same);
		free(r);
	}
	/* between the jobs (and before the first): zeros, never a byte of a member */
	for (i = 0; file != NULL && i < t.n; i++) {
		uint64_t from = i == 0 ? 0 : t.off[i - 1] + t.size[i - 1];
		int clean = 1;
		for (k = (size_t)from; k < t.off[i] && k < flen; k++)
			clean &= file[k] == 0;
		CHECK(clean);
	}
	CHECK(file == NULL || flen == t.off[t.n - 1] + t.size[t.n - 1]);
	free(file);
	for (i = 0; i < n; i++) {
		free(in[i]);
		free(out[i]);
	}
	unlink(path);
	free(path);
}

static void test_stream(void)
{
	char shm[] = "/dev/shm/test_compress.XXXXXX";

	stream_in(tmp); /* a disk file system: O_DIRECT pieces */
	if (mkdtemp(shm) != NULL) { /* tmpfs: O_DIRECT where the kernel has it for tmpfs */
		stream_in(shm);
		rm_tree(shm);
	}
	setenv("FERRY_DIRECT_IO", "0", 1); /* the page cache only, as without O_DIRECT */
	stream_in(tmp);
	unsetenv("FERRY_DIRECT_IO");
}

/* Random blocks come out stored (their bytes verbatim), text is still deflated:
 * 2 MiB random then 1 MiB of repeated text compress to just over 2 MiB,
 * and the round trip is exact. */
static void test_stored(void)
{
	const size_t B = CZ_GZIP_BLOCK, len = 3 * B;
	unsigned char *src = make_input(len, 3), *gz, *plain;
	char *in = xasprintf("%s/mixed", tmp), *out = xasprintf("%s/mixed.gz", tmp);
	struct cz_job j;
	struct ferr e = {0, ""};
	size_t gl = 0, pl = 0, members = 0, i;
	uint32_t x = 99;

	for (i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		src[i] = i < 2 * B ? (unsigned char)(x >> 16) : (unsigned char)"air gap ferry "[i % 14];
	}
	spit(in, src, len);
	memset(&j, 0, sizeof(j));
	j.in = in;
	j.out = out;
	CHECK(compress_files(&j, 1, CZ_GZIP, 0, 2, &e) == FX_OK);
	gz = slurp(out, &gl);
	CHECK(gz != NULL && gl > 2 * B && gl < 2 * B + 2 * B / 1000 + B / 20);
	/* Stored blocks: the first member holds the random bytes verbatim (after its
	 * 10-byte header and 5-byte stored-block header). */
	CHECK(gz != NULL && (gz[10] & 6) == 0 && memcmp(gz + 15, src, 1000) == 0);
	plain = gz ? gunzip(gz, gl, &pl, &members) : NULL;
	CHECK(plain != NULL && pl == len && memcmp(plain, src, len) == 0 && members == 3);
	CHECK(gzip_t(out) == 0);
	free(plain);
	free(gz);
	free(src);
	free(in);
	free(out);
}

static void test_zstd(void)
{
	const size_t len = 3 * CZ_GZIP_BLOCK + 7;
	unsigned char *src = make_input(len, 7), *z, *back;
	char *in = xasprintf("%s/zin", tmp), *out = xasprintf("%s/zout", tmp);
	struct cz_job j;
	struct ferr e = {0, ""};
	size_t zl = 0;

	memset(&j, 0, sizeof(j));
	spit(in, src, len);
	j.in = in;
	j.out = out;
	CHECK(compress_files(&j, 1, CZ_ZSTD, 0, 2, &e) == FX_OK);
	z = slurp(out, &zl);
	CHECK(z != NULL && j.size == zl && j.in_size == len);
	back = xmalloc(len);
	CHECK(z != NULL && ZSTD_decompress(back, len, z, zl) == len && memcmp(back, src, len) == 0);
	free(back);
	free(z);
	free(src);
	free(in);
	free(out);
}

static void test_errors(void)
{
	struct cz_job j[2];
	struct ferr e = {0, ""};
	char *good = xasprintf("%s/in-1", tmp), *missing = xasprintf("%s/no-such-layer", tmp);
	char *o1 = xasprintf("%s/err-out1", tmp), *o2 = xasprintf("%s/err-out2", tmp);

	memset(j, 0, sizeof(j));
	j[0].in = good;
	j[0].out = o1;
	j[1].in = missing;
	j[1].out = o2;
	CHECK(compress_files(j, 2, CZ_GZIP, 0, 2, &e) == FX_IO);
	CHECK(strstr(e.msg, "no-such-layer") != NULL);
	/* An existing output is never overwritten. */
	memset(&e, 0, sizeof(e));
	j[0].out = o1; /* may exist now */
	{
		int fd = open(o2, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		CHECK(fd >= 0);
		if (fd >= 0)
			close(fd);
	}
	j[0].out = o2;
	CHECK(compress_files(j, 1, CZ_GZIP, 0, 1, &e) == FX_IO);
	CHECK(strstr(e.msg, "in-1") != NULL);
	free(good);
	free(missing);
	free(o1);
	free(o2);
}

int main(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmp, sizeof(tmp), "%s/test_compress.XXXXXX", base ? base : "/tmp");
	if (mkdtemp(tmp) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_gzip();
	test_stream();
	test_stored();
	test_zstd();
	test_errors();
	rm_tree(tmp);
	if (failures) {
		fprintf(stderr, "test_compress: %d failure(s)\n", failures);
		return 1;
	}
	printf("test_compress: ok\n");
	return 0;
}
