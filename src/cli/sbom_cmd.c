/* sbom_cmd.c - `ferry-load sbom BUNDLE [--image REF] [--platform P] [--format F]`:
 * verifies the bundle like every other verb (one read; nothing is printed unless all of
 * it verified), then prints an image's SBOM as the signed SPDX or CycloneDX document,
 * or as a table whose every string is escaped for the terminal. */
#include "cli/sbom_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/audit.h"
#include "image/sbom.h"
#include "image/sbom_read.h"

/* One SBOM of the selection. */
struct pick {
	const char *ref;
	const struct audit_entry *spdx, *cdx;
	struct sbom_view view;
};

/* The SBOMs of the selected images (and platform), each with its CycloneDX view. */
static int select_sboms(const struct audit_bundle *a, const char *image, const char *platform, struct pick **out,
    size_t *nout, struct ferr *e)
{
	const struct manifest *m = &a->h.man;
	size_t i, k, found = 0;
	int rc = FX_OK;

	*out = NULL;
	*nout = 0;
	for (i = 0; i < m->nimages; i++) {
		const struct man_image *mi = &m->images[i];
		if (image != NULL && strcmp(mi->ref, image) != 0)
			continue;
		found++;
		for (k = 0; k < mi->nsboms; k++) {
			const char *path = mi->sboms[k], *suffix = strstr(path, SBOM_CDX_SUFFIX);
			const struct audit_entry *cdx = audit_entry(a, path), *spdx;
			struct pick *p;
			char *spdx_path, w[2 * ESC_MAX];

			if (suffix == NULL || suffix[strlen(SBOM_CDX_SUFFIX)] != '\0')
				continue;
			if (cdx == NULL)
				return fe_set(e, FX_VERIFY, "%s: %s: listed for image %s, but not in the bundle", ESC(a->path),
				    ESC(path), ESC(mi->ref));
			spdx_path = xasprintf("%.*s%s", (int)(suffix - path), path, SBOM_SPDX_SUFFIX);
			spdx = audit_entry(a, spdx_path);
			free(spdx_path);
			*out = xreallocarray(*out, *nout + 1, sizeof(**out));
			p = &(*out)[(*nout)++];
			memset(p, 0, sizeof(*p));
			p->ref = mi->ref;
			p->cdx = cdx;
			p->spdx = spdx;
			snprintf(w, sizeof(w), "%s: %s", ESC(a->path), ESC(path));
			if ((rc = sbom_view_parse(cdx->data, cdx->len, w, &p->view, e)) != FX_OK)
				return rc;
			if (platform != NULL && (p->view.platform == NULL || strcmp(p->view.platform, platform) != 0)) {
				sbom_view_free(&p->view);
				(*nout)--;
			}
		}
	}
	if (image != NULL && found == 0)
		return fe_set(e, FX_USAGE, "--image %s: no such image in the bundle", ESC(image));
	if (*nout == 0)
		return fe_set(e, FX_IO, "%s: no SBOM%s%s%s%s (packed with --no-sbom or by an older ferry-pack?)",
		    ESC(a->path), image ? " for image " : "", image ? ESC(image) : "", platform ? " platform " : "",
		    platform ? ESC(platform) : "");
	return FX_OK;
}

