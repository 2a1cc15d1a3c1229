/* sbom_rpm.c - the rpm database of an image, read with librpm from a private copy.
 *
 * Which backend: rpmdb.sqlite (RHEL/Rocky 9, Fedora) is sqlite, Packages.db (SUSE)
 * ndb, Packages (RHEL 8, CentOS 7) Berkeley DB, read with librpm's read-only bdb_ro.
 * librpm's configuration lives in global state, so it is read and freed around each
 * call and the caller runs one at a time. Its messages are kept as the reason for a
 * failure instead of being printed. */
#include "image/sbom_catalog.h"

#include <fcntl.h>
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

static int rpm_log(rpmlogRec rec, rpmlogCallbackData data)
{
	const char *m = rpmlogRecMessage(rec);
	size_t n;

	(void)data;
	if (m != NULL && rpmlogRecPriority(rec) <= RPMLOG_WARNING) {
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

int rpmdb_catalog(const char *dir, struct pkg_list *out, char *why, size_t whylen)
{
	const char *backend = exists(dir, "rpmdb.sqlite") ? "sqlite" : exists(dir, "Packages.db") ? "ndb" : "bdb_ro";
	rpmts ts = NULL;
	rpmdbMatchIterator mi = NULL;
	Header h;
	size_t before = out->n;
	int rc = -1, config = 0, pushed = 0;

	rpm_last_msg[0] = '\0';
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
	return rc;
}
