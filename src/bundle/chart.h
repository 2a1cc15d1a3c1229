/* chart.h - Helm chart archives: read and checked at pack, described as the OCI
 * artifact `helm push` makes (config, content and provenance layers, manifest), their
 * provenance files verified. */
#ifndef FERRY_CHART_H
#define FERRY_CHART_H

#include <stddef.h>
#include <stdint.h>

#include "util/digest.h"
#include "util/util.h"

#define CHART_ARCHIVE_MAX (16u << 20)  /* a chart's .tgz */
#define CHART_UNPACKED_MAX (64u << 20) /* what its members may add up to (a gzip bomb stops here) */
#define CHART_MEMBERS_MAX 10000
#define CHART_PROV_MAX (1u << 20)
#define CHART_TAG_MAX 129 /* a SemVer version (128 at most) as a tag, and its NUL */

#define CHART_CONFIG_MEDIA "application/vnd.cncf.helm.config.v1+json"
#define CHART_CONTENT_MEDIA "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
#define CHART_PROV_MEDIA "application/vnd.cncf.helm.chart.provenance.v1.prov"
#define CHART_MANIFEST_MEDIA "application/vnd.oci.image.manifest.v1+json"

struct chart_info {
	char *name, *version, *app_version, *description;
	char *config_json;      /* Helm's config blob: Chart.yaml as chart.Metadata marshals it */
	size_t config_len;
	char *annotations_json; /* the manifest annotations Helm sets, "created" left out */
};

/* Reads a chart archive at path: at most CHART_ARCHIVE_MAX bytes, gzip'd tar, every
 * member a plain file or directory under one top folder with a safe relative name,
 * members adding up to at most CHART_UNPACKED_MAX, <top>/Chart.yaml with a Helm name
 * and a SemVer 2 version. FX_USAGE naming path otherwise. */
int chart_inspect(const char *path, struct chart_info *ci, struct ferr *e);
void chart_info_free(struct chart_info *ci);

/* The OCI image manifest `helm push` writes for the chart: config, the content layer
 * (the .tgz), the provenance layer when prov_size > 0, and Helm's annotations with
 * org.opencontainers.image.created = created. */
char *chart_manifest_json(const struct chart_info *ci, const char *created, const char *tgz_digest,
    uint64_t tgz_size, const char *prov_digest, uint64_t prov_size, size_t *len);

/* Checks a Helm provenance file: clear-signed by a key of keyring (GPGME), its signed
 * body Helm's layout (chart metadata, "...", files:), naming tgz_base with the SHA-256
 * tgz_digest ("sha256:<hex>"), and its metadata the chart's name and version.
 * FX_VERIFY naming the chart when it does not; FX_IO when a file cannot be read. */
int chart_prov_verify(const char *prov_path, const char *keyring, const char *tgz_base, const char *tgz_digest,
    const char *name, const char *version, struct ferr *e);

/* Packs the chart directory dir as `helm package` does (chart_dir.c): writes
 * out_dir/NAME-VERSION.tgz (*out_path, malloc'd) with members NAME/..., sorted, each
 * with mtime and mode 0644, .helmignore honoured. Symbolic links and special files are
 * refused (FX_USAGE naming them); on failure nothing is left in out_dir. */
int chart_package_dir(const char *dir, const char *out_dir, int64_t mtime, char **out_path, struct ferr *e);

/* Helm's tag for a chart version: SemVer's '+' becomes '_' (OCI tags allow no '+'). */
void chart_tag(const char *version, char *tag, size_t size);

#endif