static int print_table(FILE *f, const struct pick *p, size_t n)
{
	size_t i, k, l;

	for (i = 0; i < n; i++) {
		const struct sbom_view *v = &p[i].view;
		int wn = 4, wv = 7, wa = 4;
		for (k = 0; k < v->pkgs.n; k++) {
			const struct pkg *x = &v->pkgs.v[k];
			int a = (int)strlen(ESC(x->name)), b = (int)strlen(ESC(x->version ? x->version : "")),
			    c = (int)strlen(ESC(x->arch ? x->arch : ""));
			wn = a > wn ? (a > 40 ? 40 : a) : wn;
			wv = b > wv ? (b > 40 ? 40 : b) : wv;
			wa = c > wa ? (c > 12 ? 12 : c) : wa;
		}
		fprintf(f, "%s%s  %s  %s\n", i > 0 ? "\n" : "", ESC(p[i].ref), v->platform ? ESC(v->platform) : "",
		    v->digest ? ESC(v->digest) : "");
		fprintf(f, "OS: %s; catalogue: %s", v->os_pretty ? ESC(v->os_pretty) : v->os_id ? ESC(v->os_id) : "unknown",
		    v->status ? ESC(v->status) : "unknown");
		for (k = 0; k < v->ndatabases; k++)
			fprintf(f, "%s%s", k == 0 ? " (" : ", ", ESC(v->databases[k]));
		fprintf(f, "%s; %zu packages\n", v->ndatabases ? ")" : "", v->pkgs.n);
		for (k = 0; k < v->nnotes; k++)
			fprintf(f, "NOTE: %s\n", ESC(v->notes[k]));
		if (v->pkgs.n == 0)
			continue;
		fprintf(f, "%-*s  %-*s  %-*s  %-4s  %s\n", wn, "NAME", wv, "VERSION", wa, "ARCH", "TYPE", "LICENCE");
		for (k = 0; k < v->pkgs.n; k++) {
			const struct pkg *x = &v->pkgs.v[k];
			fprintf(f, "%-*s  %-*s  %-*s  %-4s  ", wn, ESC(x->name), wv, ESC(x->version ? x->version : ""), wa,
			    ESC(x->arch ? x->arch : ""), pkg_kind_name(x->kind));
			for (l = 0; l < x->nlicenses; l++)
				fprintf(f, "%s%s", l ? ", " : "", ESC(x->licenses[l]));
			fprintf(f, "%s\n", x->nlicenses ? "" : "-");
		}
	}
	return FX_OK;
}

/* The signed document as it is, unless it holds bytes a terminal would act on: then the
 * same JSON with everything but printable ASCII escaped. */
static int print_document(FILE *f, const struct audit_entry *x, struct ferr *e)
{
	size_t i;
	int plain = 1;
	json_t *j;
	char *text;

	for (i = 0; i < x->len && plain; i++) {
		unsigned char c = (unsigned char)x->data[i];
		plain = (c >= 0x20 && c < 0x7f) || c == '\n' || c == '\t' || c == '\r';
	}
	if (plain) {
		fwrite(x->data, 1, x->len, f);
		return FX_OK;
	}
	j = json_loadb(x->data, x->len, 0, NULL);
	text = j != NULL ? json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII) : NULL;
	json_decref(j);
	if (text == NULL)
		return fe_set(e, FX_VERIFY, "%s: not JSON", ESC(x->path));
	fprintf(f, "%s\n", text);
	free(text);
	return FX_OK;
}

/* Prints what was selected: a table of every pick, or the one document asked for. */
static int print_picks(const char *bundle, const struct pick *picks, size_t npicks, enum sbom_print_format format,
    struct ferr *e)
{
	size_t i;

	if (format == SBOM_PRINT_TABLE)
		return print_table(stdout, picks, npicks);
	if (npicks > 1) {
		fprintf(stderr, "%s: sbom: %zu SBOMs match; choose one with --image and --platform:\n", fx_progname, npicks);
		for (i = 0; i < npicks; i++)
			fprintf(stderr, "  --image %s --platform %s\n", ESC(picks[i].ref),
			    picks[i].view.platform ? ESC(picks[i].view.platform) : "?");
		return FX_USAGE;
	}
	if (format == SBOM_PRINT_SPDX && picks[0].spdx == NULL)
		return fe_set(e, FX_IO, "%s: the SPDX document of image %s is missing", ESC(bundle), ESC(picks[0].ref));
	return print_document(stdout, format == SBOM_PRINT_SPDX ? picks[0].spdx : picks[0].cdx, e);
}

int sbom_print_run(const char *bundle, const struct read_opts *ro, const struct sbom_print_opts *o, struct ferr *e)
{
	struct audit_bundle a;
	struct pick *picks = NULL;
	size_t npicks = 0, i;
	int rc;

	memset(&a, 0, sizeof(a));
	audit_read(bundle, ro, AUDIT_KEEP_SBOMS, &a);
	if (a.rc != FX_OK) {
		*e = a.e;
		rc = a.rc;
		goto end;
	}
	if ((rc = select_sboms(&a, o->image, o->platform, &picks, &npicks, e)) != FX_OK)
		goto end;
	rc = print_picks(bundle, picks, npicks, o->format, e);
end:
	for (i = 0; i < npicks; i++)
		sbom_view_free(&picks[i].view);
	free(picks);
	audit_free(&a);
	return rc;
}
