/* inflate_floor.c - the floor under the SBOMs of compressed OCI layers (scripts/bench.sh,
 * row sbom_floor): one gzip layer inflated on one core with ISA-L, as the SBOM catalogue
 * does (src/image/layer_read.c), its bytes read in 256 KiB pieces and the output thrown
 * away. A gzip stream is inflated from its start to its end, one byte after the other:
 * the time of its largest layer is the least any SBOM of an image costs, whatever the
 * number of cores. Prints the compressed and the inflated sizes.
 *
 *   cc -O2 -o inflate_floor bench/inflate_floor.c -lisal
 *   inflate_floor LAYER.gz
 */
#include <fcntl.h>
#include <inttypes.h>
#include <isa-l/igzip_lib.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define PIECE (256u << 10)

int main(int argc, char **argv)
{
	struct inflate_state st;
	unsigned char *in = malloc(PIECE), *out = malloc(PIECE);
	uint64_t in_bytes = 0, out_bytes = 0;
	int fd, done = 0;

	if (argc != 2 || in == NULL || out == NULL) {
		fprintf(stderr, "usage: inflate_floor LAYER.gz\n");
		return 2;
	}
	if ((fd = open(argv[1], O_RDONLY)) < 0) {
		perror(argv[1]);
		return 1;
	}
	isal_inflate_init(&st);
	st.crc_flag = ISAL_GZIP;
	while (!done) {
		ssize_t r = read(fd, in, PIECE);
		if (r < 0) {
			perror(argv[1]);
			return 1;
		}
		if (r == 0)
			break;
		in_bytes += (uint64_t)r;
		st.next_in = in;
		st.avail_in = (uint32_t)r;
		while (st.avail_in > 0 && !done) {
			st.next_out = out;
			st.avail_out = PIECE;
			if (isal_inflate(&st) != ISAL_DECOMP_OK) {
				fprintf(stderr, "%s: not a gzip stream ISA-L inflates\n", argv[1]);
				return 1;
			}
			out_bytes += PIECE - st.avail_out;
			done = st.block_state == ISAL_BLOCK_FINISH;
		}
	}
	close(fd);
	if (!done) {
		fprintf(stderr, "%s: the gzip stream ends early\n", argv[1]);
		return 1;
	}
	printf("%" PRIu64 " bytes in, %" PRIu64 " bytes out\n", in_bytes, out_bytes);
	free(in);
	free(out);
	return 0;
}
