/* oci.h - OCI image JSON: descriptors, manifests, indexes, configs, media types and
 * image references. Parsers take untrusted bytes and check every field they return;
 * writers are deterministic (fixed key order, compact). Shared by the pack side
 * (images.c) and the load side (registry, docker, oci:DIR sinks). */
#ifndef FERRY_OCI_H
#define FERRY_OCI_H

#include <stddef.h>
#include <stdint.h>

#include "util/digest.h"
#include "util/util.h"

#define OCI_MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_MT_INDEX "application/vnd.oci.image.index.v1+json"
#define OCI_MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define OCI_MT_LAYER "application/vnd.oci.image.layer.v1.tar"
#define OCI_MT_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define OCI_MT_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define DOCKER_MT_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define DOCKER_MT_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define DOCKER_MT_CONFIG "application/vnd.docker.container.image.v1+json"

#define OCI_ANNOT_REF_NAME "org.opencontainers.image.ref.name"
#define CONTAINERD_ANNOT_IMAGE_NAME "io.containerd.image.name"

/* Largest JSON document (manifest, index, config, manifest.json) ferry reads. */
#define OCI_JSON_MAX ((size_t)16 << 20)
/* Most descriptors in one manifest or index (docker allows 127 layers; indexes list
 * platforms): bounds the work a hostile document can ask for. */
#define OCI_MAX_DESCS 10000
/* Deepest chain of indexes pointing at indexes that is followed. */
#define OCI_MAX_DEPTH 4

/* A content descriptor. Only sha256 digests are accepted. */
struct oci_desc {
	char *media_type; /* NULL when the descriptor has none */
	unsigned char digest[SHA256_LEN];
	char hex[SHA256_HEX];
	uint64_t size;
	char *platform;   /* "os/arch[/variant]", or NULL */
	char *ref_name;   /* org.opencontainers.image.ref.name annotation, or NULL */
	char *image_name; /* io.containerd.image.name annotation, or NULL */
};

enum oci_kind { OCI_KIND_MANIFEST = 1, OCI_KIND_INDEX = 2 };

/* An image manifest (config + layers) or an image index (manifests). */
struct oci_doc {
	enum oci_kind kind;
	char *media_type;       /* the document's mediaType field, or NULL */
	struct oci_desc config; /* manifest only */
	struct oci_desc *descs; /* manifest: layers; index: manifests */
	size_t ndescs;
};

/* The parts of an image config that ferry needs. */
struct oci_config {
	char *os, *arch, *variant;          /* NULL when absent */
	int has_rootfs;
	unsigned char (*diff_ids)[SHA256_LEN]; /* rootfs.diff_ids, in order */
	size_t ndiff_ids;
};

/* A docker reference, split and normalised: domain "docker.io", repo "library/nginx". */
struct oci_ref {
	char *domain;
	char *repo;
	char *tag;    /* NULL when only a digest was given */
	char *digest; /* "sha256:<hex>", or NULL */
};

/* Media type helpers (NULL-safe). */
int oci_mt_is_manifest(const char *mt);
int oci_mt_is_index(const char *mt);
int oci_mt_is_config(const char *mt);

/* Parses a manifest or index. expect_mt is the media type of the descriptor that
 * pointed at the document (NULL when unknown): the document's own mediaType must not
 * contradict it. what names the document in errors. FX_VERIFY on any problem. */
int oci_doc_parse(const void *buf, size_t len, const char *expect_mt, const char *what,
    struct oci_doc *d, struct ferr *e);
void oci_doc_free(struct oci_doc *d);

/* Parses an image config's os/architecture/variant and rootfs.diff_ids. FX_VERIFY. */
int oci_config_parse(const void *buf, size_t len, const char *what, struct oci_config *c,
    struct ferr *e);
/* "os/arch[/variant]" of c, malloc'd, or NULL when os or arch is missing. */
char *oci_config_platform(const struct oci_config *c);
void oci_config_free(struct oci_config *c);

/* Checks an oci-layout file ({"imageLayoutVersion":"1.0.0"}). FX_VERIFY. */
int oci_layout_check(const void *buf, size_t len, const char *what, struct ferr *e);

/* An OCI image manifest for config and layers, deterministic and compact. The
 * descriptors' media_type, digest and size are written. Returns malloc'd text. */
char *oci_manifest_write(const struct oci_desc *config, const struct oci_desc *layers,
    size_t n, size_t *len);
/* An OCI image index (also index.json of a layout) listing d[0..n): mediaType, digest,
 * size, platform (when set) and the ref.name annotation (when set). Malloc'd text. */
char *oci_index_write(const struct oci_desc *d, size_t n, size_t *len);
void oci_desc_free(struct oci_desc *d);
void oci_desc_copy(struct oci_desc *dst, const struct oci_desc *src);

/* Parses and normalises a docker reference with ferry's one parser (net/ref.h: no
 * registry means docker.io, a docker.io name without a slash gets library/, "nginx:1"
 * becomes "docker.io/library/nginx:1"; a tag or a digest is required). FX_USAGE with
 * e naming what is wrong. */
int oci_ref_parse(const char *s, struct oci_ref *r, struct ferr *e);
/* The full form: domain/repo[:tag][@digest], malloc'd. */
char *oci_ref_string(const struct oci_ref *r);
void oci_ref_free(struct oci_ref *r);

#endif
