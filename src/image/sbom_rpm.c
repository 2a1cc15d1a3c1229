/* sbom_rpm.c - the rpm database of an image, read with librpm from a private copy.
 *
 * Which backend: rpmdb.sqlite (RHEL/Rocky 9, Fedora) is sqlite, Packages.db (SUSE)
 * ndb, Packages (RHEL 8, CentOS 7) Berkeley DB, read with librpm's read-only bdb_ro.
 * librpm's configuration lives in global state, so it is read and freed around each
 * call and the caller runs one at a time. Its messages are kept as the reason for a
 * failure instead of being printed. */
#include "image/sbom_catalog.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rpm/header.h>
#include <rpm/rpmdb.h>
#include <rpm/rpmlib.h>
#include <rpm/rpmlog.h>
#include <rpm/rpmmacro.h>
#include <rpm/rpmtag.h>
#include <rpm/rpmts.h>

/* The last message librpm wanted to print (librpm calls this on the thread using it). */
static char rpm_last_msg[256];
/* The private directory, named in librpm's messages: left out of them, so that the
 * SBOM (which quotes them) is the same on every run. */
static const char *rpm_private_dir;

static int rpm_log(rpmlogRec rec, rpmlogCallbackData data)
{
	const char *m = rpmlogRecMessage(rec);
	size_t n;

	(void)data;
	if (m != NULL && rpmlogRecPriority(rec) <= RPMLOG_WARNING) {
		const char *at = rpm_private_dir != NULL ? strstr(m, rpm_private_dir) : NULL;
		if (at != NULL)
			snprintf(rpm_last_msg, sizeof(rpm_last_msg), "%.*sthe rpmdb%s", (int)(at - m), m,
			    at + strlen(rpm_private_dir));
		else
			fx_strlcpy(rpm_last_msg, m, sizeof(rpm_last_msg));
		n = strlen(rpm_last_msg);
		while (n > 0 && (rpm_last_msg[n - 1] == '\n' || rpm_last_msg[n - 1] == ' '))
			rpm_last_msg[--n] = '\0';
	}
	return 0; /* never printed: the caller reports */
}

static int exists(const char *dir, const char *name)
{
	char *p = xasprintf("%s/%s", dir, name);
	struct stat st;
	int r = lstat(p, &st) == 0 && S_ISREG(st.st_mode);

	free(p);
	return r;
}

/* Does the file start like a database of that backend? librpm is only given files that
 * do (garbage makes it leak the sqlite handle it opened). */
static int looks_like(const char *dir, const char *backend)
{
	static const unsigned char bdb_hash[4] = {0x00, 0x06, 0x15, 0x61}, bdb_btree[4] = {0x00, 0x05, 0x31, 0x62};
	const char *name = strcmp(backend, "sqlite") == 0 ? "rpmdb.sqlite" : strcmp(backend, "ndb") == 0 ?
	    "Packages.db" : "Packages";
	char *p = xasprintf("%s/%s", dir, name);
	unsigned char head[16], rev[4];
	ssize_t n = -1;
	int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), i, ok = 0;

	if (fd >= 0) {
		n = read(fd, head, sizeof(head));
		close(fd);
	}
	free(p);
	if (n != (ssize_t)sizeof(head))
		return 0;
	for (i = 0; i < 4; i++)
		rev[i] = head[15 - i];
	if (strcmp(backend, "sqlite") == 0)
		ok = memcmp(head, "SQLite format 3", 16) == 0;
	else if (strcmp(backend, "ndb") == 0)
		ok = memcmp(head, "RpmP", 4) == 0;
	else
		ok = memcmp(head + 12, bdb_hash, 4) == 0 || memcmp(rev, bdb_hash, 4) == 0 ||
		    memcmp(head + 12, bdb_btree, 4) == 0 || memcmp(rev, bdb_btree, 4) == 0;
	return ok;
}

static char *hdr_str(Header h, rpmTagVal tag)
{
	const char *s = headerGetString(h, tag);

	return s != NULL && s[0] != '\0' ? xstrdup(s) : NULL;
}

