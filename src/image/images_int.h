/* images_int.h - what the pack side of images shares inside src/image: the inputs and
 * their members (input.c), the staged blob set and the per-image summary (images.c),
 * OCI inputs (oci_input.c) and `docker save` conversion (convert.c). Not a public API:
 * callers use images.h. */
#ifndef FERRY_IMAGES_INT_H
#define FERRY_IMAGES_INT_H

#include <stddef.h>
#include <stdint.h>

#include "image/images.h"
#include "image/oci.h"

#define MAX_MEMBERS 200000 /* members of one input archive */
#define MAX_LINK_HOPS 8
#define LABEL_MAX 1200
#define RANGE_MIN ((uint64_t)1 << 20) /* a member this large is located, not staged */
/* JSON documents staged while a compressed archive is read (before anything says what
 * it references): more than this and the input is refused. */
#define JSON_STAGE_MAX ((uint64_t)64 << 20)

enum member_type { MEMBER_FILE = 1, MEMBER_LINK = 2 };

/* A file of an input: an archive member or a file of a layout directory. Its bytes are
 * in one of four places: a staged file (path), the layout file itself (path, directory
 * inputs), a byte range of an uncompressed archive (ranged), or still inside a
 * compressed archive (deferred: read by a second pass only if something references
 * it). */
struct member {
	char *name;
	enum member_type type;
	char *link;       /* MEMBER_LINK: archive name of the target */
	char *path;       /* where its bytes are now (NULL while deferred) */
	unsigned char digest[SHA256_LEN];
	uint64_t size;    /* from the tar header until the bytes are read */
	int moved;        /* path now belongs to a staged blob */
	int ranged;       /* bytes offset..offset+size-1 of the input archive at path, not
	                     yet hashed (digest unset); never unlinked */
	uint64_t offset;
	int claimed;      /* ranged, and digest is what its descriptor claims: a layer left
	                     where it lies (img_opts.blobs_in_place), checked as it is copied */
	int deferred;     /* not read: a compressed archive's member that is not JSON */
	int referenced;   /* a deferred member something references: read by the 2nd pass */
	uint64_t declared; /* the size a descriptor declares for it (0: none known) */
	int walked;       /* its references were marked (once: indexes may repeat it) */
	const struct pull_source *remote; /* a registry layer not fetched yet (path NULL) */
};

struct stage;

struct input {
	const char *label;        /* "where: path", escaped, for messages */
	struct stage *st;         /* where members are staged */
	char *dir;                /* layout directory, or NULL for an archive */
	char *archive;            /* archive file (NULL: a stream, or a directory) */
	struct member **members;  /* archive: sorted by name; directory: a cache. Each member
	                             is allocated on its own, so pointers to it stay valid. */
	size_t nmembers, cap;
	size_t ndeferred;
	char *upstream_index; /* a registry pull cut to platforms: the index it was cut from */
};

/* Configs and layers, or manifests and indexes, recorded for the bundle. */
struct blob_list {
	struct img_blob *v;
	size_t n, cap;
};

/* A converted legacy layer: diff_id to its compressed blob. */
struct converted_layer {
	unsigned char diff_id[SHA256_LEN];
	struct oci_desc desc;
};

/* A legacy layer to convert, queued while every input is read so that one pool
 * compresses the layers of all images (largest first). */
struct pending_layer {
	unsigned char diff_id[SHA256_LEN];
	struct member *src; /* the uncompressed layer, a member of some image's input */
	int src_staged;     /* src is a staged copy: removed once converted */
	char *out;          /* temporary compressed file */
	unsigned char digest[SHA256_LEN], in_digest[SHA256_LEN];
	uint64_t size;
	uint64_t out_off;   /* layers_out: where its data lies in the output */
	const char *image;  /* the image that queued it (for progress), and its number */
	size_t image_index;
};

struct stage {
	const struct img_opts *o;
	char *tmpdir, *blobdir;
	unsigned long serial;
	struct blob_list leaves;    /* configs and layers */
	struct blob_list manifests; /* manifests and indexes, after what they reference */
	struct converted_layer *converted;
	size_t nconverted;
	struct pending_layer *pending;
	size_t npending;
	struct pulled_blob *pulled; /* blobs pulled from registries so far (pull.c) */
	size_t npulled;
	struct pulled_layer *pulled_layers; /* their layers by diff_id, for docker saves */
	size_t npulled_layers;
	struct pull_source **sources; /* the registries pulled from (pull.c), for remote blobs */
	size_t nsources;
	/* layers_out: converted layers go to this stream, into the file at out_path */
	const struct cz_stream *out;
	const char *out_path;
	const char *image;  /* the image being read (first pass), for pending layers */
	size_t image_index, nimages;
};

