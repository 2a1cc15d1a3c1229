/* imagemap.h - the image map: where each image of a bundle landed on each target, with
 * its manifest digest (docs/loading.md, "Image map"). Written by `load --image-map
 * FILE`, printed by `inspect --image-map`, read by `rewrite --map`. */
#ifndef FERRY_IMAGEMAP_H
#define FERRY_IMAGEMAP_H

#include <stddef.h>
#include <stdio.h>

#include "bundle/bundle.h"
#include "cli/load.h"
#include "util/util.h"

#define IMAP_MAX (4u << 20) /* largest map file read */

enum imap_kind { IMAP_REGISTRY, IMAP_OCI, IMAP_DOCKER };

struct imap_entry {
	char *source;    /* the image's reference in the bundle */
	char *target;    /* the --to text */
	char *reference; /* where it landed, as the target names it */
	char *digest;    /* its manifest (or index) digest, sha256:<hex> */
	enum imap_kind kind;
};

struct imap {
	char *bundle_name, *bundle_version; /* NULL when not known */
	int keep_registry_host;             /* --keep-registry-host, for the names */
	const char *const *targets;         /* the --to texts (load only) */
	size_t ntargets;
	struct imap_entry *v;
	size_t n;
};

/* The kind of a --to text; -1 when it is none. */
int imap_kind_of(const char *target);
/* Where image mi lands on target (the --to text): registry HOST[:PORT]/REPO:TAG (REPO by
 * the registry target's own naming rule, reg_dest_repo; @DIGEST for an image without a
 * tag), oci:DIR:REF (skopeo's name for it: REF is the image's reference in the bundle),
 * docker: the tag the daemon gets. Malloc'd; NULL when it gets no name there. */
char *imap_landed(const char *target, int keep_host, const struct man_image *mi);
/* Adds mi as landed on target (nothing when it has no name there). */
void imap_add(struct imap *m, const char *target, const struct man_image *mi);

/* The map a load would make: every usable image of the load plan (target_plan_build
 * with sums, which may be NULL; those named by lo->images) on every lo->targets.
 * FX_USAGE when an --image is not in the bundle. */
int imap_plan(struct imap *m, const struct manifest *man, const struct sums *sums, const struct load_opts *lo,
    struct ferr *e);

/* `inspect --image-map`: prints (JSON) the map a load of the bundle whose head is h into
 * lo->targets would write; warns on stderr when the head was not verified. */
int imap_inspect_print(FILE *f, const char *bundle, const struct bundle_head *h, const struct load_opts *lo,
    struct ferr *e);

/* JSON (yaml: 0) or YAML text of the map, malloc'd. */
int imap_format(const struct imap *m, int yaml, char **out, size_t *len, struct ferr *e);
/* 1 when path ends in .yaml or .yml: the map is written and read as YAML, else JSON. */
int imap_path_is_yaml(const char *path);
/* Writes the map atomically (fx_write_file), replacing an older one. */
int imap_write(const struct imap *m, const char *path, struct ferr *e);

/* Reads a map (untrusted: size, schema, every reference and digest checked). FX_USAGE
 * naming the file and the entry when it is not a valid map, FX_IO when unreadable. */
int imap_read(const char *path, struct imap *m, struct ferr *e);
int imap_parse(const char *text, size_t len, int yaml, const char *file, struct imap *m, struct ferr *e);
void imap_free(struct imap *m);

/* `load --image-map PATH`: checks PATH can be written (its directory exists), loads,
 * then writes the map of the images that loaded (also after a partial failure). The
 * load's own result wins over a failure to write the map. */
int imap_load_run(const char *bundle, const struct read_opts *ro, struct load_opts *lo, const char *path,
    struct ferr *e);

#endif
