/* parts.h - split volumes: NAME.ferry.000, .001, ... listed with their SHA-256 in the
 * signed NAME.ferry.parts, so a bad or missing part is named before its data is used. */
#ifndef FERRY_PARTS_H
#define FERRY_PARTS_H

#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <sys/types.h>

#include "bundle/bundle.h"

struct parts {
	char **paths;                     /* every part, in order */
	unsigned char (*digests)[SHA256_LEN];
	size_t n;                         /* 0: not a split bundle */
	int is_signed;
	struct pgp_signer signer;
	uint64_t part_size;               /* of every part but the last (which may be shorter) */
	uint64_t total;                   /* of all of them: the joined bundle */
	/* each part is opened the first time a byte of it is read (parts_pread): a load
	 * that needs nothing of a part never opens it */
	int *fds;                         /* -1: not opened yet */
	pthread_mutex_t *mu;              /* guards fds */
};

/* Recognises a split bundle from the first part, the .parts file or the base name;
 * reads the list, checks its signature (with o->keyring; a missing .parts.asc is
 * refused unless o->allow_unsigned or o->head_only), checks that every part is there
 * and that all but the last have the same size. For a plain bundle, p->n = 0. */
int parts_open(const char *path, const struct read_opts *o, struct parts *p, struct ferr *e);
void parts_free(struct parts *p);
/* pread() on the parts joined: up to n bytes at off of the whole, never past the end
 * of the part that holds off (a short count there; 0 at the end of the bundle).
 * Thread-safe. -1 with errno set on an error, *failed the part's index. */
ssize_t parts_pread(const struct parts *p, void *buf, size_t n, uint64_t off, size_t *failed);
/* `verify --parts-only`: hashes every part against the signed list, naming each bad one. */
int parts_verify_all(const char *path, const struct read_opts *o, int quiet, struct ferr *e);

#endif
