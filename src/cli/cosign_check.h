/* cosign_check.h - `ferry-load verify|load --cosign-key`: the cosign signatures a
 * bundle carries, re-checked offline while the bundle is read. It keeps the small
 * signature blobs bundle.yaml lists as they stream past (only those whose entries
 * verified) and, once the stream is over, names every image none of whose signatures
 * verifies with the key. */
#ifndef FERRY_COSIGN_CHECK_H
#define FERRY_COSIGN_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "bundle/bundle.h"
#include "crypto/cosign.h"

struct cosign_check;

/* key stays the caller's; key_name is shown in messages. */
struct cosign_check *cosign_check_new(const struct cosign_key *key, const char *key_name);
void cosign_check_free(struct cosign_check *cc);
/* The bundle's description (kept by pointer: it must outlive cc's use). */
void cosign_check_head(struct cosign_check *cc, const struct manifest *m);
/* An entry starts: 1 when cc needs its bytes (a signature blob it can hold). */
int cosign_check_begin(struct cosign_check *cc, const char *name, uint64_t size);
void cosign_check_data(struct cosign_check *cc, const void *buf, size_t n);
/* ok: the entry verified against SHA256SUMS (else its bytes are dropped). */
void cosign_check_end(struct cosign_check *cc, int ok);
/* After the stream: why image i of the manifest fails (a message naming the key), or
 * NULL when one of its signatures verifies. The text lives as long as cc. */
const char *cosign_check_image(struct cosign_check *cc, size_t i);
/* The sink verify reads the bundle with (ctx: cc). */
void cosign_check_sink(struct cosign_check *cc, struct sink *s);

#endif
