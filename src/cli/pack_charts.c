/* pack_charts.c - the charts of a spec made ready for a bundle (pack_charts.h). */
#include "cli/pack_charts.h"
#include "cli/chart_pull.h"

#include <stdlib.h>
#include <string.h>

static void digest_string(const unsigned char bytes[SHA256_LEN], char out[DIGEST_STR])
{
	char hex[SHA256_HEX];

	hex_encode(bytes, SHA256_LEN, hex);
	snprintf(out, DIGEST_STR, "sha256:%s", hex);
}

static int file_digest(const char *path, char out[DIGEST_STR], uint64_t *size, struct ferr *e)
{
	unsigned char bytes[SHA256_LEN];
	int rc = sha256_file(path, bytes, size, e);

	if (rc == FX_OK)
		digest_string(bytes, out);
	return rc;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s != NULL ? s + 1 : p;
}

/* One chart: read, provenance checked or carried, artifact described. */
static int prepare_one(const struct pack_opts *o, const struct spec_item *si, const char *created,
    const char *staging, struct chart_art *a, struct ferr *e)
{
	struct ferr why = {0, ""};
	unsigned char bytes[SHA256_LEN];
	int rc;

	a->src = si->src;
	a->prov_src = si->prov;
	if (si->chart_dir) {
		if ((rc = chart_package_dir(si->src, staging, o->created, &a->packaged, &why)) != FX_OK)
			return fe_set(e, rc, "%s: %s", si->where, why.msg);
		a->src = a->packaged;
		a->dest = xasprintf("charts/%s", base_name(a->packaged));
	} else if (si->chart_oci) {
		if ((rc = chart_pull(si->src, staging, o, &a->packaged, &a->pulled_prov, &why)) != FX_OK)
			return fe_set(e, rc, "%s: %s", si->where, why.msg);
		a->src = a->packaged;
		if (a->prov_src == NULL)
			a->prov_src = a->pulled_prov;
		a->dest = xasprintf("charts/%s", base_name(a->packaged));
	} else {
		a->dest = xstrdup(si->dest);
	}
	if ((rc = chart_inspect(a->src, &a->info, &why)) != FX_OK)
		return fe_set(e, rc, "%s: %s", si->where, why.msg);
	if (si->chart_oci) {
		/* as helm push's strict mode: the reference names the chart it holds */
		char *want = xasprintf("%s-%s.tgz", a->info.name, a->info.version);
		if (strcmp(want, base_name(a->src)) != 0)
			rc = fe_set(e, FX_VERIFY, "%s: %s holds chart %s %s, not the one its reference names", si->where,
			    ESC(si->src), ESC(a->info.name), ESC(a->info.version));
		free(want);
		if (rc != FX_OK)
			return rc;
	}
	if ((rc = file_digest(a->src, a->tgz_digest, &a->tgz_size, e)) != FX_OK)
		return rc;
	a->provenance = "none";
	if (a->prov_src == NULL) {
		if (o->require_chart_prov)
			return fe_set(e, FX_VERIFY, "%s: chart %s %s has no provenance file (%s.prov) and "
			    "--require-chart-provenance was given", si->where, ESC(a->info.name), ESC(a->info.version),
			    ESC(a->src));
	} else {
		a->prov_entry = xasprintf("%s.prov", a->dest);
		a->provenance = "unverified";
		if ((rc = file_digest(a->prov_src, a->prov_digest, &a->prov_size, e)) != FX_OK)
			return rc;
		if (a->prov_size == 0 || a->prov_size > CHART_PROV_MAX)
			return fe_set(e, FX_USAGE, "%s: %s: a provenance file of 1 byte to 1 MiB is expected", si->where,
			    ESC(a->prov_src));
		if (o->chart_keyring != NULL) {
			if ((rc = chart_prov_verify(a->prov_src, o->chart_keyring, base_name(a->src), a->tgz_digest,
			    a->info.name, a->info.version, &why)) != FX_OK)
				return fe_set(e, rc, "%s: %s", si->where, why.msg);
			a->provenance = "verified";
		}
	}
	if (o->require_chart_prov && o->chart_keyring == NULL)
		fx_warn("%s: chart %s %s: provenance carried, not verified (no --chart-keyring)", si->where,
		    ESC(a->info.name), ESC(a->info.version));
	sha256_buf(a->info.config_json, a->info.config_len, bytes);
	digest_string(bytes, a->config_digest);
	a->manifest_json = chart_manifest_json(&a->info, created, a->tgz_digest, a->tgz_size, a->prov_digest,
	    a->prov_size, &a->manifest_len);
	sha256_buf(a->manifest_json, a->manifest_len, bytes);
	digest_string(bytes, a->manifest_digest);
	return FX_OK;
}

int pack_charts_prepare(const struct pack_opts *o, const struct spec *s, const char *created, const char *staging,
    struct chart_art **arts, struct ferr *e)
{
	size_t i;
	int rc = FX_OK;

	*arts = xcalloc(s->ncharts ? s->ncharts : 1, sizeof(**arts));
	for (i = 0; i < s->ncharts && rc == FX_OK; i++)
		rc = prepare_one(o, &s->charts[i], created, staging, &(*arts)[i], e);
	return rc;
}

void pack_chart_describe(const struct chart_art *a, struct man_chart *c)
{
	size_t n = 0;

	c->name = xstrdup(a->info.name);
	c->version = xstrdup(a->info.version);
	c->path = xstrdup(a->dest);
	c->app_version = xstrdup_or_null(a->info.app_version);
	c->prov = xstrdup_or_null(a->prov_entry);
	c->provenance = xstrdup(a->provenance);
	c->digest = xstrdup(a->manifest_digest);
	c->blobs = xcalloc(4, sizeof(*c->blobs));
	c->blobs[n++] = xstrdup(a->config_digest);
	c->blobs[n++] = xstrdup(a->tgz_digest);
	if (a->prov_entry != NULL)
		c->blobs[n++] = xstrdup(a->prov_digest);
	c->blobs[n++] = xstrdup(a->manifest_digest);
	c->nblobs = n;
}

void pack_charts_free(struct chart_art *arts, size_t n)
{
	size_t i;

	for (i = 0; arts != NULL && i < n; i++) {
		chart_info_free(&arts[i].info);
		free(arts[i].prov_entry);
		free(arts[i].packaged);
		free(arts[i].pulled_prov);
		free(arts[i].dest);
		free(arts[i].manifest_json);
	}
	free(arts);
}