/* What one image collects while it is staged. */
struct image_summary {
	char **blobs;
	size_t nblobs;
	char **manifests;
	size_t nmanifests;
	char **platforms;
	size_t nplatforms;
	uint64_t size;
	int layers;
	char *platform; /* single-manifest images: for index.json */
};

/* --- string vectors and the summary (images.c) --- */
void strv_push(char ***v, size_t *n, char *s);
int strv_has(char **v, size_t n, const char *s);
void strv_free(char **v, size_t n);
void summary_blob(struct image_summary *a, const char *hex, uint64_t size);
void summary_manifest(struct image_summary *a, const char *hex);
void summary_platform(struct image_summary *a, const char *platform);

/* --- the staged blob set (images.c) --- */
char *stage_tmp_path(struct stage *st);
struct img_blob *blob_find(struct stage *st, const unsigned char digest[SHA256_LEN]);
/* Takes a staged temporary file into list b (renamed to blobs/<hex>), or drops it when
 * the blob is already there; *final (optional) gets the blob's path. */
int stage_tmp(struct stage *st, struct blob_list *b, const char *tmp,
    const unsigned char digest[SHA256_LEN], uint64_t size, char **final, struct ferr *e);
/* Puts an input member into list b (archive: moved; directory: read in place). */
int stage_member(struct stage *st, struct input *in, struct blob_list *b, struct member *m,
    struct ferr *e);
/* Records a blob the caller's output already holds (layers_out) at offset off of path. */
int stage_written(struct stage *st, struct blob_list *b, const char *path, uint64_t off,
    const unsigned char digest[SHA256_LEN], uint64_t size, struct ferr *e);
/* Writes buf as a new blob of list b; digest gets its sha256. */
int stage_buf(struct stage *st, struct blob_list *b, const char *buf, size_t len,
    unsigned char digest[SHA256_LEN], struct ferr *e);

/* --- inputs (input.c) --- */
/* Reads an archive once (the file path, or fd when path is NULL). */
int input_read_archive(struct stage *st, struct input *in, const char *path, int fd,
    struct ferr *e);
/* docker-daemon:REF: reads the archive GET /images/get streams. */
int input_read_daemon(struct stage *st, struct input *in, const char *from, struct ferr *e);
/* The second pass over a compressed archive: stages every deferred member marked
 * referenced, each no larger than its declared size. */
int input_read_referenced(struct input *in, struct ferr *e);
/* A member by name (links followed inside an archive); NULL when missing. */
struct member *input_find(struct input *in, const char *name, struct ferr *e);
/* A member that must exist; ranged_ok: it may stay a byte range of the archive
 * (unhashed), else it is staged and hashed now. */
struct member *input_need(struct input *in, const char *name, int ranged_ok, struct ferr *e);
/* Copies a ranged member into the staging directory, hashing it. */
int member_stage_range(struct input *in, struct member *m, struct ferr *e);
/* Reads a small member (JSON) into memory; it must still have the digest seen. */
int member_read(struct input *in, struct member *m, char **buf, size_t *len, struct ferr *e);
/* Marks a deferred member for the second pass; declared: its size from a descriptor
 * (0 when none is known). A member declared with two sizes is an error. */
int member_reference(struct input *in, struct member *m, uint64_t declared, struct ferr *e);
void input_free(struct input *in);
/* A file its reader staged (a registry pull) as member name; takes path. Call
 * input_sort once every member is there. */
struct member *input_add_staged(struct input *in, const char *name, char *path,
    const unsigned char digest[SHA256_LEN], uint64_t size);
void input_sort(struct input *in);

struct sig_list;

/* --- OCI inputs (oci_input.c) --- */
/* A blob of an OCI input, checked against the descriptor that names it (size, then
 * digest) and staged for reading; NULL with e set. */
struct member *oci_blob(struct input *in, const struct oci_desc *d, struct ferr *e);
/* The same for a layer: with img_opts.blobs_in_place one that lies in an uncompressed
 * archive is not copied nor hashed here but claimed (member.claimed). */
struct member *oci_layer_blob(struct stage *st, struct input *in, const struct oci_desc *d, struct ferr *e);
/* Marks every deferred blob that index.json reaches, with its declared size. */
int oci_reference(struct input *in, struct ferr *e);
/* Stages the image tag (or ref) names in an OCI layout input; top gets its descriptor. */
int stage_oci(struct stage *st, struct input *in, const char *tag, const struct oci_ref *ref,
    const struct sig_list *sigs, struct image_summary *a, struct oci_desc *top, struct ferr *e);

