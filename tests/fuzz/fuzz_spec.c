/* fuzz_spec.c - libFuzzer target for the BundleSpec reader (spec_load) and the Helm
 * chart reader (chart_inspect). The input is written as spec.yaml in a temp dir that
 * holds a few real files (so paths resolve and the duplicate checks are reached);
 * an input that starts like a gzip or tar archive goes to chart_inspect instead. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle/chart.h"
#include "bundle/spec.h"
#include "bundle/sums.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[256], spec_path[300], chart_path[300];

static void put(const char *name, const char *text)
{
	char p[400];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
}

static void cleanup(void)
{
	rm_tree(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	char sub[400];

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/ferry-fuzz-spec.XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		abort();
	atexit(cleanup);
	snprintf(spec_path, sizeof(spec_path), "%s/spec.yaml", dir);
	snprintf(chart_path, sizeof(chart_path), "%s/chart.tgz", dir);
	snprintf(sub, sizeof(sub), "%s/in", dir);
	if (mkdir(sub, 0755) != 0)
		abort();
	snprintf(sub, sizeof(sub), "%s/in/x", dir);
	if (mkdir(sub, 0755) != 0)
		abort();
	put("a.md", "doc\n");
	put("b.lic", "token\n");
	put("in/a.md", "doc\n");
	put("in/b.md", "doc2\n");
	put("in/x/a.md", "same\n");
	put("app.docker.tar", "not really an image\n");
	return 0;
}

static void write_input(const char *path, const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write_all(fd, data, size) != 0 || close(fd) != 0)
		abort();
}

static int is_archive(const uint8_t *data, size_t size)
{
	return (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) ||
	    (size >= 262 && memcmp(data + 257, "ustar", 5) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ferr e = {0};

	if (is_archive(data, size)) {
		struct chart_info ci;
		write_input(chart_path, data, size);
		if (chart_inspect(chart_path, &ci, &e) == FX_OK) {
			if (ci.name == NULL || ci.version == NULL || ci.config_json == NULL || ci.annotations_json == NULL)
				abort();
		} else if (e.msg[0] == '\0' || ci.name != NULL || ci.version != NULL) {
			abort();
		}
		chart_info_free(&ci);
	} else {
		struct spec s;
		size_t i;
		write_input(spec_path, data, size);
		if (spec_load(spec_path, 0, &s, &e) == FX_OK) {
			struct spec_item *lists[4] = {s.licenses, s.docs, s.charts, s.files};
			size_t counts[4] = {s.nlicenses, s.ndocs, s.ncharts, s.nfiles}, a;
			if (s.name == NULL || s.version == NULL)
				abort();
			/* every bundle path the spec produced is a valid entry name */
			for (a = 0; a < 4; a++)
				for (i = 0; i < counts[a]; i++)
					if ((lists[a][i].dest == NULL && !lists[a][i].chart_dir) || lists[a][i].src == NULL ||
					    (lists[a][i].dest != NULL && entry_name_problem(lists[a][i].dest) != NULL))
						abort();
			for (i = 0; i < s.nimages; i++) /* no from: is a pull by the ref */
				if (s.images[i].ref == NULL)
					abort();
			spec_free(&s);
		} else if (e.code != FX_USAGE || e.msg[0] == '\0') {
			abort(); /* spec problems are usage errors, with a reason */
		}
	}
	return 0;
}
