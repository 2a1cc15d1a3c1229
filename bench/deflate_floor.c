/* deflate_floor.c - the deflate part of the pack floor (scripts/bench.sh, BENCH_BIG=1):
 * FILE deflated in 1 MiB blocks at ferry's gzip level (libdeflate, as
 * src/image/compress.c does) on THREADS threads, the output thrown away. Prints the
 * input and output sizes.
 *
 *   cc -O2 -o deflate_floor bench/deflate_floor.c -ldeflate -lpthread
 *   deflate_floor FILE THREADS
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libdeflate.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLOCK (1u << 20)
#define LEVEL 4 /* CZ_GZIP_LEVEL */
#define THREADS_MAX 64

struct worker {
	pthread_t tid;
	int fd;
	uint64_t size, first, step; /* blocks first, first + step, ... */
	uint64_t out_bytes;
	int failed;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	struct libdeflate_compressor *c = libdeflate_alloc_compressor(LEVEL);
	size_t outcap = libdeflate_gzip_compress_bound(NULL, BLOCK);
	unsigned char *in = malloc(BLOCK), *out = malloc(outcap);
	uint64_t b;

	if (c == NULL || in == NULL || out == NULL) {
		w->failed = 1;
		goto end;
	}
	for (b = w->first; b * BLOCK < w->size; b += w->step) {
		ssize_t r = pread(w->fd, in, BLOCK, (off_t)(b * BLOCK));
		if (r <= 0) {
			w->failed = 1;
			break;
		}
		w->out_bytes += libdeflate_gzip_compress(c, in, (size_t)r, out, outcap);
	}
end:
	libdeflate_free_compressor(c);
	free(in);
	free(out);
	return NULL;
}

int main(int argc, char **argv)
{
	struct worker w[THREADS_MAX];
	struct stat st;
	uint64_t out = 0;
	long n;
	int fd, i, failed = 0;

	if (argc != 3 || (n = strtol(argv[2], NULL, 10)) < 1 || n > THREADS_MAX) {
		fprintf(stderr, "usage: deflate_floor FILE THREADS (1-%d)\n", THREADS_MAX);
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "deflate_floor: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	memset(w, 0, sizeof(w));
	for (i = 0; i < n; i++) {
		w[i].fd = fd;
		w[i].size = (uint64_t)st.st_size;
		w[i].first = (uint64_t)i;
		w[i].step = (uint64_t)n;
		if (pthread_create(&w[i].tid, NULL, work, &w[i]) != 0) {
			fprintf(stderr, "deflate_floor: cannot start a thread\n");
			return 1;
		}
	}
	for (i = 0; i < n; i++) {
		pthread_join(w[i].tid, NULL);
		out += w[i].out_bytes;
		failed |= w[i].failed;
	}
	close(fd);
	if (failed) {
		fprintf(stderr, "deflate_floor: %s: read or memory error\n", argv[1]);
		return 1;
	}
	printf("%" PRIu64 " -> %" PRIu64 "\n", (uint64_t)st.st_size, out);
	return 0;
}
