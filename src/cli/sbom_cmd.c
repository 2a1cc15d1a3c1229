/* sbom_cmd.c - `ferry-load sbom BUNDLE [--image REF] [--platform P] [--format F]`:
 * verifies the bundle like every other verb (one read; nothing is printed unless all of
 * it verified), then prints an image's SBOM as the signed SPDX or CycloneDX document,
 * or as a table whose every string is escaped for the terminal. */
#include "cli/sbom_cmd.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli/audit.h"
#include "image/sbom.h"
#include "image/sbom_read.h"

static const char usage[] =
    "usage: ferry-load sbom BUNDLE --keyring KEYS.asc [--image REF] [--platform OS/ARCH]\n"
    "                            [--format spdx|cyclonedx|table]\n\n"
    "Verifies the bundle (every entry, as verify does), then prints the SBOM of an image:\n"
    "the installed OS packages of every platform, catalogued by ferry-pack.\n\n"
    "  --image REF            the image (as bundle.yaml names it; needed when there are several)\n"
    "  --platform OS/ARCH     the platform of a multi-platform image\n"
    "  --format F             spdx (SPDX 2.3 JSON, the default), cyclonedx (CycloneDX 1.5 JSON)\n"
    "                         or table (every image and platform selected)\n"
    "  --keyring KEYS.asc     trust only the OpenPGP public keys in this file (required)\n"
    "  --fingerprint FPR      and only a signer with this primary key fingerprint (repeatable)\n"
    "  --allow-unsigned       accept a bundle without a signature (its checksums are still checked)\n";

enum sbom_format { F_SPDX, F_CYCLONEDX, F_TABLE };

/* One SBOM of the selection. */
struct pick {
	const char *ref;
	const struct audit_entry *spdx, *cdx;
	struct sbom_view view;
};

static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: sbom: ", fx_progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage);
	return FX_USAGE;
}

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

int cmd_sbom(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"keyring", required_argument, NULL, AUDIT_O_KEYRING}, {"fingerprint", required_argument, NULL, AUDIT_O_FPR},
	    {"allow-unsigned", no_argument, NULL, AUDIT_O_UNSIGNED}, {"image", required_argument, NULL, 'i'},
	    {"platform", required_argument, NULL, 'p'}, {"format", required_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct read_opts ro;
	struct audit_bundle a;
	struct ferr e = {0, ""};
	struct pick *picks = NULL;
	size_t npicks = 0, i;
	const char *image = NULL, *platform = NULL;
	enum sbom_format format = F_SPDX;
	char msg[ESC_MAX + 128];
	int c, r, rc = FX_OK, have_read = 0;

	memset(&ro, 0, sizeof(ro));
	memset(&a, 0, sizeof(a));
	ro.now = (int64_t)time(NULL);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if ((r = audit_reader_opt(c, optarg, &ro, msg, sizeof(msg))) != 0) {
			if (r < 0) {
				rc = bad_usage("%s", msg);
				goto end;
			}
			continue;
		}
		switch (c) {
		case 'i': image = optarg; break;
		case 'p': platform = optarg; break;
		case 'f':
			if (strcmp(optarg, "spdx") == 0)
				format = F_SPDX;
			else if (strcmp(optarg, "cyclonedx") == 0)
				format = F_CYCLONEDX;
			else if (strcmp(optarg, "table") == 0)
				format = F_TABLE;
			else {
				rc = bad_usage("--format '%s': spdx, cyclonedx or table", ESC(optarg));
				goto end;
			}
			break;
		case 'h':
			fputs(usage, stdout);
			goto end;
		default:
			rc = bad_usage("unknown option or missing argument: %s", ESC(argv[optind - 1]));
			goto end;
		}
	}
	if (argc - optind != 1) {
		rc = bad_usage("%s", argc - optind == 0 ? "no BUNDLE given" : "give one BUNDLE only");
		goto end;
	}
	if (ro.keyring == NULL && !ro.allow_unsigned) {
		rc = bad_usage("%s", "--keyring KEYS.asc is required (the keys you trust)");
		goto end;
	}
	if (ro.nfingerprints > 0 && ro.keyring == NULL) {
		rc = bad_usage("%s", "--fingerprint needs --keyring");
		goto end;
	}
	audit_read(argv[optind], &ro, AUDIT_KEEP_SBOMS, &a);
	have_read = 1;
	if (a.rc != FX_OK) {
		e = a.e;
		rc = a.rc;
		goto end;
	}
	if ((rc = select_sboms(&a, image, platform, &picks, &npicks, &e)) != FX_OK)
		goto end;
	if (format == F_TABLE) {
		rc = print_table(stdout, picks, npicks);
	} else if (npicks > 1) {
		fprintf(stderr, "%s: sbom: %zu SBOMs match; choose one with --image and --platform:\n", fx_progname, npicks);
		for (i = 0; i < npicks; i++)
			fprintf(stderr, "  --image %s --platform %s\n", ESC(picks[i].ref),
			    picks[i].view.platform ? ESC(picks[i].view.platform) : "?");
		rc = FX_USAGE;
	} else if (format == F_SPDX && picks[0].spdx == NULL) {
		rc = fe_set(&e, FX_IO, "%s: the SPDX document of image %s is missing", ESC(argv[optind]), ESC(picks[0].ref));
	} else {
		rc = print_document(stdout, format == F_SPDX ? picks[0].spdx : picks[0].cdx, &e);
	}
	if (rc == FX_OK && fflush(stdout) != 0)
		rc = fe_set(&e, FX_IO, "stdout: %s", strerror(errno));
end:
	if (e.code != 0)
		fe_report(&e);
	for (i = 0; i < npicks; i++)
		sbom_view_free(&picks[i].view);
	free(picks);
	if (have_read)
		audit_free(&a);
	free(ro.fingerprints);
	return rc;
}
