/* input.c - reading image inputs: archive files (docker save, oci-archive, compressed or
 * not), the stream of a docker daemon, and OCI layout directories.
 *
 * An archive is read once, sequentially, because docker save puts manifest.json after
 * the layers it describes: small members are staged (and hashed while they are
 * written); a large member of an uncompressed archive file is only located (its data is
 * a byte range of the archive) and read where it is used. A compressed archive file is
 * bounded differently: only its JSON documents are staged while it is read (at most
 * JSON_STAGE_MAX); every other member is deferred, and a second pass stages those the
 * input's manifests reference, each no larger than its descriptor says. So a small
 * compressed input cannot fill the disk with members nothing uses. */
#include "image/images_int.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle/sums.h"
#include "net/docker_api.h"

#define COPY_BUF ((size_t)1 << 20)

static int member_cmp(const void *a, const void *b)
{
	const struct member *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

static struct member *member_push(struct input *in)
{
	if (in->nmembers == in->cap) {
		in->cap = in->cap ? in->cap * 2 : 64;
		in->members = xreallocarray(in->members, in->cap, sizeof(*in->members));
	}
	in->members[in->nmembers] = xcalloc(1, sizeof(struct member));
	return in->members[in->nmembers++];
}

static void member_free(struct member *m)
{
	free(m->name);
	free(m->link);
	free(m->path);
	free(m);
}

/* Strips "./" prefixes and trailing slashes: tar writers differ in both. */
static char *clean_name(const char *s)
{
	char *n;
	size_t l;

	while (strncmp(s, "./", 2) == 0)
		s += 2;
	while (*s == '/' && s[1] == '\0')
		s++;
	n = xstrdup(s);
	l = strlen(n);
	while (l > 0 && n[l - 1] == '/')
		n[--l] = '\0';
	if (strcmp(n, ".") == 0)
		n[0] = '\0';
	return n;
}

/* Resolves target relative to directory dir ("" = top) inside the archive; NULL when
 * it is absolute or climbs out of the archive. */
static char *resolve_rel(const char *dir, const char *target)
{
	char *buf, *out, *tok, *save = NULL;
	size_t olen = 0;

	if (target[0] == '/' || strlen(dir) + strlen(target) > 4096)
		return NULL;
	buf = xasprintf("%s%s%s", dir, dir[0] ? "/" : "", target);
	out = xcalloc(1, strlen(buf) + 1);
	for (tok = strtok_r(buf, "/", &save); tok != NULL; tok = strtok_r(NULL, "/", &save)) {
		if (strcmp(tok, ".") == 0)
			continue;
		if (strcmp(tok, "..") == 0) {
			char *sl;
			if (olen == 0) {
				free(out);
				out = NULL;
				break;
			}
			sl = strrchr(out, '/');
			olen = sl != NULL ? (size_t)(sl - out) : 0;
			out[olen] = '\0';
			continue;
		}
		if (olen > 0)
			out[olen++] = '/';
		memcpy(out + olen, tok, strlen(tok));
		olen += strlen(tok);
		out[olen] = '\0';
	}
	free(buf);
	return out;
}

/* Does a member's first chunk look like a JSON document (an object or an array)? */
static int looks_like_json(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n')
			continue;
		return p[i] == '{' || p[i] == '[';
	}
	return 1; /* only blanks so far: undecided, keep it */
}

/* Copies the current member's data into a new staged file, hashing it. json_only: the
 * member is deferred instead (nothing written) unless its first bytes are JSON. */
static int stage_data(struct input *in, struct archive *a, struct member *m, int json_only,
    struct ferr *e)
{
	unsigned char *buf = xmalloc(COPY_BUF);
	struct sha256 h;
	int fd = -1, rc = FX_OK, first = 1;

