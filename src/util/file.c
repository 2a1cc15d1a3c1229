/* file.c - moving finished files into place; see file.h. */
#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fx_rename(int fromdir, const char *from, int todir, const char *to, int replace)
{
	if (replace)
		return renameat(fromdir, from, todir, to);
	if (renameat2(fromdir, from, todir, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* No RENAME_NOREPLACE on this file system: link() refuses to overwrite too. */
	if (linkat(fromdir, from, todir, to, 0) != 0)
		return -1;
	unlinkat(fromdir, from, 0);
	return 0;
}

/* Creates a fresh temporary file beside name; its name goes into tmp. */
static int open_temp(int dirfd, const char *name, unsigned mode, char **tmp)
{
	static unsigned counter;
	unsigned n = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
	int fd, tries;

	for (tries = 0; tries < 100; tries++) {
		*tmp = xasprintf("%s.tmp.%d.%u", name, (int)getpid(), n + (unsigned)tries * 7919u);
		fd = openat(dirfd, *tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd >= 0 || errno != EEXIST)
			return fd;
		free(*tmp);
		*tmp = NULL;
	}
	return -1;
}

int fx_write_fileat(int dirfd, const char *name, const char *shown, const void *buf, size_t len,
    unsigned mode, int replace, struct ferr *e)
{
	char *tmp = NULL;
	char eb[1024];
	int fd, rc = FX_OK;

	if (shown == NULL)
		shown = name;
	if ((fd = open_temp(dirfd, name, mode, &tmp)) < 0) {
		rc = fe_set(e, FX_IO, "%s: %s", fx_esc(shown, eb, sizeof(eb)), strerror(errno));
		goto end;
	}
	if (dirfd == AT_FDCWD)
		fx_cleanup_file(tmp);
	/* the mode asked for, whatever the umask made of it */
	if (fchmod(fd, mode) != 0 || write_all(fd, buf, len) != 0 || fsync(fd) != 0) {
		rc = fe_set(e, FX_IO, "%s: %s", fx_esc(shown, eb, sizeof(eb)), strerror(errno));
		goto end;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = fe_set(e, FX_IO, "%s: %s", fx_esc(shown, eb, sizeof(eb)), strerror(errno));
		goto end;
	}
	fd = -1;
	if (fx_rename(dirfd, tmp, dirfd, name, replace) != 0) {
		rc = fe_set(e, FX_IO, "%s: %s", fx_esc(shown, eb, sizeof(eb)),
		    errno == EEXIST ? FX_EXISTS : strerror(errno));
		goto end;
	}
	free(tmp);
	tmp = NULL;
end:
	if (fd >= 0)
		close(fd);
	if (tmp != NULL) {
		unlinkat(dirfd, tmp, 0);
		free(tmp);
	}
	if (dirfd == AT_FDCWD)
		fx_cleanup_forget();
	return rc;
}

int fx_write_file(const char *path, const void *buf, size_t len, unsigned mode, int replace, struct ferr *e)
{
	return fx_write_fileat(AT_FDCWD, path, NULL, buf, len, mode, replace, e);
}
