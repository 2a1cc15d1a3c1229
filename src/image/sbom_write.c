/* sbom_write.c - SPDX 2.3 and CycloneDX 1.5 documents for one image, with jansson.
 *
 * Licences: distributions write their own short names (Debian "GPL-2+", "Expat",
 * "BSD-3-clause"; Alpine mostly SPDX already; older RPMs "GPLv2+"). SPDX wants SPDX
 * identifiers or LicenseRef-* names defined in the document, so each name is mapped
 * when the mapping is exact (a small table and the GNU family rule below), expressions
 * joined by and/or/with are mapped part by part, and anything else becomes a
 * LicenseRef-* whose extracted text is the distribution's own words. CycloneDX gets
 * the SPDX id where there is one and the distribution's name otherwise. */
#include "image/sbom_write.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "util/digest.h"

/* ---- licences */

static const struct {
	const char *name, *spdx;
} license_map[] = {
    {"Expat", "MIT"}, {"MIT", "MIT"}, {"MIT-0", "MIT-0"}, {"X11", "X11"}, {"0BSD", "0BSD"},
    {"BSD-1-clause", "BSD-1-Clause"}, {"BSD-2-clause", "BSD-2-Clause"}, {"BSD-3-clause", "BSD-3-Clause"},
    {"BSD-4-clause", "BSD-4-Clause"}, {"ISC", "ISC"}, {"Zlib", "Zlib"}, {"Apache-2", "Apache-2.0"},
    {"Apache-2.0", "Apache-2.0"}, {"Apache-1.1", "Apache-1.1"}, {"Apache-1.0", "Apache-1.0"},
    {"Artistic", "Artistic-1.0-Perl"}, {"Artistic-1.0", "Artistic-1.0"}, {"Artistic-2.0", "Artistic-2.0"},
    {"CC0", "CC0-1.0"}, {"CC0-1.0", "CC0-1.0"}, {"CC-BY-3.0", "CC-BY-3.0"}, {"CC-BY-4.0", "CC-BY-4.0"},
    {"CC-BY-SA-3.0", "CC-BY-SA-3.0"}, {"CC-BY-SA-4.0", "CC-BY-SA-4.0"}, {"MPL-1.1", "MPL-1.1"},
    {"MPL-2.0", "MPL-2.0"}, {"OpenSSL", "OpenSSL"}, {"curl", "curl"}, {"FSFAP", "FSFAP"}, {"FSFUL", "FSFUL"},
    {"FSFULLR", "FSFULLR"}, {"BSL-1.0", "BSL-1.0"}, {"W3C", "W3C"}, {"Python-2.0", "Python-2.0"},
    {"PSF-2", "PSF-2.0"}, {"PSF-2.0", "PSF-2.0"}, {"Unlicense", "Unlicense"}, {"WTFPL", "WTFPL"},
    {"Libpng", "Libpng"}, {"IJG", "IJG"}, {"Info-ZIP", "Info-ZIP"}, {"Sleepycat", "Sleepycat"},
    {"PostgreSQL", "PostgreSQL"}, {"NTP", "NTP"}, {"HPND", "HPND"}, {"TCL", "TCL"}, {"Ruby", "Ruby"},
    {"Vim", "Vim"}, {"OFL-1.1", "OFL-1.1"}, {"EPL-1.0", "EPL-1.0"}, {"EPL-2.0", "EPL-2.0"},
    {"CDDL-1.0", "CDDL-1.0"}, {"LPPL-1.3c", "LPPL-1.3c"}, {"Unicode-DFS-2016", "Unicode-DFS-2016"},
    {"bzip2-1.0.6", "bzip2-1.0.6"},
};

static const char *const license_exceptions[] = {"Classpath-exception-2.0", "GCC-exception-2.0",
    "GCC-exception-3.1", "Autoconf-exception-2.0", "Autoconf-exception-3.0", "LLVM-exception",
    "Linux-syscall-note", "Font-exception-2.0", "Bison-exception-2.2", "Libtool-exception"};