	m->path = stage_tmp_path(in->st);
	m->size = 0;
	sha256_init(&h);
	fd = open(m->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		rc = fe_set(e, FX_IO, "%s: %s", ESC(m->path), strerror(errno));
		goto end;
	}
	for (;;) {
		la_ssize_t r = archive_read_data(a, buf, COPY_BUF);
		if (r == 0)
			break;
		if (r < 0) {
			rc = fe_set(e, FX_IO, "%s: member %s: %s", in->label, ESC(m->name),
			    archive_error_string(a) ? archive_error_string(a) : "read error");
			goto end;
		}
		if (first && json_only && !looks_like_json(buf, (size_t)r)) {
			m->deferred = 1; /* the rest is skipped by the next header */
			goto end;
		}
		first = 0;
		if (fx_interrupted) {
			rc = fe_set(e, FX_IO, "interrupted");
			goto end;
		}
		if (write_all(fd, buf, (size_t)r) != 0) {
			rc = fe_set(e, FX_IO, "%s: %s", ESC(m->path), strerror(errno));
			goto end;
		}
		sha256_update(&h, buf, (size_t)r);
		m->size += (uint64_t)r;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = fe_set(e, FX_IO, "%s: %s", ESC(m->path), strerror(errno));
		goto end;
	}
	fd = -1;
end:
	if (fd >= 0)
		close(fd);
	if (rc == FX_OK && !m->deferred) {
		sha256_final(&h, m->digest);
	} else {
		sha256_free(&h);
		unlink(m->path);
		free(m->path);
		m->path = NULL;
	}
	free(buf);
	return rc;
}

