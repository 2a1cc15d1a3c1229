/* inflate_floor.c - the floor under the SBOMs of compressed OCI layers (scripts/bench.sh,
 * rows sbom_floor and sbom_cpu): gzip layers inflated one after the other on one core with
 * ISA-L, as the SBOM catalogue does (src/image/layer_read.c), their bytes read in 256 KiB
 * pieces. With --sha256 the inflated bytes are hashed too, as the catalogue's diff_id
 * check does; the output is otherwise thrown away.
 *
 * One layer: a gzip stream is inflated from its start to its end, one byte after the
 * other, so the time of the largest layer is the least any SBOM of its image costs,
 * whatever the number of cores. Every layer with --sha256: the CPU time the SBOM pass
 * adds to a pack that only copies those layers, however it is scheduled.
 * Prints the compressed and the inflated sizes (sums over the layers).
 *
 *   cc -O2 -o inflate_floor bench/inflate_floor.c -lisal -lcrypto
 *   inflate_floor [--sha256] LAYER.gz...
 */
#include <fcntl.h>
#include <inttypes.h>
#include <isa-l/igzip_lib.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PIECE (256u << 10)

/* Inflates one layer into out (hashed into md when it is not NULL); 0 or 1 (message printed). */
static int inflate_one(const char *path, unsigned char *in, unsigned char *out, EVP_MD_CTX *md, uint64_t *in_bytes,
    uint64_t *out_bytes)
{
	struct inflate_state st;
	int fd, done = 0;

	if ((fd = open(path, O_RDONLY)) < 0) {
		perror(path);
		return 1;
	}
	isal_inflate_init(&st);
	st.crc_flag = ISAL_GZIP;
	if (md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		return 1;
	while (!done) {
		ssize_t r = read(fd, in, PIECE);
		if (r < 0) {
			perror(path);
			close(fd);
			return 1;
		}
		if (r == 0)
			break;
		*in_bytes += (uint64_t)r;
		st.next_in = in;
		st.avail_in = (uint32_t)r;
		while (st.avail_in > 0 && !done) {
			st.next_out = out;
			st.avail_out = PIECE;
			if (isal_inflate(&st) != ISAL_DECOMP_OK) {
				fprintf(stderr, "%s: not a gzip stream ISA-L inflates\n", path);
				close(fd);
				return 1;
			}
			*out_bytes += PIECE - st.avail_out;
			if (md != NULL && EVP_DigestUpdate(md, out, PIECE - st.avail_out) != 1)
				return 1;
			done = st.block_state == ISAL_BLOCK_FINISH;
		}
	}
	close(fd);
	if (!done) {
		fprintf(stderr, "%s: the gzip stream ends early\n", path);
		return 1;
	}
	if (md != NULL) {
		unsigned char digest[EVP_MAX_MD_SIZE];
		if (EVP_DigestFinal_ex(md, digest, NULL) != 1)
			return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned char *in = malloc(PIECE), *out = malloc(PIECE);
	EVP_MD_CTX *md = NULL;
	uint64_t in_bytes = 0, out_bytes = 0;
	int i = 1;

	if (argc > 1 && strcmp(argv[1], "--sha256") == 0) {
		md = EVP_MD_CTX_new();
		i++;
	}
	if (i >= argc || in == NULL || out == NULL || (i == 2 && md == NULL)) {
		fprintf(stderr, "usage: inflate_floor [--sha256] LAYER.gz...\n");
		return 2;
	}
	for (; i < argc; i++)
		if (inflate_one(argv[i], in, out, md, &in_bytes, &out_bytes) != 0)
			return 1;
	printf("%" PRIu64 " bytes in, %" PRIu64 " bytes out\n", in_bytes, out_bytes);
	EVP_MD_CTX_free(md);
	free(in);
	free(out);
	return 0;
}