/* GNU licences: GPL-2, GPL-2+, GPL-2.0, GPL-2.0+, GPL-2.0-only, GPL-2.0-or-later, ... */
static const struct {
	const char *family, *version, *only, *later;
} gnu_licenses[] = {
    {"GPL", "1.0", "GPL-1.0-only", "GPL-1.0-or-later"}, {"GPL", "2.0", "GPL-2.0-only", "GPL-2.0-or-later"},
    {"GPL", "3.0", "GPL-3.0-only", "GPL-3.0-or-later"}, {"LGPL", "2.0", "LGPL-2.0-only", "LGPL-2.0-or-later"},
    {"LGPL", "2.1", "LGPL-2.1-only", "LGPL-2.1-or-later"}, {"LGPL", "3.0", "LGPL-3.0-only", "LGPL-3.0-or-later"},
    {"AGPL", "1.0", "AGPL-1.0-only", "AGPL-1.0-or-later"}, {"AGPL", "3.0", "AGPL-3.0-only", "AGPL-3.0-or-later"},
    {"GFDL", "1.1", "GFDL-1.1-only", "GFDL-1.1-or-later"}, {"GFDL", "1.2", "GFDL-1.2-only", "GFDL-1.2-or-later"},
    {"GFDL", "1.3", "GFDL-1.3-only", "GFDL-1.3-or-later"},
};

static const char *gnu_id(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(gnu_licenses) / sizeof(gnu_licenses[0]); i++) {
		size_t fl = strlen(gnu_licenses[i].family);
		const char *ver = s + fl + 1, *want = gnu_licenses[i].version, *rest;

		if (strncasecmp(s, gnu_licenses[i].family, fl) != 0 || s[fl] != '-')
			continue;
		if (strncmp(ver, want, 3) == 0)
			rest = ver + 3;
		else if (want[2] == '0' && ver[0] == want[0] && (ver[1] == '+' || ver[1] == '-' || ver[1] == '\0'))
			rest = ver + 1; /* "GPL-2" is GPL-2.0 */
		else
			continue;
		if (strcmp(rest, "") == 0 || strcmp(rest, "-only") == 0)
			return gnu_licenses[i].only;
		if (strcmp(rest, "+") == 0 || strcmp(rest, "-or-later") == 0)
			return gnu_licenses[i].later;
	}
	return NULL;
}

const char *sbom_spdx_id(const char *license)
{
	size_t i;

	for (i = 0; i < sizeof(license_map) / sizeof(license_map[0]); i++)
		if (strcasecmp(license, license_map[i].name) == 0)
			return license_map[i].spdx;
	return gnu_id(license);
}

/* LicenseRef-* names given out in one document, with the text each stands for. */
struct lic_refs {
	char **ids, **texts;
	size_t n;
};

static const char *lic_ref(struct lic_refs *r, const char *text)
{
	char *id;
	size_t i, k;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->texts[i], text) == 0)
			return r->ids[i];
	id = xasprintf("LicenseRef-%s", text);
	for (k = strlen("LicenseRef-"); id[k] != '\0'; k++)
		if (!isalnum((unsigned char)id[k]) && id[k] != '.' && id[k] != '-')
			id[k] = '-';
	for (i = 0, k = 1; i < r->n; i++)
		if (strcmp(r->ids[i], id) == 0) { /* two texts, one spelling: number it */
			char *again = xasprintf("%s-%zu", id, ++k);
			free(id);
			id = again;
			i = (size_t)-1;
		}
	r->ids = xreallocarray(r->ids, r->n + 1, sizeof(char *));
	r->texts = xreallocarray(r->texts, r->n + 1, sizeof(char *));
	r->ids[r->n] = id;
	r->texts[r->n] = xstrdup(text);
	return r->ids[r->n++];
}

