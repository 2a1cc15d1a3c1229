/* registry_upload.c - the worker side of the registry:// target: upload jobs, their
 * chunk queues, blobs read by position, upload sessions (start, PATCH, resume,
 * complete, cancel), cross-repository mounts and the worker threads. */
#include "target/registry_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

/* ---- the worker side */

void rg_job_push(struct reg *g, struct job *j, unsigned char *p, size_t n, int final, int ok)
{
	struct chunk *c = xcalloc(1, sizeof(*c));

	c->p = p;
	c->n = n;
	c->final = final;
	c->ok = ok;
	pthread_mutex_lock(&g->mu);
	while (!final && j->nchunks >= QDEPTH)
		pthread_cond_wait(&g->cv, &g->mu);
	if (j->chunks_tail != NULL)
		j->chunks_tail->next = c;
	else
		j->chunks_head = c;
	j->chunks_tail = c;
	j->nchunks++;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

static void ranged_report(struct job *j, int result, const char *why)
{
	if (!j->reported) {
		j->reported = 1;
		bundle_ranged_done(j->rg, result, why);
	}
}

/* Reads n bytes of a ranged blob at blob offset at; returns how many (fewer: the bundle
 * ended, or, with stoppable, an interrupt). Bytes past what was hashed so far are
 * hashed. */
static size_t range_pread(struct job *j, unsigned char *buf, size_t n, uint64_t at, int stoppable)
{
	size_t got = 0;

	while (got < n && !(stoppable && fx_interrupted)) {
		ssize_t r = bundle_pread(j->fd, j->parts, buf + got, n - got, j->off + at + got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (at <= j->hashed && at + got > j->hashed) {
		sha256_update(&j->h, buf + (j->hashed - at), (size_t)(at + got - j->hashed));
		j->hashed = at + got;
	}
	if (got < n)
		j->short_read = 1;
	return got;
}

/* Once the whole blob is hashed: tells the reader, and whether it matched. */
static int range_verdict(struct job *j)
{
	unsigned char d[SHA256_LEN];
	int ok;

	if (j->verdict >= 0)
		return j->verdict;
	if (j->short_read || j->hashed != j->b->size) {
		ranged_report(j, RANGED_BAD, fx_interrupted ? "interrupted" :
		    "the bundle ends inside it (damaged or truncated bundle)");
		return 0;
	}
	sha256_final(&j->h, d);
	ok = CRYPTO_memcmp(d, j->want, SHA256_LEN) == 0;
	ranged_report(j, ok ? RANGED_OK : RANGED_BAD, NULL);
	j->verdict = ok;
	return ok;
}

/* The next chunk of a ranged blob's unhashed rest (a dry run, or a failed upload that
 * still owes the reader its verdict): CHUNK bytes, the last one final, ok telling
 * whether the whole blob hashed to its signed digest. */
static struct chunk *range_next(struct job *j)
{
	struct chunk *c = xcalloc(1, sizeof(*c));
	uint64_t left = j->b->size - j->hashed;
	size_t n = left < CHUNK ? (size_t)left : CHUNK;

	c->p = xmalloc(n ? n : 1);
	if (!j->short_read)
		c->n = range_pread(j, c->p, n, j->hashed, 1);
	if (j->short_read || j->hashed == j->b->size) {
		c->final = 1;
		c->ok = range_verdict(j);
	}
	return c;
}

static struct chunk *queue_pop(struct reg *g, struct job *j)
{
	struct chunk *c;

	pthread_mutex_lock(&g->mu);
	while (j->chunks_head == NULL)
		pthread_cond_wait(&g->cv, &g->mu);
	c = j->chunks_head;
	j->chunks_head = c->next;
	if (j->chunks_head == NULL)
		j->chunks_tail = NULL;
	j->nchunks--;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
	return c;
}

/* The next chunk of a job's blob, from the reader's queue or read by position. */
static struct chunk *job_pop(struct reg *g, struct job *j)
{
	return j->ranged ? range_next(j) : queue_pop(g, j);
}

static void chunk_free(struct chunk *c)
{
	if (c != NULL) {
		free(c->p);
		free(c);
	}
}

/* Discards the rest of a job's bytes; returns whether the blob verified. */
static int job_drain(struct reg *g, struct job *j)
{
	for (;;) {
		struct chunk *c = job_pop(g, j);
		int fin = c->final, ok = c->ok;

		chunk_free(c);
		if (fin)
			return ok;
	}
}

void rg_set_state(struct reg *g, struct rblob *b, int state, const char *why)
{
	pthread_mutex_lock(&g->mu);
	b->state = state;
	if (why != NULL)
		fx_strlcpy(b->why, why, sizeof(b->why));
	pthread_mutex_unlock(&g->mu);
}

void rg_count(struct reg *g, size_t *ctr, uint64_t bytes)
{
	pthread_mutex_lock(&g->mu);
	(*ctr)++;
	g->bytes_push += bytes;
	pthread_mutex_unlock(&g->mu);
}

static void count_sent(struct reg *g, uint64_t n)
{
	pthread_mutex_lock(&g->mu);
	g->bytes_sent += n;
	pthread_mutex_unlock(&g->mu);
}

int rg_blob_present(struct reg *g, struct http *h, const char *repo, const struct rblob *b, struct ferr *e)
{
	return regc_blob_present(&g->client, h, repo, b->digest, b->size, e);
}

static void cancel_session(struct reg *g, struct http *h, const char *repo, const char *loc)
{
	struct regc_request rq = {.repo = repo, .http = {.method = "DELETE", .url = loc, .max_body = HTTP_ERRBODY_MAX}};
	struct http_resp rs;
	struct ferr e = {0, ""};

	if (loc != NULL) {
		regc_request(&g->client, h, &rq, &rs, &e);
		http_resp_free(&rs);
	}
}

static int new_location(struct reg *g, const struct http_resp *rs, char **loc, struct ferr *e)
{
	char *n = NULL;

	if (rs->location == NULL || reg_resolve_location(g->client.base, rs->location, &n) != 0)
		return fe_set(e, FX_TARGET, "%s: registry sent %s upload location", g->spec,
		    rs->location ? "an unacceptable" : "no");
	free(*loc);
	*loc = n;
	return FX_OK;
}

/* Opens an upload session in repo: *loc set (the old one, if any, is freed). */
static int start_session(struct reg *g, struct http *h, const char *repo, const char *digest, char **loc,
    struct ferr *e)
{
	char *url = xasprintf("%s/v2/%s/blobs/uploads/", g->client.base, repo);
	struct regc_request rq = {.repo = repo, .http = {.method = "POST", .url = url, .max_body = HTTP_ERRBODY_MAX}};
	struct http_resp rs;
	int rc;

	if ((rc = regc_request(&g->client, h, &rq, &rs, e)) != FX_OK)
		goto end;
	if (rs.status != 202) {
		rc = fe_set(e, FX_TARGET, "%s: %s: starting the upload of %s: HTTP %ld %s", g->spec, repo, digest,
		    rs.status, http_body_snippet(&rs));
		goto end;
	}
	rc = new_location(g, &rs, loc, e);
end:
	http_resp_free(&rs);
	free(url);
	return rc;
}

/* Asks an upload session how many bytes it holds (GET on its location: 204 and
 * Range 0-N): 0 with *next set and *loc updated, -1 when the session is gone or
 * does not say. */
static int session_offset(struct reg *g, struct http *h, const char *repo, char **loc, uint64_t *next)
{
	struct regc_request rq = {.repo = repo, .http = {.method = "GET", .url = *loc, .max_body = HTTP_ERRBODY_MAX}};
	struct http_resp rs;
	struct ferr e = {0, ""};
	int r = -1;

	if (regc_request(&g->client, h, &rq, &rs, &e) != FX_OK)
		goto end;
	if (rs.status != 204 && rs.status != 200)
		goto end;
	if (rs.range == NULL || reg_parse_range(rs.range, next) != 0)
		goto end;
	if (rs.location != NULL && new_location(g, &rs, loc, &e) != FX_OK)
		goto end;
	r = 0;
end:
	http_resp_free(&rs);
	return r;
}

#define RESYNC_MAX 3 /* session look-ups (and restarts) per chunk after a failed request */

/* Sends one chunk (bytes *off .. *off+c->n-1 of the blob) into the session at *loc. A
 * request that fails even after http_do's retries (a connection cut in the middle, an
 * error status) is followed by a look at the session: when it reports an offset within
 * the chunk, the rest of the chunk is sent from there; when it is gone and the chunk is
 * the blob's first, a new session starts over. Otherwise the earlier bytes are gone from
 * memory (the bundle streams) and the blob fails. */
static int send_chunk(struct reg *g, struct http *h, const char *repo, struct rblob *b, char **loc, uint64_t *off,
    const struct chunk *c, struct ferr *e)
{
	static const char *const octet_stream = "Content-Type: application/octet-stream";
	struct http_resp rs;
	struct ferr attempt_err = {0, ""};
	size_t from = 0;
	int tries = 0, rc = FX_OK;

	memset(&rs, 0, sizeof(rs));
	for (;;) {
		char range[80];
		const char *headers[3] = {octet_stream, range, NULL};
		struct regc_request rq = {.repo = repo, .http = {.method = "PATCH", .url = *loc, .headers = headers,
		    .body = c->p + from, .body_len = c->n - from, .max_body = HTTP_ERRBODY_MAX}};
		uint64_t next;

		snprintf(range, sizeof(range), "Content-Range: %llu-%llu", (unsigned long long)(*off + from),
		    (unsigned long long)(*off + c->n - 1));
		http_resp_free(&rs);
		attempt_err.code = 0;
		attempt_err.msg[0] = '\0';
		if (regc_request(&g->client, h, &rq, &rs, &attempt_err) == FX_OK) {
			if (rs.status == 202 && new_location(g, &rs, loc, &attempt_err) == FX_OK) {
				count_sent(g, c->n - from);
				*off += c->n;
				goto end;
			}
			if (attempt_err.code == 0)
				fe_set(&attempt_err, FX_TARGET, "%s: %s: uploading %s: HTTP %ld %s", g->spec, repo, b->digest, rs.status,
				    http_body_snippet(&rs));
		}
		if (regc_broken(&g->client) || fx_interrupted || ++tries > RESYNC_MAX)
			break;
		if (session_offset(g, h, repo, loc, &next) == 0 && next >= *off && next <= *off + c->n) {
			from = (size_t)(next - *off);
			fx_warn("%s: %s: resuming the upload of %s at byte %llu", g->spec, repo, b->digest,
			    (unsigned long long)next);
			if (from == c->n) { /* it all arrived, only the reply was lost */
				*off += c->n;
				goto end;
			}
			continue;
		}
		if (*off != 0)
			break;
		/* the first chunk: everything sent so far is still here, start over */
		cancel_session(g, h, repo, *loc);
		attempt_err.code = 0;
		attempt_err.msg[0] = '\0';
		if (start_session(g, h, repo, b->digest, loc, &attempt_err) != FX_OK)
			break;
		fx_warn("%s: %s: upload session of %s lost, starting it again", g->spec, repo, b->digest);
		from = 0;
	}
	rc = fe_set(e, FX_TARGET, "%s%s", attempt_err.msg,
	    *off != 0 ? " (the upload cannot be resumed here; running the load again resumes it)" : "");
end:
	http_resp_free(&rs);
	return rc;
}

/* Completes the session at *loc with the last chunk (PUT ?digest=), then makes sure the
 * registry really has the blob (HEAD): a registry may answer 201 and not have stored
 * it, or store it and lose the answer. A blob that fits in the last chunk whole is
 * sent again in a new session when that happens; a bigger one fails. */
static int complete_upload(struct reg *g, struct http *h, const char *repo, struct rblob *b, char **loc,
    uint64_t off, const struct chunk *c, struct ferr *e)
{
	static const char *const octet_stream[] = {"Content-Type: application/octet-stream", NULL};
	struct http_resp rs;
	struct ferr attempt_err = {0, ""};
	int attempt, rc = FX_OK;

	memset(&rs, 0, sizeof(rs));
	for (attempt = 0; attempt < 2; attempt++) {
		char *url = xasprintf("%s%sdigest=%s", *loc, strchr(*loc, '?') ? "&" : "?", b->digest);
		struct regc_request rq = {.repo = repo, .http = {.method = "PUT", .url = url, .headers = octet_stream, .body = c->p,
		    .body_len = c->n, .max_body = HTTP_ERRBODY_MAX}};
		struct ferr head_err = {0, ""};
		int sent, there;

		http_resp_free(&rs);
		attempt_err.code = 0;
		attempt_err.msg[0] = '\0';
		sent = regc_request(&g->client, h, &rq, &rs, &attempt_err) == FX_OK;
		free(url);
		if (sent && rs.status == 201 && rs.digest != NULL && strcmp(rs.digest, b->digest) != 0) {
			rc = fe_set(e, FX_TARGET, "%s: %s: registry stored %s as %s", g->spec, repo, b->digest, ESC(rs.digest));
			goto end;
		}
		if (sent && rs.status != 201)
			fe_set(&attempt_err, FX_TARGET, "%s: %s: completing the upload of %s: HTTP %ld %s", g->spec, repo, b->digest,
			    rs.status, http_body_snippet(&rs));
		there = rg_blob_present(g, h, repo, b, &head_err);
		if (there == 1) {
			if (!(sent && rs.status == 201))
				fx_warn("%s: %s: %s is in the registry after all", g->spec, repo, b->digest);
			count_sent(g, c->n);
			free(*loc);
			*loc = NULL; /* completed: nothing to cancel */
			goto end;
		}
		if (sent && rs.status == 201)
			fe_set(&attempt_err, FX_TARGET, "%s: %s: the registry answered 201 Created for %s but does not have it%s",
			    g->spec, repo, b->digest, there < 0 ? " (HEAD failed)" : "");
		if (off != 0 || regc_broken(&g->client) || fx_interrupted || attempt == 1)
			break;
		fx_warn("%s: %s: %s did not land, sending it again", g->spec, repo, b->digest);
		cancel_session(g, h, repo, *loc);
		if (start_session(g, h, repo, b->digest, loc, &attempt_err) != FX_OK)
			break;
	}
	rc = fe_set(e, FX_TARGET, "%s", attempt_err.msg[0] ? attempt_err.msg : "upload failed");
end:
	http_resp_free(&rs);
	return rc;
}

/* body_read of a ranged blob's PATCH: the body starts at blob offset *base. */
struct ranged_body {
	struct job *j;
	uint64_t base;
};

static size_t ranged_body_read(void *arg, void *buf, size_t n, uint64_t at)
{
	struct ranged_body *body = arg;

	/* not stopped by an interrupt: a PATCH cut off in the middle leaves Docker
	 * Distribution with bytes it no longer lets anyone delete; the segment ends first */
	return range_pread(body->j, buf, n, body->base + at, 0);
}

/* Uploads a blob the worker reads from the bundle itself: PATCH requests of SEGMENT
 * bytes stream it (hashed on the way, read with no buffer of its own), and the session
 * is completed (PUT ?digest=, no body) only when it hashed to its signed digest. The
 * bytes stay on disk, so a PATCH that fails even after http_do's retries is resumed
 * from where the session says it got, or, when the registry refuses the session, sent
 * again in a new one. *ok: the blob verified. */
static int upload_ranged(struct reg *g, struct http *h, struct job *j, const char *repo, int *ok, struct ferr *e)
{
	static const char *const octet_stream = "Content-Type: application/octet-stream";
	struct rblob *b = j->b;
	struct http_resp rs;
	struct ferr attempt_err = {0, ""};
	struct chunk none = {NULL, NULL, 0, 1, 1};
	char *loc = NULL;
	uint64_t have = 0; /* bytes the session holds */
	int tries = 0, rc;

	*ok = 0;
	memset(&rs, 0, sizeof(rs));
	/* A bundle cut short (a copy that did not finish) is found before any byte goes:
	 * a PATCH cut off for want of bytes would leave the registry a session it cannot
	 * delete. */
	if (j->bundle_size < j->off + b->size) {
		j->short_read = 1;
		rc = fe_set(e, FX_VERIFY, "the bundle ends inside the blob");
		goto end;
	}
	if ((rc = start_session(g, h, repo, b->digest, &loc, e)) != FX_OK)
		goto end;
	while (have < b->size && !fx_interrupted) {
		uint64_t end = b->size - have > SEGMENT ? have + SEGMENT : b->size;
		struct ranged_body body = {j, have};
		char range[80];
		const char *headers[3] = {octet_stream, range, NULL};
		struct regc_request rq = {.repo = repo, .http = {.method = "PATCH", .url = loc, .headers = headers,
		    .body_read = ranged_body_read, .body_arg = &body, .body_size = end - have, .max_body = HTTP_ERRBODY_MAX}};
		uint64_t next;

		/* Retried as usual (5xx, 429, connection errors): the body is read again from
		 * the same offset, and Content-Range makes the registry refuse it (416) rather
		 * than append it when it holds something else by then. */
		snprintf(range, sizeof(range), "Content-Range: %llu-%llu", (unsigned long long)have,
		    (unsigned long long)(end - 1));
		http_resp_free(&rs);
		attempt_err.code = 0;
		attempt_err.msg[0] = '\0';
		if (regc_request(&g->client, h, &rq, &rs, &attempt_err) == FX_OK) {
			if (rs.status == 202 && new_location(g, &rs, &loc, &attempt_err) == FX_OK) {
				count_sent(g, end - have);
				have = end;
				tries = 0;
				continue;
			}
			if (attempt_err.code == 0)
				fe_set(&attempt_err, FX_TARGET, "%s: %s: uploading %s: HTTP %ld %s", g->spec, repo, b->digest, rs.status,
				    http_body_snippet(&rs));
		}
		if (j->short_read || regc_broken(&g->client) || fx_interrupted || ++tries > RESYNC_MAX)
			break;
		/* "Range: 0-0" means one byte or none: not trusted, the session starts over */
		if (session_offset(g, h, repo, &loc, &next) == 0 && next > 1 && next <= j->hashed) {
			if (next != have)
				fx_warn("%s: %s: resuming the upload of %s at byte %llu", g->spec, repo, b->digest,
				    (unsigned long long)next);
			have = next;
			continue;
		}
		/* the session is gone or refuses to go on: a new one, from the start */
		cancel_session(g, h, repo, loc);
		attempt_err.code = 0;
		attempt_err.msg[0] = '\0';
		if (start_session(g, h, repo, b->digest, &loc, &attempt_err) != FX_OK)
			break;
		fx_warn("%s: %s: upload session of %s lost, starting it again", g->spec, repo, b->digest);
		have = 0;
	}
	if (have < b->size) {
		rc = fe_set(e, fx_interrupted ? FX_IO : FX_TARGET, "%s", fx_interrupted ? "interrupted" :
		    j->short_read ? "the bundle ends inside the blob" : attempt_err.msg[0] ? attempt_err.msg : "upload failed");
		goto end;
	}
	if (!range_verdict(j))
		goto end; /* cancelled below */
	if ((rc = complete_upload(g, h, repo, b, &loc, b->size, &none, e)) == FX_OK)
		*ok = 1;
end:
	http_resp_free(&rs);
	if (loc != NULL)
		cancel_session(g, h, repo, loc); /* failed or unverified: the session goes */
	free(loc);
	if (j->verdict < 0)
		job_drain(g, j); /* the reader is still owed the verdict: hash the rest */
	return rc;
}

/* Streams a job's bytes into a new upload session in repo; *ok: the blob verified. */
static int upload(struct reg *g, struct http *h, struct job *j, const char *repo, int *ok, struct ferr *e)
{
	struct rblob *b = j->b;
	char *loc = NULL;
	uint64_t off = 0;
	int rc, fin = 0;
	struct chunk *c = NULL;

	if (j->ranged)
		return upload_ranged(g, h, j, repo, ok, e);
	*ok = 0;
	if ((rc = start_session(g, h, repo, b->digest, &loc, e)) != FX_OK)
		goto end;
	for (;;) {
		c = job_pop(g, j);
		if (c->final) {
			fin = 1;
			if (!c->ok)
				goto end; /* cancelled below */
			if ((rc = complete_upload(g, h, repo, b, &loc, off, c, e)) == FX_OK)
				*ok = 1;
			goto end;
		}
		if ((rc = send_chunk(g, h, repo, b, &loc, &off, c, e)) != FX_OK)
			goto end;
		chunk_free(c);
		c = NULL;
	}
end:
	if (!fin) { /* an error before the end: the rest of the bytes still has to go */
		chunk_free(c);
		c = NULL;
		job_drain(g, j);
	}
	chunk_free(c);
	if (loc != NULL)
		cancel_session(g, h, repo, loc); /* failed or unverified: the session goes */
	free(loc);
	return rc;
}

int rg_mount(struct reg *g, struct http *h, const char *digest, const char *to, const char *from, struct ferr *e)
{
	char *url = xasprintf("%s/v2/%s/blobs/uploads/?mount=%s&from=%s", g->client.base, to, digest, from), *loc = NULL;
	struct regc_request rq = {.repo = to, .http = {.method = "POST", .url = url, .max_body = HTTP_ERRBODY_MAX}};
	struct http_resp rs;
	int rc;

	if ((rc = regc_request(&g->client, h, &rq, &rs, e)) != FX_OK)
		goto end;
	if (rs.status == 201)
		goto end;
	if (rs.status == 202 && rs.location != NULL && reg_resolve_location(g->client.base, rs.location, &loc) == 0)
		cancel_session(g, h, to, loc);
	rc = fe_set(e, FX_TARGET, "%s: %s: the registry did not mount %s from %s (HTTP %ld)", g->spec, to, digest, from,
	    rs.status);
end:
	http_resp_free(&rs);
	free(url);
	free(loc);
	return rc;
}

static void process(struct reg *g, struct http *h, struct job *j)
{
	struct rblob *b = j->b;
	struct ferr e = {0, ""};
	unsigned char *present = xcalloc(b->nrepos, 1);
	size_t i, npresent = 0;
	int src = -1, ok = 0, drained = 0;

	if (fx_interrupted) { /* no new upload starts after an interrupt */
		if (j->ranged)
			ranged_report(j, RANGED_BAD, "interrupted");
		else
			job_drain(g, j);
		rg_set_state(g, b, B_FAILED, "interrupted");
		goto end;
	}

	for (i = 0; i < b->nrepos; i++) {
		/* what the pre-check found is not asked again (a blob that arrived since is
		 * at worst sent twice, and the registry keeps one copy) */
		int r = i + 1 < b->pre ? 1 : i + 1 == b->pre ? !b->pre_absent :
		    rg_blob_present(g, h, b->repos[i], b, &e);

		if (r < 0)
			goto fail;
		present[i] = (unsigned char)r;
		if (r) {
			npresent++;
			if (src < 0)
				src = (int)i;
		}
	}
	if (src < 0) {
		size_t up = 0;

		if (g->lo->dry_run) {
			ok = job_drain(g, j);
		} else if (upload(g, h, j, b->repos[up], &ok, &e) != FX_OK) {
			drained = 1;
			goto fail;
		}
		drained = 1;
		if (!ok)
			goto bad;
		rg_count(g, &g->pushed, b->size);
		present[up] = 1;
		src = (int)up;
	} else {
		if (j->ranged) {
			/* the registry holds it by digest: no need to read it from the bundle */
			ranged_report(j, RANGED_UNREAD, NULL);
			ok = 1;
		} else {
			ok = job_drain(g, j);
		}
		drained = 1;
		if (!ok)
			goto bad;
		if (npresent == b->nrepos)
			rg_count(g, &g->skipped, 0);
	}
	for (i = 0; i < b->nrepos; i++) {
		if (present[i])
			continue;
		if (!g->lo->dry_run && rg_mount(g, h, b->digest, b->repos[i], b->repos[src], &e) != FX_OK)
			goto fail;
		rg_count(g, &g->mounted, 0);
	}
	rg_set_state(g, b, B_OK, NULL);
	goto end;
bad:
	rg_set_state(g, b, B_BAD, "did not verify");
	goto end;
fail:
	if (!drained)
		ok = job_drain(g, j);
	rg_set_state(g, b, B_FAILED, e.msg);
end:
	free(present);
}

struct worker_arg {
	struct reg *g;
	int idx;
};

static void *worker(void *arg)
{
	struct reg *g = ((struct worker_arg *)arg)->g;
	struct http *h = g->worker_conn[((struct worker_arg *)arg)->idx];

	free(arg);
	for (;;) {
		struct job *j;

		pthread_mutex_lock(&g->mu);
		while (g->queue_head == NULL && !g->closing)
			pthread_cond_wait(&g->cv, &g->mu);
		if (g->queue_head == NULL) {
			pthread_mutex_unlock(&g->mu);
			break;
		}
		j = g->queue_head;
		g->queue_head = j->next;
		if (g->queue_head == NULL)
			g->queue_tail = NULL;
		pthread_mutex_unlock(&g->mu);
		process(g, h, j);
		pthread_mutex_lock(&g->mu);
		g->outstanding--;
		pthread_cond_broadcast(&g->cv);
		pthread_mutex_unlock(&g->mu);
		if (j->ranged)
			sha256_free(&j->h); /* a no-op once sha256_final ran */
		free(j->cur);
		free(j);
	}
	return NULL;
}

void rg_start_workers(struct reg *g)
{
	int i;

	for (i = 0; i < g->nworkers; i++) {
		struct worker_arg *w = xmalloc(sizeof(*w));

		w->g = g;
		w->idx = i;
		if (pthread_create(&g->threads[i], NULL, worker, w) != 0) {
			free(w);
			break;
		}
		g->running++;
	}
}

void rg_stop_workers(struct reg *g)
{
	int i;

	if (g->cur != NULL) { /* the stream broke off in the middle of a blob */
		struct job *j = g->cur;
		unsigned char *p = j->cur;

		j->cur = NULL;
		g->cur = NULL;
		rg_job_push(g, j, p, p ? j->curn : 0, 1, 0); /* the worker may free j from here on */
	}
	pthread_mutex_lock(&g->mu);
	g->closing = 1;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
	for (i = 0; i < g->running; i++)
		pthread_join(g->threads[i], NULL);
	g->running = 0;
}

