/* file.h - the one way ferry puts a finished file in place. */
#ifndef FERRY_FILE_H
#define FERRY_FILE_H

#include <stddef.h>

#include "util/util.h"

/* What every refusal to overwrite says. */
#define FX_EXISTS "already exists (use --force to replace it)"

/* Moves from (in fromdir) to to (in todir) in one step, both names relative to their
 * directory descriptors (AT_FDCWD for paths). replace: an existing file is replaced;
 * otherwise it is kept and the move fails with EEXIST: RENAME_NOREPLACE where the file
 * system has it, link() and unlink() where it does not (both refuse to overwrite).
 * 0 ok, -1 with errno. */
int fx_rename(int fromdir, const char *from, int todir, const char *to, int replace);

/* Writes buf into name (relative to dirfd; AT_FDCWD for a path) so that nothing
 * half-written is ever seen there: a temporary file beside it, never through a
 * symbolic link, fsynced, then moved with fx_rename. The temporary file is gone on
 * every failure. 0 ok, else FX_IO with e naming shown (name when NULL), and
 * FX_EXISTS when !replace and something is there. */
int fx_write_fileat(int dirfd, const char *name, const char *shown, const void *buf, size_t len,
    unsigned mode, int replace, struct ferr *e);
int fx_write_file(const char *path, const void *buf, size_t len, unsigned mode, int replace,
    struct ferr *e);

#endif