int member_stage_range(struct input *in, struct member *m, struct ferr *e)
{
	unsigned char *buf = NULL;
	struct sha256 h;
	char *tmp = NULL;
	uint64_t done = 0;
	int src = -1, fd = -1, rc = FX_OK;

	if (!m->ranged)
		return FX_OK;
	sha256_init(&h);
	if ((src = open(m->path, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = fe_set(e, FX_IO, "%s: %s", in->label, strerror(errno));
		goto end;
	}
	buf = xmalloc(COPY_BUF);
	tmp = stage_tmp_path(in->st);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		rc = fe_set(e, FX_IO, "%s: %s", ESC(tmp), strerror(errno));
		goto end;
	}
	while (done < m->size) {
		size_t want = m->size - done < COPY_BUF ? (size_t)(m->size - done) : COPY_BUF;
		ssize_t r = pread(src, buf, want, (off_t)(m->offset + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = fe_set(e, r < 0 ? FX_IO : FX_VERIFY, "%s: member %s: %s", in->label, ESC(m->name),
			    r < 0 ? strerror(errno) : "the archive ends inside it");
			goto end;
		}
		if (fx_interrupted) {
			rc = fe_set(e, FX_IO, "interrupted");
			goto end;
		}
		if (write_all(fd, buf, (size_t)r) != 0) {
			rc = fe_set(e, FX_IO, "%s: %s", ESC(tmp), strerror(errno));
			goto end;
		}
		sha256_update(&h, buf, (size_t)r);
		done += (uint64_t)r;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = fe_set(e, FX_IO, "%s: %s", ESC(tmp), strerror(errno));
		goto end;
	}
	fd = -1;
end:
	if (fd >= 0)
		close(fd);
	if (src >= 0)
		close(src);
	free(buf);
	if (rc == FX_OK) {
		sha256_final(&h, m->digest);
		free(m->path);
		m->path = tmp;
		m->offset = 0;
		m->ranged = 0;
		m->claimed = 0;
	} else {
		sha256_free(&h);
		if (tmp != NULL)
			unlink(tmp);
		free(tmp);
	}
	return rc;
}

/* What a read pass does with the regular members of an archive. */
struct pass {
	struct archive *a;
	const char *path;  /* the archive file, NULL for a stream */
	int plain;         /* an uncompressed file: large members are located, not read */
	int compressed;    /* a compressed file: only JSON is staged, the rest deferred */
	uint64_t json_staged;
};

/* A regular member in the first pass: located, deferred or staged. */
static int read_regular(struct input *in, struct pass *p, struct archive_entry *ae, struct member *m,
    struct ferr *e)
{
	int size_set = archive_entry_size_is_set(ae);
	la_int64_t size = archive_entry_size(ae);

	m->type = MEMBER_FILE;
	/* After the header, the uncompressed stream is at the member's data. */
	if (p->plain && size_set && size >= (la_int64_t)RANGE_MIN && archive_entry_sparse_count(ae) == 0 &&
	    archive_filter_bytes(p->a, 0) >= 0) {
		m->ranged = 1;
		m->path = xstrdup(p->path);
		m->offset = (uint64_t)archive_filter_bytes(p->a, 0);
		m->size = (uint64_t)size;
		return FX_OK;
	}
	if (p->compressed && size_set && (size < 0 || (uint64_t)size > OCI_JSON_MAX)) {
		m->deferred = 1;
		m->size = size < 0 ? 0 : (uint64_t)size;
	} else if (stage_data(in, p->a, m, p->compressed, e) != FX_OK) {
		return e->code;
	}
	if (m->deferred) {
		m->size = size_set && size > 0 ? (uint64_t)size : 0;
		in->ndeferred++;
		return FX_OK;
	}
	if (p->compressed && (p->json_staged += m->size) > JSON_STAGE_MAX)
		return fe_set(e, FX_VERIFY, "%s: more than %llu MiB of JSON members (member %s)", in->label,
		    (unsigned long long)(JSON_STAGE_MAX >> 20), ESC(m->name));
	return FX_OK;
}

/* A link member: its target inside the archive. */
static int read_link(struct input *in, struct archive_entry *ae, struct member *m, struct ferr *e)
{
	const char *hardlink = archive_entry_hardlink(ae);
	int rc = FX_OK;

	m->type = MEMBER_LINK;
	if (hardlink != NULL) {
		m->link = clean_name(hardlink);
		if (entry_name_problem(m->link) != NULL)
			rc = fe_set(e, FX_VERIFY, "%s: member %s: hard link to %s leaves the archive", in->label,
			    ESC(m->name), ESC(hardlink));
	} else {
		const char *target = archive_entry_symlink(ae);
		char *dir = xstrdup(m->name), *slash = strrchr(dir, '/');
		if (slash != NULL)
			*slash = '\0';
		else
			dir[0] = '\0';
		m->link = target != NULL ? resolve_rel(dir, target) : NULL;
		free(dir);
		if (m->link == NULL || entry_name_problem(m->link) != NULL)
			rc = fe_set(e, FX_VERIFY, "%s: member %s: symbolic link to %s leaves the archive",
			    in->label, ESC(m->name), ESC(target ? target : ""));
	}
	return rc;
}

/* One header of the first pass: records the member (directories are skipped). */
static int read_member(struct input *in, struct pass *p, struct archive_entry *ae, struct ferr *e)
{
	const char *raw = archive_entry_pathname(ae), *why;
	mode_t type = archive_entry_filetype(ae);
	int is_link = archive_entry_hardlink(ae) != NULL || type == AE_IFLNK;
	struct member *m;
	char *name;

	if (raw == NULL)
		return fe_set(e, FX_VERIFY, "%s: a member name is not readable", in->label);
	name = clean_name(raw);
	if (name[0] == '\0' && type == AE_IFDIR) {
		free(name);
		return FX_OK;
	}
	if ((why = entry_name_problem(name)) != NULL) {
		fe_set(e, FX_VERIFY, "%s: member %s: %s", in->label, ESC(raw), why);
		free(name);
		return e->code;
	}
	if (type == AE_IFDIR && archive_entry_hardlink(ae) == NULL) {
		free(name);
		return FX_OK;
	}
	if (in->nmembers >= MAX_MEMBERS) {
		free(name);
		return fe_set(e, FX_VERIFY, "%s: more than %d members", in->label, MAX_MEMBERS);
	}
	m = member_push(in);
	m->name = name;
	if (is_link)
		return read_link(in, ae, m, e);
	if (type == AE_IFREG)
		return read_regular(in, p, ae, m, e);
	return fe_set(e, FX_VERIFY, "%s: member %s: not a regular file, directory or link", in->label,
	    ESC(name));
}

static struct archive *archive_open(struct input *in, const char *path, int fd, struct ferr *e)
{
	struct archive *a = archive_read_new();

	archive_read_support_format_tar(a);
	/* A compressed docker save is fine too; only in-process decoders (no external
	 * programs run on untrusted bytes). */
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_bzip2(a);
	if ((path != NULL ? archive_read_open_filename(a, path, 1 << 16) : archive_read_open_fd(a, fd, 1 << 16)) !=
	    ARCHIVE_OK) {
		fe_set(e, FX_IO, "%s: %s", in->label, archive_error_string(a));
		archive_read_free(a);
		return NULL;
	}
	return a;
}

int input_read_archive(struct stage *st, struct input *in, const char *path, int fd, struct ferr *e)
{
	struct archive_entry *ae;
	struct pass p;
	size_t i;
	int r, rc = FX_OK;

	memset(&p, 0, sizeof(p));
	in->st = st;
	in->archive = path != NULL ? xstrdup(path) : NULL;
	if ((p.a = archive_open(in, path, fd, e)) == NULL)
		return e->code;
	p.path = path;
	while ((r = archive_read_next_header(p.a, &ae)) == ARCHIVE_OK) {
		if (in->nmembers == 0 && path != NULL) { /* the filters are known after the first header */
			p.plain = archive_filter_count(p.a) == 1 && archive_filter_code(p.a, 0) == ARCHIVE_FILTER_NONE;
			p.compressed = !p.plain;
		}
		if ((rc = read_member(in, &p, ae, e)) != FX_OK)
			goto end;
	}
	if (r != ARCHIVE_EOF) {
		rc = fe_set(e, FX_IO, "%s: %s", in->label,
		    archive_error_string(p.a) ? archive_error_string(p.a) : "not a tar archive");
		goto end;
	}
	qsort(in->members, in->nmembers, sizeof(*in->members), member_cmp);
	for (i = 1; i < in->nmembers; i++) {
		if (strcmp(in->members[i - 1]->name, in->members[i]->name) == 0) {
			rc = fe_set(e, FX_VERIFY, "%s: member %s appears twice", in->label,
			    ESC(in->members[i]->name));
			goto end;
		}
	}
end:
	archive_read_free(p.a);
	return rc;
}

struct member *input_add_staged(struct input *in, const char *name, char *path,
    const unsigned char digest[SHA256_LEN], uint64_t size)
{
	struct member *m = member_push(in);

	m->name = xstrdup(name);
	m->type = MEMBER_FILE;
	m->path = path;
	memcpy(m->digest, digest, SHA256_LEN);
	m->size = size;
	return m;
}

void input_sort(struct input *in)
{
	qsort(in->members, in->nmembers, sizeof(*in->members), member_cmp);
}

static struct member *member_lookup(struct input *in, const char *name)
{
	struct member key, *kp = &key, **hit;

	memset(&key, 0, sizeof(key));
	key.name = (char *)(uintptr_t)name;
	hit = bsearch(&kp, in->members, in->nmembers, sizeof(*in->members), member_cmp);
	return hit != NULL ? *hit : NULL;
}

int member_reference(struct input *in, struct member *m, uint64_t declared, struct ferr *e)
{
	if (!m->deferred)
		return FX_OK;
	if (declared != 0 && m->size != declared)
		return fe_set(e, FX_VERIFY, "%s: member %s is %llu bytes, its descriptor says %llu", in->label,
		    ESC(m->name), (unsigned long long)m->size, (unsigned long long)declared);
	m->referenced = 1;
	m->declared = declared;
	return FX_OK;
}

int input_read_referenced(struct input *in, struct ferr *e)
{
	struct archive_entry *ae;
	struct pass p;
	size_t i, wanted = 0, staged = 0;
	int r, rc = FX_OK;

	for (i = 0; i < in->nmembers; i++)
		wanted += in->members[i]->deferred && in->members[i]->referenced;
	if (wanted == 0)
		return FX_OK;
	memset(&p, 0, sizeof(p));
	if ((p.a = archive_open(in, in->archive, -1, e)) == NULL)
		return e->code;
	while (staged < wanted && (r = archive_read_next_header(p.a, &ae)) == ARCHIVE_OK) {
		char *name = clean_name(archive_entry_pathname(ae) ? archive_entry_pathname(ae) : "");
		struct member *m = archive_entry_filetype(ae) == AE_IFREG ? member_lookup(in, name) : NULL;
		free(name);
		if (m == NULL || !m->deferred || !m->referenced)
			continue;
		/* the header said this size in the first pass, and the descriptor agreed */
		if (!archive_entry_size_is_set(ae) || (uint64_t)archive_entry_size(ae) != m->size) {
			rc = fe_set(e, FX_VERIFY, "%s: member %s changed while it was read", in->label, ESC(m->name));
			goto end;
		}
		m->deferred = 0;
		in->ndeferred--;
		if ((rc = stage_data(in, p.a, m, 0, e)) != FX_OK)
			goto end;
		if (m->declared != 0 && m->size != m->declared) {
			rc = fe_set(e, FX_VERIFY, "%s: member %s is %llu bytes, its descriptor says %llu", in->label,
			    ESC(m->name), (unsigned long long)m->size, (unsigned long long)m->declared);
			goto end;
		}
		staged++;
	}
	if (staged < wanted)
		rc = fe_set(e, FX_IO, "%s: %s", in->label,
		    archive_error_string(p.a) ? archive_error_string(p.a) : "the archive changed while it was read");
end:
	archive_read_free(p.a);
	return rc;
}

/* A file of a layout directory, hashed where it lies; NULL when it is not a plain file. */
static struct member *dir_member(struct input *in, const char *name, struct ferr *e)
{
	struct member *m = NULL;
	struct stat sb;
	char *path = NULL;
	size_t i;

	for (i = 0; i < in->nmembers; i++)
		if (strcmp(in->members[i]->name, name) == 0)
			return in->members[i];
	if (entry_name_problem(name) != NULL) {
		fe_set(e, FX_VERIFY, "%s: unsafe file name %s", in->label, ESC(name));
		goto end;
	}
	path = xasprintf("%s/%s", in->dir, name);
	/* lstat: a layout file must be a plain file, never a link out of the layout. */
	if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
		goto end;
	m = member_push(in);
	m->name = xstrdup(name);
	m->type = MEMBER_FILE;
	m->path = path;
	path = NULL;
	if (sha256_file(m->path, m->digest, &m->size, e) != FX_OK) {
		member_free(m);
		in->nmembers--;
		m = NULL;
	}
end:
	free(path);
	return m;
}

struct member *input_find(struct input *in, const char *name, struct ferr *e)
{
	const char *asked = name;
	struct member *m;
	int hops;

	if (in->dir != NULL)
		return dir_member(in, name, e);
	for (hops = 0; hops <= MAX_LINK_HOPS; hops++) {
		m = member_lookup(in, name);
		if (m == NULL || m->type == MEMBER_FILE)
			return m;
		name = m->link;
	}
	fe_set(e, FX_VERIFY, "%s: member %s: too many links", in->label, ESC(asked));
	return NULL;
}

struct member *input_need(struct input *in, const char *name, int ranged_ok, struct ferr *e)
{
	struct member *m = input_find(in, name, e);

	if (m == NULL) {
		if (e->code == 0)
			fe_set(e, FX_VERIFY, "%s: %s is missing", in->label, ESC(name));
		return NULL;
	}
	if (m->deferred) {
		fe_set(e, FX_VERIFY, "%s: member %s was not read: not a JSON document of at most %zu bytes, "
		    "and no manifest references it", in->label, ESC(name), (size_t)OCI_JSON_MAX);
		return NULL;
	}
	if (!ranged_ok && member_stage_range(in, m, e) != FX_OK)
		return NULL;
	return m;
}

int member_read(struct input *in, struct member *m, char **buf, size_t *len, struct ferr *e)
{
	unsigned char d[SHA256_LEN];
	struct ferr read_err = {0, ""};

	if (m->size > OCI_JSON_MAX)
		return fe_set(e, FX_VERIFY, "%s: %s: larger than %zu bytes", in->label, ESC(m->name),
		    (size_t)OCI_JSON_MAX);
	if (member_stage_range(in, m, e) != FX_OK)
		return e->code;
	if (read_file_max(m->path, OCI_JSON_MAX, buf, len, &read_err) != FX_OK)
		return fe_set(e, read_err.code, "%s: %s: %s", in->label, ESC(m->name), read_err.msg);
	sha256_buf(*buf, *len, d);
	if (memcmp(d, m->digest, SHA256_LEN) != 0) {
		free(*buf);
		*buf = NULL;
		return fe_set(e, FX_VERIFY, "%s: %s changed while it was read", in->label, ESC(m->name));
	}
	return FX_OK;
}

void input_free(struct input *in)
{
	size_t i;

	for (i = 0; i < in->nmembers; i++) {
		struct member *m = in->members[i];
		/* Staged members nobody took are removed now: a big archive would
		 * otherwise sit in the staging directory twice. */
		if (in->dir == NULL && m->type == MEMBER_FILE && !m->moved && !m->ranged && m->path != NULL)
			unlink(m->path);
		member_free(m);
	}
	free(in->members);
	free(in->dir);
	free(in->archive);
	free(in->upstream_index);
	memset(in, 0, sizeof(*in));
}

/* docker-daemon:REF: reads what GET /images/get streams (a docker save archive) like a
 * file; the daemon's own error explains a broken stream best, so it wins. The stream
 * cannot be read twice, so every member is staged (the daemon is the machine's own). */
int input_read_daemon(struct stage *st, struct input *in, const char *from, struct ferr *e)
{
	struct docker_endpoint ep;
	struct docker_client *cl = NULL;
	struct docker_download *d = NULL;
	struct ferr read_err = {0, ""}, daemon_err = {0, ""};
	char *addr = NULL, *ref = NULL;
	int fd = -1, rc;

	memset(&ep, 0, sizeof(ep));
	if ((rc = docker_daemon_source_split(from, &addr, &ref, &daemon_err)) != FX_OK ||
	    (rc = docker_endpoint_parse(addr, &ep, &daemon_err)) != FX_OK ||
	    (rc = docker_connect(&ep, &cl, &daemon_err)) != FX_OK ||
	    (rc = docker_get_begin(cl, ref, &fd, &d, &daemon_err)) != FX_OK) {
		rc = fe_set(e, rc, "%s: %s", in->label, daemon_err.msg);
		goto end;
	}
	rc = input_read_archive(st, in, NULL, fd, &read_err);
	if (docker_get_end(d, &daemon_err) != FX_OK)
		rc = fe_set(e, daemon_err.code, "%s: %s", in->label, daemon_err.msg);
	else if (rc != FX_OK)
		rc = fe_set(e, read_err.code, "%s", read_err.msg);
end:
	docker_client_free(cl);
	docker_endpoint_free(&ep);
	free(addr);
	free(ref);
	return rc;
}
