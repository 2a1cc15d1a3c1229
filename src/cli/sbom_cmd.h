/* sbom_cmd.h - the auditor's verbs of ferry-load: sbom (an image's SBOM, printed) and
 * report (one self-contained HTML page, or JSON, about a bundle). ferry-load parses
 * their options with every other verb's; these run them. */
#ifndef FERRY_SBOM_CMD_H
#define FERRY_SBOM_CMD_H

#include "bundle/bundle.h"
#include "util/util.h"

enum sbom_print_format { SBOM_PRINT_SPDX, SBOM_PRINT_CYCLONEDX, SBOM_PRINT_TABLE };

/* sbom: --image, --platform, --format. */
struct sbom_print_opts {
	const char *image;    /* as bundle.yaml names it; NULL: every image */
	const char *platform; /* OS/ARCH; NULL: every platform */
	enum sbom_print_format format;
};

/* report: -o, --json, --against, --force, -q. */
struct report_opts {
	const char *output;  /* the report file; NULL: stdout (--json only) */
	const char *against; /* an older bundle to compare with, or NULL */
	int json, force, quiet;
};

/* Verify the bundle (ro as for verify), then print / write. Return the exit code. */
int sbom_print_run(const char *bundle, const struct read_opts *ro, const struct sbom_print_opts *o, struct ferr *e);
/* ro->license_pubkey and ro->audience are the report's own check (its verdict is shown),
 * not the reader's. */
int report_run(const char *bundle, const struct read_opts *ro, const struct report_opts *o, struct ferr *e);

#endif