static void lic_refs_free(struct lic_refs *r)
{
	strv_free_n(r->ids, r->n);
	strv_free_n(r->texts, r->n);
}

struct sbuf {
	char *s;
	size_t len;
};

static void sb_add(struct sbuf *b, const char *s)
{
	size_t n = strlen(s);

	b->s = xrealloc(b->s, b->len + n + 1);
	memcpy(b->s + b->len, s, n + 1);
	b->len += n;
}

static int is_exception(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(license_exceptions) / sizeof(license_exceptions[0]); i++)
		if (strcasecmp(s, license_exceptions[i]) == 0)
			return 1;
	return 0;
}

/* One licence text as an SPDX expression: "A or B and C", "A WITH X", parentheses; each
 * operand mapped or made a LicenseRef. Text that is not such an expression (commas,
 * "with OpenSSL exception" in prose) becomes one LicenseRef. *compound: an operator at
 * the top. */
static char *spdx_expression(const char *text, struct lic_refs *refs, int *compound)
{
	char *copy = xstrdup(text), *tok, *save = NULL;
	struct sbuf out = {NULL, 0};
	int want_operand = 1, depth = 0, ok = 1, after_with = 0;
	size_t ntok = 0, k;

	*compound = 0;
	/* parentheses are tokens of their own */
	for (k = 0; copy[k] != '\0'; k++)
		if (copy[k] == ',')
			ok = 0;
	{
		char *spaced = xmalloc(3 * strlen(copy) + 1);
		size_t o = 0;
		for (k = 0; copy[k] != '\0'; k++) {
			if (copy[k] == '(' || copy[k] == ')') {
				spaced[o++] = ' ';
				spaced[o++] = copy[k];
				spaced[o++] = ' ';
			} else {
				spaced[o++] = copy[k];
			}
		}
		spaced[o] = '\0';
		free(copy);
		copy = spaced;
	}
	for (tok = strtok_r(copy, " \t", &save); ok && tok != NULL; tok = strtok_r(NULL, " \t", &save)) {
		const char *add;
		ntok++;
		if (strcmp(tok, "(") == 0 && want_operand) {
			depth++;
			add = "(";
		} else if (strcmp(tok, ")") == 0 && !want_operand && depth > 0) {
			depth--;
			add = ")";
		} else if (!want_operand && (strcasecmp(tok, "and") == 0 || strcasecmp(tok, "or") == 0)) {
			add = strcasecmp(tok, "and") == 0 ? " AND " : " OR ";
			want_operand = 1;
			if (depth == 0)
				*compound = 1;
		} else if (!want_operand && !after_with && strcasecmp(tok, "with") == 0) {
			add = " WITH ";
			want_operand = 1;
			after_with = 1;
		} else if (want_operand && strcmp(tok, "(") != 0 && strcmp(tok, ")") != 0) {
			if (after_with && !is_exception(tok)) {
				ok = 0;
				break;
			}
			add = after_with ? tok : sbom_spdx_id(tok);
			if (add == NULL)
				add = lic_ref(refs, tok);
			want_operand = 0;
			after_with = 0;
		} else {
			ok = 0;
			break;
		}
		sb_add(&out, add);
	}
	if (!ok || want_operand || depth != 0 || ntok == 0) {
		free(out.s);
		out.s = xstrdup(lic_ref(refs, text));
		*compound = 0;
	}
	free(copy);
	return out.s;
}

/* A package's declared licence: its expressions joined with AND. */
static char *spdx_declared(const struct pkg *p, struct lic_refs *refs)
{
	struct sbuf out = {NULL, 0};
	size_t i;

	if (p->nlicenses == 0)
		return xstrdup("NOASSERTION");
	for (i = 0; i < p->nlicenses; i++) {
		int compound;
		char *x = spdx_expression(p->licenses[i], refs, &compound);
		if (i > 0)
			sb_add(&out, " AND ");
		if (compound && p->nlicenses > 1)
			sb_add(&out, "(");
		sb_add(&out, x);
		if (compound && p->nlicenses > 1)
			sb_add(&out, ")");
		free(x);
	}
	return out.s;
}

