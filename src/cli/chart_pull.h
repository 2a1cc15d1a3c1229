/* chart_pull.h - a chart pulled from an OCI registry at pack time (from: oci://). */
#ifndef FERRY_CHART_PULL_H
#define FERRY_CHART_PULL_H

#include "cli/pack.h"
#include "util/util.h"

/* Pulls from ("oci://HOST[:PORT]/REPO/NAME:VERSION"; '+' in VERSION is sent as '_', as
 * Helm tags it) through the registry client: its manifest (at most 1 MiB, Helm's
 * config media type), the content layer (at most CHART_ARCHIVE_MAX) into
 * staging/NAME-VERSION.tgz and the provenance layer, when there is one, beside it as
 * .prov (*prov_path NULL when none). Every blob's size and SHA-256 are checked against
 * the manifest before it is written. TLS (system CAs and o->cacert), or plain HTTP
 * for a registry o->plain_http names, as for image pulls. */
int chart_pull(const char *from, const char *staging, const struct pack_opts *o, char **tgz_path, char **prov_path,
    struct ferr *e);

#endif
