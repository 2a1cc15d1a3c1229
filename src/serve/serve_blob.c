/* serve_blob.c - a blob read back from its bundle file by position, one block at a
 * time, each block checked against the SHA-256 the verify read recorded for it: a file
 * changed under the server is caught before a wrong byte leaves. */
#include "serve/serve_int.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

int serve_file_unchanged(struct serve_file *f, char *why, size_t whysize)
{
	struct stat st, lst;
	const char *what = NULL;

	if (atomic_load(&f->changed)) {
		snprintf(why, whysize, "changed since it was verified");
		return 0;
	}
	if (fstat(f->fd, &st) != 0)
		what = "cannot be read any more";
	else if (st.st_size != f->size)
		what = "changed size since it was verified";
	else if (st.st_mtim.tv_sec != f->mtime.tv_sec || st.st_mtim.tv_nsec != f->mtime.tv_nsec)
		what = "was modified since it was verified (mtime)";
	else if (stat(f->path, &lst) != 0 || lst.st_dev != f->dev || lst.st_ino != f->ino)
		what = "was replaced or removed since it was verified (inode)";
	if (what == NULL)
		return 1;
	atomic_store(&f->changed, 1);
	snprintf(why, whysize, "%s", what);
	return 0;
}

int serve_read_block(struct serve_blob *b, uint64_t k, unsigned char *buf, size_t *len, const char **why)
{
	unsigned char got[SHA256_LEN];
	uint64_t start = k * SERVE_BLOCK;
	size_t n, done = 0;

	*len = 0;
	if (atomic_load(&b->bad)) {
		*why = "did not match its recorded hash earlier";
		return -1;
	}
	if (k >= b->nblocks || start >= b->size) {
		*why = "read past its end (internal error)";
		return -1;
	}
	n = (size_t)(b->size - start < SERVE_BLOCK ? b->size - start : SERVE_BLOCK);
	while (done < n) {
		ssize_t r = pread(b->file->fd, buf + done, n - done, (off_t)(b->off + start + done));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			*why = r < 0 ? "cannot be read from the bundle file" : "is cut short in the bundle file";
			atomic_store(&b->bad, 1);
			return -1;
		}
		done += (size_t)r;
	}
	sha256_buf(buf, n, got);
	if (CRYPTO_memcmp(got, b->blocks[k], SHA256_LEN) != 0) {
		*why = "changed in the bundle file since it was verified (block hash mismatch)";
		atomic_store(&b->bad, 1);
		return -1;
	}
	*len = n;
	return 0;
}
