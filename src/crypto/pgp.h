/* pgp.h - OpenPGP signing and verification through GPGME. */
#ifndef FERRY_PGP_H
#define FERRY_PGP_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/* LC_CTYPE from the environment, for GnuPG's messages: called once by a program
 * before it starts any thread (setlocale is not thread-safe). */
void pgp_locale_init(void);

struct pgp_signer {
	char fpr[64];   /* primary key fingerprint, upper-case hex */
	char uid[256];  /* first user id, as the key says (untrusted text: escape it) */
	int64_t when;   /* signature time */
};

/* Makes an ASCII-armoured detached signature of buf with the key fpr (NULL: the first
 * secret key of $GNUPGHOME). passfile: a file holding the passphrase, or NULL. */
int pgp_sign(const void *buf, size_t len, const char *fpr, const char *passfile,
    char **sig, size_t *siglen, struct pgp_signer *who, struct ferr *e);
/* The same for a whole file, streamed (bundles are large). */
int pgp_sign_file(const char *path, const char *fpr, const char *passfile, char **sig,
    size_t *siglen, struct ferr *e);
/* The signing key (as pgp_sign takes it) looked up on a thread while the caller goes
 * on; pgp_sign_with waits for it and signs as pgp_sign does (its errors too). Never
 * NULL; free with pgp_sign_key_free. */
struct pgp_sign_key;
struct pgp_sign_key *pgp_sign_key_start(const char *fpr);
int pgp_sign_with(struct pgp_sign_key *k, const void *buf, size_t len, const char *passfile,
    char **sig, size_t *siglen, struct pgp_signer *who, struct ferr *e);
void pgp_sign_key_free(struct pgp_sign_key *k);
/* Checks sig (named what in messages) over buf against the public keys in keyring only, in a throw-away
 * GnuPG home. fprs (optional): the signer's primary fingerprint must be one of them.
 * FX_OK when good; FX_VERIFY for a bad, unknown or untrusted signature; FX_IO when the
 * keyring cannot be read or GnuPG is missing. */
int pgp_verify(const void *buf, size_t len, const void *sig, size_t siglen, const char *what,
    const char *keyring, char *const *fprs, size_t nfprs, struct pgp_signer *who,
    struct ferr *e);
/* The same for a clear-signed message (gpg --clearsign): *plain (malloc'd, NUL added)
 * gets the text it signs, which is all a caller may trust of it. */
int pgp_verify_clearsigned(const void *msg, size_t len, const char *what, const char *keyring, char **plain,
    size_t *plain_len, struct pgp_signer *who, struct ferr *e);
/* Creates an unprotected signing key (demo/test) in $GNUPGHOME and writes the armoured
 * public key to pubout (may be NULL). */
int pgp_keygen(const char *uid, const char *pubout, char fpr_out[64], struct ferr *e);

/* 1 if fpr is a 40- or 64-digit hex fingerprint (spaces and colons allowed). */
int pgp_fpr_valid(const char *fpr);

#endif
