/* lock.c - the lock file of ferry-pack build (lock.h): "REF sha256:HEX" lines, '#'
 * comments, references in their full form (docker.io/library/nginx:1.27). */
#include "cli/lock.h"

#include <stdlib.h>
#include <string.h>

#include "image/oci.h"
#include "util/digest.h"
#include "util/file.h"

int lock_write(const char *path, const struct manifest *m, struct ferr *e)
{
	char *text = xstrdup("# ferry-pack lock file: the digest of every image (ferry-pack build --locked FILE)\n");
	size_t i;
	int rc;

	for (i = 0; i < m->nimages; i++) {
		const struct man_image *im = &m->images[i];
		char *next = xasprintf("%s%s %s\n", text, im->ref, im->upstream_index ? im->upstream_index : im->digest);
		free(text);
		text = next;
	}
	rc = fx_write_file(path, text, strlen(text), 0644, 1, e);
	free(text);
	return rc;
}

/* The full form of a spec reference (as bundle.yaml and the lock file write it). */
static char *full_ref(const char *ref)
{
	struct oci_ref r;
	struct ferr ign = {0, ""};
	char *full;

	if (oci_ref_parse(ref, &r, &ign) != FX_OK)
		return NULL;
	full = oci_ref_string(&r);
	oci_ref_free(&r);
	return full;
}

int lock_apply(const char *path, struct spec *s, struct ferr *e)
{
	struct ferr read_err = {0, ""};
	char *text = NULL, *line, *next, *sp, **fulls = xcalloc(s->nimages + 1, sizeof(char *));
	size_t len = 0, i, lineno = 0;
	int rc;

	if ((rc = read_file_max(path, LOCK_FILE_MAX, &text, &len, &read_err)) != FX_OK) {
		rc = fe_set(e, FX_USAGE, "--locked: %s", read_err.msg);
		goto end;
	}
	for (i = 0; i < s->nimages; i++)
		fulls[i] = full_ref(s->images[i].ref);
	for (line = text; line != NULL && *line != '\0' && rc == FX_OK; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		lineno++;
		if (line[0] == '#' || line[0] == '\0')
			continue;
		sp = strchr(line, ' ');
		if (sp == NULL || !digest_valid(sp + 1)) {
			rc = fe_set(e, FX_USAGE, "%s:%zu: expected REF sha256:HEX", ESC(path), lineno);
			break;
		}
		*sp = '\0';
		for (i = 0; i < s->nimages && (fulls[i] == NULL || strcmp(fulls[i], line) != 0); i++)
			;
		if (i == s->nimages)
			rc = fe_set(e, FX_USAGE, "%s:%zu: %s is not an image of the spec", ESC(path), lineno, ESC(line));
		else if (s->images[i].locked != NULL)
			rc = fe_set(e, FX_USAGE, "%s:%zu: %s is locked twice", ESC(path), lineno, ESC(line));
		else
			s->images[i].locked = xstrdup(sp + 1);
	}
	for (i = 0; i < s->nimages && rc == FX_OK; i++)
		if (s->images[i].locked == NULL)
			rc = fe_set(e, FX_USAGE, "%s: image %s is not in %s", s->images[i].where, ESC(s->images[i].ref), ESC(path));
end:
	for (i = 0; i < s->nimages; i++)
		free(fulls[i]);
	free(fulls);
	free(text);
	return rc;
}