/* --- cosign signatures in OCI inputs (oci_sigs.c) --- */
/* A manifest of index.json that is a cosign signature of the image subject. */
struct sig_found {
	struct oci_desc desc;
	const char *kind;          /* MAN_SIG_SIMPLE or MAN_SIG_BUNDLE */
	char subject[SHA256_HEX];  /* hex of the image it signs */
};
struct sig_list {
	struct sig_found *v;
	size_t n;
};
/* The signatures index.json lists: manifests tagged sha256-<hex>.sig, and manifests
 * whose descriptor has the sigstore bundle artifactType and whose subject is set. */
int oci_sigs_find(struct input *in, struct sig_list *out, struct ferr *e);
int sig_list_has(const struct sig_list *l, const unsigned char digest[SHA256_LEN]);
void sig_list_free(struct sig_list *l);
/* Stages the signatures of the image top from l (config, layers, then the manifest)
 * into mi->signatures; with key, one of them must verify (FX_VERIFY naming the image,
 * key_name and why otherwise). */
int oci_sigs_stage(struct stage *st, struct input *in, const struct sig_list *l, const struct oci_desc *top,
    const struct img_src *src, const char *full, struct man_image *mi, struct ferr *e);

/* --- cosign signatures of pulled images (cosign_fetch.c) --- */
struct reg_client;
struct http;
/* Fetches the signatures of the pulled image top from repo (the sha256-<hex>.sig tag,
 * the referrers API; 404: none) into in's members and adds them to the layout's
 * index.json (*index, replaced). label names the pull in messages. */
int cosign_fetch(struct reg_client *client, struct http *conn, const char *repo, const char *label, struct stage *st,
    struct input *in, const struct oci_desc *top, char **index, size_t *index_len, struct ferr *e);

/* --- docker save (convert.c) --- */
/* Marks every deferred config and layer manifest.json names. */
int docker_reference(struct input *in, struct ferr *e);
/* First pass over a docker save: queues each layer no earlier image converts. */
int docker_plan(struct stage *st, struct input *in, const char *tag, const struct oci_ref *ref,
    struct ferr *e);
/* Compresses every queued layer in one pool. */
int docker_convert(struct stage *st, struct ferr *e);
/* Second pass: stages a docker save image as an OCI manifest over converted layers. */
int stage_docker(struct stage *st, struct input *in, const char *tag, const struct oci_ref *ref,
    struct image_summary *a, struct oci_desc *top, struct ferr *e);
void stage_free_conversions(struct stage *st);

/* --- registries (pull.c) --- */
/* A blob pulled for an earlier image: a later one links to it instead of pulling again. */
struct pulled_blob {
	unsigned char digest[SHA256_LEN];
	char *path;
};
/* A compressed layer pulled from a registry and the diff_id its image's config gives
 * it: a docker save layer with that diff_id reuses it (once it is shown to decompress
 * to that diff_id) instead of being compressed again. */
struct pulled_layer {
	unsigned char diff_id[SHA256_LEN];
	struct oci_desc desc;
	char *path;  /* NULL while the layer is remote */
	struct member *member;    /* the pulled image's member holding it */
	struct pull_source *src;  /* where it is fetched from while remote */
	int checked; /* 1: it does decompress to diff_id, -1: it does not */
};
/* The registry layer with that diff_id, as a converted layer (checked now, once), or
 * NULL when there is none that decompresses to it. */
struct converted_layer *pull_layer_reuse(struct stage *st, const unsigned char diff_id[SHA256_LEN]);
#define PULL_JOBS_MAX 16 /* connections (and images read) at once from registries */
#define PULL_READS_MIN 8 /* images read at once (their manifests, configs, look-ups): latency, not CPU */

/* Is src pulled from a registry (no from:, or from: registry://...)? */
int pull_wanted(const struct img_src *src);
/* Pulls the image src names into in, as the members of an OCI layout (oci-layout,
 * index.json naming the one image, blobs/sha256/HEX): every manifest, index, config
 * and layer, each checked against its digest and size as it arrives. */
int input_read_registry(struct stage *st, struct input *in, const struct img_src *src, const struct oci_ref *ref,
    struct ferr *e);
/* input_read_registry in two steps, for images read at once on threads of their own:
 * pull_read touches only in and what is its own (its files are staged under names
 * stage_tmp_path gives out atomically, the list of pulled blobs is locked) and always
 * sets *pp; pull_finish, called for each in the spec's order on one thread, hands
 * the source to the stage and, if the read went well, offers its layers to the
 * docker saves (in that order: the first registry layer with a diff_id is the one
 * reused, whichever image arrived first). */
struct pull;
int pull_read(struct stage *st, struct input *in, const struct img_src *src, const struct oci_ref *ref,
    struct pull **pp, struct ferr *e);
void pull_finish(struct pull *p, int read_ok);
void pull_free(struct stage *st);
void pull_source_free(struct pull_source *src);

#endif
