/* sbom_cmd.h - the auditor's verbs of ferry-load: sbom (an image's SBOM, printed) and
 * report (one self-contained HTML page, or JSON, about a bundle). */
#ifndef FERRY_SBOM_CMD_H
#define FERRY_SBOM_CMD_H

/* argv[0] is the verb word; both return the exit code. */
int cmd_sbom(int argc, char **argv);
int cmd_report(int argc, char **argv);

#endif