static void add_header(Header h, struct pkg_list *out)
{
	struct pkg *p = pkg_list_add(out, PKG_RPM);
	char *version = hdr_str(h, RPMTAG_VERSION), *release = hdr_str(h, RPMTAG_RELEASE), *lic, *srpm;

	p->name = hdr_str(h, RPMTAG_NAME);
	if (headerIsEntry(h, RPMTAG_EPOCH))
		p->epoch = xasprintf("%llu", (unsigned long long)headerGetNumber(h, RPMTAG_EPOCH));
	p->version = xasprintf("%s%s%s%s%s", p->epoch != NULL ? p->epoch : "", p->epoch != NULL ? ":" : "",
	    version != NULL ? version : "", release != NULL ? "-" : "", release != NULL ? release : "");
	p->arch = hdr_str(h, RPMTAG_ARCH);
	lic = hdr_str(h, RPMTAG_LICENSE);
	if (lic != NULL) {
		strset_add(&p->licenses, &p->nlicenses, lic, strlen(lic));
		p->license_known = 1;
	}
	srpm = hdr_str(h, RPMTAG_SOURCERPM);
	if (srpm != NULL) {
		/* name-version-release.src.rpm: the source package's name */
		char *d = strrchr(srpm, '-');
		if (d != NULL) {
			*d = '\0';
			d = strrchr(srpm, '-');
			if (d != NULL) {
				*d = '\0';
				p->source = xstrdup(srpm);
			}
		}
	}
	if (p->name == NULL)
		p->name = xstrdup("(no name)");
	free(version);
	free(release);
	free(lic);
	free(srpm);
}

int rpmdb_catalog(const char *rel_dir, struct pkg_list *out, char *why, size_t whylen)
{
	/* librpm takes _dbpath from the root directory, and its sqlite backend creates a
	 * database that is not there, read-only or not: only an absolute path to a
	 * database that exists is ever handed to it */
	char *dir = realpath(rel_dir, NULL);
	const char *backend = NULL;
	rpmts ts = NULL;
	rpmdbMatchIterator mi = NULL;
	Header h;
	size_t before = out->n;
	int rc = -1, config = 0, pushed = 0;

	rpm_last_msg[0] = '\0';
	rpm_private_dir = dir;
	if (dir != NULL)
		backend = exists(dir, "rpmdb.sqlite") ? "sqlite" : exists(dir, "Packages.db") ? "ndb" :
		    exists(dir, "Packages") ? "bdb_ro" : NULL;
	if (backend == NULL) {
		snprintf(why, whylen, "no rpm database file where it was copied");
		goto end;
	}
	if (!looks_like(dir, backend)) {
		snprintf(why, whylen, "its file is not a %s database", backend);
		goto end;
	}
	rpmlogSetCallback(rpm_log, NULL);
	if (rpmReadConfigFiles(NULL, NULL) != 0) {
		snprintf(why, whylen, "librpm cannot read its configuration%s%s", rpm_last_msg[0] ? ": " : "",
		    rpm_last_msg);
		goto end;
	}
	config = 1;
	rpmPushMacro(NULL, "_dbpath", NULL, dir, RMIL_CMDLINE);
	rpmPushMacro(NULL, "_db_backend", NULL, backend, RMIL_CMDLINE);
	pushed = 1;
	ts = rpmtsCreate();
	rpmtsSetRootDir(ts, "/");
	rpmtsSetVSFlags(ts, RPMVSF_MASK_NOSIGNATURES | RPMVSF_MASK_NODIGESTS);
	if (rpmtsOpenDB(ts, O_RDONLY) != 0) {
		snprintf(why, whylen, "librpm cannot open it (%s backend)%s%s", backend, rpm_last_msg[0] ? ": " : "",
		    rpm_last_msg);
		goto end;
	}
	mi = rpmtsInitIterator(ts, RPMDBI_PACKAGES, NULL, 0);
	while (mi != NULL && (h = rpmdbNextIterator(mi)) != NULL) {
		const char *name = headerGetString(h, RPMTAG_NAME);
		if (name != NULL && strcmp(name, "gpg-pubkey") == 0)
			continue; /* imported signing keys, not software */
		if (out->n - before >= PKGDB_MAX_PKGS) {
			snprintf(why, whylen, "more than %d packages", PKGDB_MAX_PKGS);
			goto end;
		}
		add_header(h, out);
	}
	if (out->n == before && rpm_last_msg[0] != '\0') {
		snprintf(why, whylen, "librpm: %s", rpm_last_msg);
		goto end;
	}
	rc = 0;
end:
	if (rc != 0) {
		while (out->n > before)
			pkg_free(&out->v[--out->n]);
	}
	rpmdbFreeIterator(mi);
	if (ts != NULL) {
		rpmtsCloseDB(ts);
		rpmtsFree(ts);
	}
	if (pushed) {
		rpmPopMacro(NULL, "_db_backend");
		rpmPopMacro(NULL, "_dbpath");
	}
	if (config) {
		rpmFreeMacros(NULL);
		rpmFreeRpmrc();
	}
	rpmlogSetCallback(NULL, NULL);
	rpm_private_dir = NULL;
	free(dir);
	return rc;
}