/* ---- JSON helpers */

/* s as valid UTF-8 (invalid bytes become U+FFFD): jansson takes nothing else, and a name
 * from a layer may be anything. */
json_t *json_text(const char *s)
{
	const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
	size_t n = strlen((const char *)p), i = 0, o = 0;
	char *buf;
	json_t *j;

	j = json_string((const char *)p);
	if (j != NULL)
		return j;
	buf = xmalloc(3 * n + 1);
	while (i < n) {
		size_t l = p[i] < 0x80 ? 1 : (p[i] & 0xe0) == 0xc0 ? 2 : (p[i] & 0xf0) == 0xe0 ? 3 :
		    (p[i] & 0xf8) == 0xf0 ? 4 : 0;
		size_t k;
		int valid = l > 0 && i + l <= n;
		for (k = 1; valid && k < l; k++)
			valid = (p[i + k] & 0xc0) == 0x80;
		if (valid && l > 1) {
			char tmp[5] = {0};
			memcpy(tmp, p + i, l);
			j = json_string(tmp); /* jansson's own check: overlong forms, surrogates */
			valid = j != NULL;
			json_decref(j);
		}
		if (valid) {
			memcpy(buf + o, p + i, l);
			o += l;
			i += l;
		} else {
			memcpy(buf + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	buf[o] = '\0';
	j = json_string(buf);
	free(buf);
	return j != NULL ? j : json_string("?");
}

static void set_str(json_t *o, const char *k, const char *v)
{
	json_object_set_new(o, k, json_text(v));
}

static json_t *prop(const char *name, const char *value)
{
	json_t *o = json_object();

	set_str(o, "name", name);
	set_str(o, "value", value);
	return o;
}

static int dump(json_t *root, char **out, size_t *len, struct ferr *e)
{
	char *text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);

	json_decref(root);
	if (text == NULL)
		return fe_set(e, FX_IO, "SBOM: cannot write JSON (out of memory)");
	*len = strlen(text);
	*out = xrealloc(text, *len + 2);
	(*out)[(*len)++] = '\n';
	(*out)[*len] = '\0';
	return FX_OK;
}

const char *sbom_status(const struct image_cat *c)
{
	if (c->uncatalogued)
		return "incomplete: a package database was found and not catalogued (see the notes)";
	if (c->ndatabases == 0)
		return "no package database found";
	return "complete";
}

/* pkg:oci/NAME@DIGEST?repository_url=REPO[&tag=TAG] for the image itself. */
static char *image_purl(const struct sbom_subject *s)
{
	const char *at = strrchr(s->ref, '@'), *slash, *colon;
	char *repo = at != NULL ? xstrndup(s->ref, (size_t)(at - s->ref)) : xstrdup(s->ref), *tag = NULL, *name, *p;
	char *ename, *edigest, *erepo, *etag, *out;

	slash = strrchr(repo, '/');
	colon = strrchr(repo, ':');
	if (colon != NULL && (slash == NULL || colon > slash)) {
		tag = xstrdup(colon + 1);
		repo[colon - repo] = '\0';
	}
	slash = strrchr(repo, '/');
	name = xstrdup(slash != NULL ? slash + 1 : repo);
	for (p = name; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	ename = purl_encode(name);
	edigest = purl_encode(s->digest);
	erepo = purl_encode(repo);
	etag = tag != NULL ? purl_encode(tag) : NULL;
	out = xasprintf("pkg:oci/%s@%s?repository_url=%s%s%s", ename, edigest, erepo, etag != NULL ? "&tag=" : "",
	    etag != NULL ? etag : "");
	free(ename);
	free(edigest);
	free(erepo);
	free(etag);
	free(repo);
	free(tag);
	free(name);
	return out;
}

/* ---- SPDX 2.3 */

static char *summary_comment(const struct sbom_subject *s, const struct image_cat *c)
{
	struct sbuf b = {NULL, 0};
	size_t i;

	sb_add(&b, "Installed OS packages of the image's final filesystem (all layers applied), catalogued by ferry");
	if (s->platform != NULL) {
		sb_add(&b, "; platform ");
		sb_add(&b, s->platform);
	}
	if (c->os.pretty_name != NULL) {
		sb_add(&b, "; OS ");
		sb_add(&b, c->os.pretty_name);
	}
	sb_add(&b, "; catalogue ");
	sb_add(&b, sbom_status(c));
	for (i = 0; i < c->ndatabases; i++) {
		sb_add(&b, "; package database ");
		sb_add(&b, c->databases[i]);
	}
	for (i = 0; i < c->nnotes; i++) {
		sb_add(&b, "; note: ");
		sb_add(&b, c->notes[i]);
	}
	return b.s;
}

static json_t *spdx_purl_ref(const char *purl)
{
	json_t *a = json_array(), *r = json_object();

	set_str(r, "referenceCategory", "PACKAGE-MANAGER");
	set_str(r, "referenceType", "purl");
	set_str(r, "referenceLocator", purl);
	json_array_append_new(a, r);
	return a;
}

static json_t *spdx_relationship(const char *from, const char *type, const char *to)
{
	json_t *r = json_object();

	set_str(r, "spdxElementId", from);
	set_str(r, "relationshipType", type);
	set_str(r, "relatedSpdxElement", to);
	return r;
}

static json_t *spdx_image_package(const struct sbom_subject *s, const struct image_cat *c)
{
	json_t *p = json_object();
	char *purl = image_purl(s), *comment = summary_comment(s, c);

	set_str(p, "SPDXID", "SPDXRef-Image");
	set_str(p, "name", s->ref);
	set_str(p, "versionInfo", s->digest);
	set_str(p, "downloadLocation", "NOASSERTION");
	json_object_set_new(p, "filesAnalyzed", json_false());
	set_str(p, "licenseConcluded", "NOASSERTION");
	set_str(p, "licenseDeclared", "NOASSERTION");
	set_str(p, "copyrightText", "NOASSERTION");
	set_str(p, "primaryPackagePurpose", "CONTAINER");
	set_str(p, "comment", comment);
	json_object_set_new(p, "externalRefs", spdx_purl_ref(purl));
	free(purl);
	free(comment);
	return p;
}

int sbom_write_spdx(const struct sbom_subject *s, const struct image_cat *c, char **out, size_t *len,
    struct ferr *e)
{
	json_t *root = json_object(), *ci = json_object(), *creators = json_array(), *pkgs = json_array();
	json_t *rels = json_array();
	struct lic_refs refs = {NULL, NULL, 0};
	char created[32], *ns, *name;
	const char *hex = strncmp(s->digest, "sha256:", 7) == 0 ? s->digest + 7 : s->digest;
	size_t i;

	fmt_time_utc(s->created, created);
	ns = xasprintf("https://ferry.invalid/sbom/sha256/%s", hex);
	name = s->platform != NULL ? xasprintf("%s (%s)", s->ref, s->platform) : xstrdup(s->ref);
	set_str(root, "spdxVersion", "SPDX-2.3");
	set_str(root, "dataLicense", "CC0-1.0");
	set_str(root, "SPDXID", "SPDXRef-DOCUMENT");
	set_str(root, "name", name);
	set_str(root, "documentNamespace", ns);
	if (c->ndatabases == 0 || c->uncatalogued)
		set_str(root, "comment", sbom_status(c));
	set_str(ci, "created", created);
	json_array_append_new(creators, json_text("Tool: ferry-" FERRY_VERSION));
	json_object_set_new(ci, "creators", creators);
	json_object_set_new(root, "creationInfo", ci);
	json_array_append_new(pkgs, spdx_image_package(s, c));
	json_array_append_new(rels, spdx_relationship("SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Image"));
	for (i = 0; i < c->pkgs.n; i++) {
		const struct pkg *p = &c->pkgs.v[i];
		json_t *o = json_object();
		char id[64], *declared = spdx_declared(p, &refs);

		snprintf(id, sizeof(id), "SPDXRef-Package-%s-%zu", pkg_kind_name(p->kind), i + 1);
		set_str(o, "SPDXID", id);
		set_str(o, "name", p->name);
		set_str(o, "versionInfo", p->version);
		set_str(o, "downloadLocation", "NOASSERTION");
		json_object_set_new(o, "filesAnalyzed", json_false());
		set_str(o, "licenseConcluded", "NOASSERTION");
		set_str(o, "licenseDeclared", declared);
		set_str(o, "copyrightText", "NOASSERTION");
		if (p->source != NULL) {
			char *src = xasprintf("built from source package %s%s%s", p->source,
			    p->source_version != NULL ? " " : "", p->source_version != NULL ? p->source_version : "");
			set_str(o, "sourceInfo", src);
			free(src);
		}
		json_object_set_new(o, "externalRefs", spdx_purl_ref(p->purl));
		json_array_append_new(pkgs, o);
		json_array_append_new(rels, spdx_relationship("SPDXRef-Image", "CONTAINS", id));
		free(declared);
	}
	json_object_set_new(root, "packages", pkgs);
	json_object_set_new(root, "relationships", rels);
	if (refs.n > 0) {
		json_t *x = json_array();
		for (i = 0; i < refs.n; i++) {
			json_t *o = json_object();
			char *text = xasprintf("The licence as the distribution names it: %s", refs.texts[i]);
			set_str(o, "licenseId", refs.ids[i]);
			set_str(o, "name", refs.texts[i]);
			set_str(o, "extractedText", text);
			json_array_append_new(x, o);
			free(text);
		}
		json_object_set_new(root, "hasExtractedLicensingInfos", x);
	}
	lic_refs_free(&refs);
	free(ns);
	free(name);
	return dump(root, out, len, e);
}

/* ---- CycloneDX 1.5 */

/* urn:uuid: of a version 8 (name-based, SHA-256) UUID of the image digest. */
static char *cdx_serial(const char *digest)
{
	unsigned char d[SHA256_LEN];
	char *in = xasprintf("ferry-sbom:%s", digest), h[SHA256_HEX];

	sha256_buf(in, strlen(in), d);
	free(in);
	d[6] = (unsigned char)((d[6] & 0x0f) | 0x80);
	d[8] = (unsigned char)((d[8] & 0x3f) | 0x80);
	hex_encode(d, 16, h);
	return xasprintf("urn:uuid:%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

static json_t *cdx_licenses(const struct pkg *p)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < p->nlicenses; i++) {
		json_t *l, *w;
		const char *id = sbom_spdx_id(p->licenses[i]);
		size_t k;
		int seen = 0;
		for (k = 0; id != NULL && k < i && !seen; k++)
			seen = sbom_spdx_id(p->licenses[k]) != NULL && strcmp(sbom_spdx_id(p->licenses[k]), id) == 0;
		if (seen)
			continue; /* "BSD-3-clause" and "BSD-3-Clause" are one licence */
		l = json_object();
		w = json_object();
		if (id != NULL)
			set_str(l, "id", id);
		else
			set_str(l, "name", p->licenses[i]);
		json_object_set_new(w, "license", l);
		json_array_append_new(a, w);
	}
	return a;
}

static json_t *cdx_metadata(const struct sbom_subject *s, const struct image_cat *c, const char *created)
{
	json_t *md = json_object(), *tools = json_object(), *tl = json_array(), *tool = json_object();
	json_t *comp = json_object(), *props = json_array();
	char *purl = image_purl(s);
	size_t i;

	set_str(md, "timestamp", created);
	set_str(tool, "type", "application");
	set_str(tool, "name", "ferry");
	set_str(tool, "version", FERRY_VERSION);
	json_array_append_new(tl, tool);
	json_object_set_new(tools, "components", tl);
	json_object_set_new(md, "tools", tools);
	set_str(comp, "type", "container");
	set_str(comp, "bom-ref", "image");
	set_str(comp, "name", s->ref);
	set_str(comp, "version", s->digest);
	set_str(comp, "purl", purl);
	json_object_set_new(md, "component", comp);
	if (s->platform != NULL)
		json_array_append_new(props, prop(SBOM_PROP_PLATFORM, s->platform));
	if (c->os.id != NULL)
		json_array_append_new(props, prop(SBOM_PROP_OS_ID, c->os.id));
	if (c->os.version_id != NULL)
		json_array_append_new(props, prop(SBOM_PROP_OS_VERSION, c->os.version_id));
	if (c->os.pretty_name != NULL)
		json_array_append_new(props, prop(SBOM_PROP_OS_PRETTY, c->os.pretty_name));
	json_array_append_new(props, prop(SBOM_PROP_STATUS, sbom_status(c)));
	for (i = 0; i < c->ndatabases; i++)
		json_array_append_new(props, prop(SBOM_PROP_DATABASE, c->databases[i]));
	for (i = 0; i < c->nnotes; i++)
		json_array_append_new(props, prop(SBOM_PROP_NOTE, c->notes[i]));
	json_object_set_new(md, "properties", props);
	free(purl);
	return md;
}

int sbom_write_cyclonedx(const struct sbom_subject *s, const struct image_cat *c, char **out, size_t *len,
    struct ferr *e)
{
	json_t *root = json_object(), *comps = json_array();
	char created[32], *serial = cdx_serial(s->digest);
	size_t i;

	fmt_time_utc(s->created, created);
	set_str(root, "bomFormat", "CycloneDX");
	set_str(root, "specVersion", "1.5");
	set_str(root, "serialNumber", serial);
	json_object_set_new(root, "version", json_integer(1));
	json_object_set_new(root, "metadata", cdx_metadata(s, c, created));
	if (c->os.id != NULL) {
		json_t *os = json_object();
		set_str(os, "type", "operating-system");
		set_str(os, "bom-ref", "os");
		set_str(os, "name", c->os.id);
		if (c->os.version_id != NULL)
			set_str(os, "version", c->os.version_id);
		if (c->os.pretty_name != NULL)
			set_str(os, "description", c->os.pretty_name);
		json_array_append_new(comps, os);
	}
	for (i = 0; i < c->pkgs.n; i++) {
		const struct pkg *p = &c->pkgs.v[i];
		json_t *o = json_object(), *props = json_array();
		char ref[64];

		snprintf(ref, sizeof(ref), "pkg-%zu", i + 1);
		set_str(o, "type", "library");
		set_str(o, "bom-ref", ref);
		set_str(o, "name", p->name);
		set_str(o, "version", p->version);
		if (p->nlicenses > 0)
			json_object_set_new(o, "licenses", cdx_licenses(p));
		set_str(o, "purl", p->purl);
		json_array_append_new(props, prop(SBOM_PROP_PKG_TYPE, pkg_kind_name(p->kind)));
		if (p->arch != NULL)
			json_array_append_new(props, prop(SBOM_PROP_ARCH, p->arch));
		if (p->source != NULL)
			json_array_append_new(props, prop(SBOM_PROP_SOURCE, p->source));
		json_object_set_new(o, "properties", props);
		json_array_append_new(comps, o);
	}
	json_object_set_new(root, "components", comps);
	free(serial);
	return dump(root, out, len, e);
}
