/* pgp.c - OpenPGP through GPGME: detached signatures made with the release key,
 * checked against an explicit keyring in a throw-away GnuPG home. */
#include "crypto/pgp.h"
#include "util/file.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gpgme.h>
#include <openssl/crypto.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static struct ferr init_err; /* written once, inside init_once */
static char ctype_locale[128]; /* pgp_locale_init's, before any thread */
static int locale_set;

void pgp_locale_init(void)
{
	const char *name = setlocale(LC_CTYPE, "");

	locale_set = 1;
	if (name != NULL && strlen(name) < sizeof(ctype_locale))
		memcpy(ctype_locale, name, strlen(name) + 1);
}

static void pgp_init_once(void)
{
	/* setlocale is not thread-safe: the programs set it before their first thread
	 * (pgp_locale_init); a caller that did not is single-threaded here */
	if (!locale_set)
		pgp_locale_init();
	/* Before gpgme_check_version: find gpg on PATH rather than asking gpgconf, which
	 * saves three process starts per signature check (each ferry run starts GPGME
	 * afresh). */
	gpgme_set_global_flag("disable-gpgconf", "1");
	if (gpgme_check_version(NULL) == NULL) {
		fe_set(&init_err, FX_IO, "GPGME: library initialisation failed");
		return;
	}
	gpgme_set_locale(NULL, LC_CTYPE, ctype_locale[0] != '\0' ? ctype_locale : NULL);
	if (gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP) != GPG_ERR_NO_ERROR)
		fe_set(&init_err, FX_IO, "GnuPG engine not found (install gnupg)");
}

/* Once per process, whichever thread comes first (a signing key may be looked up on a
 * thread of its own while the main thread goes on); every GPGME call comes after it. */
static int pgp_init(struct ferr *e)
{
	pthread_once(&init_once, pgp_init_once);
	if (init_err.code != FX_OK) {
		*e = init_err;
		return e->code;
	}
	return FX_OK;
}

static int new_ctx(gpgme_ctx_t *ctx, const char *home, struct ferr *e)
{
	gpgme_error_t ge;

	if (pgp_init(e) != FX_OK)
		return e->code;
	ge = gpgme_new(ctx);
	if (ge != GPG_ERR_NO_ERROR)
		return fe_set(e, FX_IO, "GPGME: %s", gpgme_strerror(ge));
	if (home != NULL) {
		ge = gpgme_ctx_set_engine_info(*ctx, GPGME_PROTOCOL_OpenPGP, NULL, home);
		if (ge != GPG_ERR_NO_ERROR) {
			gpgme_release(*ctx);
			*ctx = NULL;
			return fe_set(e, FX_IO, "GPGME: %s", gpgme_strerror(ge));
		}
	}
	return FX_OK;
}

static void fill_signer(gpgme_key_t key, struct pgp_signer *who)
{
	if (key == NULL || who == NULL)
		return;
	if (key->fpr != NULL)
		fx_strlcpy(who->fpr, key->fpr, sizeof(who->fpr));
	if (key->uids != NULL && key->uids->uid != NULL)
		fx_strlcpy(who->uid, key->uids->uid, sizeof(who->uid));
}

static gpgme_error_t passphrase_cb(void *hook, const char *uid_hint, const char *info,
    int prev_bad, int fd)
{
	const char *file = hook;
	struct ferr e = {0};
	char *pw = NULL;
	size_t size = 0, len;
	gpgme_error_t rc = GPG_ERR_NO_ERROR;

	(void)uid_hint;
	(void)info;
	if (prev_bad || file == NULL)
		return gpg_error(GPG_ERR_BAD_PASSPHRASE);
	if (read_file_max(file, 4096, &pw, &size, &e) != FX_OK)
		return gpg_error(GPG_ERR_CANCELED);
	len = size;
	while (len > 0 && (pw[len - 1] == '\n' || pw[len - 1] == '\r'))
		len--;
	if (gpgme_io_writen(fd, pw, len) != 0 || gpgme_io_writen(fd, "\n", 1) != 0)
		rc = gpg_error(GPG_ERR_CANCELED);
	OPENSSL_cleanse(pw, size); /* a memset the compiler may not drop */
	free(pw);
	return rc;
}

/* The secret key fpr names (NULL: the first one), if it may sign. */
static int find_signing_key(const char *fpr, gpgme_key_t *key, struct ferr *e)
{
	gpgme_ctx_t ctx = NULL;
	gpgme_error_t ge;
	int rc;

	*key = NULL;
	if ((rc = new_ctx(&ctx, NULL, e)) != FX_OK)
		goto end;
	if (fpr != NULL) {
		ge = gpgme_get_key(ctx, fpr, key, 1);
		if (ge != GPG_ERR_NO_ERROR) {
			rc = fe_set(e, FX_IO, "signing key %s: %s", ESC(fpr), gpgme_strerror(ge));
			goto end;
		}
	} else {
		ge = gpgme_op_keylist_start(ctx, NULL, 1);
		if (ge == GPG_ERR_NO_ERROR)
			ge = gpgme_op_keylist_next(ctx, key);
		gpgme_op_keylist_end(ctx);
		if (ge != GPG_ERR_NO_ERROR || *key == NULL) {
			rc = fe_set(e, FX_IO, "no secret key in %s (use --sign-key, ferry-pack keygen, or --no-sign)",
			    getenv("GNUPGHOME") ? ESC(getenv("GNUPGHOME")) : "~/.gnupg");
			goto end;
		}
	}
	if ((*key)->revoked || (*key)->expired || (*key)->disabled || !(*key)->can_sign)
		rc = fe_set(e, FX_IO, "signing key %s cannot sign (revoked, expired or no signing capability)",
		    (*key)->fpr ? (*key)->fpr : "?");
end:
	if (rc != FX_OK && *key != NULL) {
		gpgme_key_unref(*key);
		*key = NULL;
	}
	if (ctx != NULL)
		gpgme_release(ctx);
	return rc;
}

static int sign_with_key(gpgme_data_t in, gpgme_key_t key, const char *passfile,
    char **sig, size_t *siglen, struct pgp_signer *who, struct ferr *e)
{
	gpgme_ctx_t ctx = NULL;
	gpgme_data_t out = NULL;
	gpgme_error_t ge;
	gpgme_sign_result_t res;
	char *p;
	size_t n;
	int rc = FX_OK;

	if ((rc = new_ctx(&ctx, NULL, e)) != FX_OK)
		goto end;
	gpgme_set_armor(ctx, 1);
	gpgme_signers_clear(ctx);
	if ((ge = gpgme_signers_add(ctx, key)) != GPG_ERR_NO_ERROR) {
		rc = fe_set(e, FX_IO, "signing key: %s", gpgme_strerror(ge));
		goto end;
	}
	if (passfile != NULL) {
		gpgme_set_pinentry_mode(ctx, GPGME_PINENTRY_MODE_LOOPBACK);
		gpgme_set_passphrase_cb(ctx, passphrase_cb, (void *)(uintptr_t)passfile);
	}
	if (gpgme_data_new(&out) != GPG_ERR_NO_ERROR) {
		rc = fe_set(e, FX_IO, "GPGME: out of memory");
		goto end;
	}
	ge = gpgme_op_sign(ctx, in, out, GPGME_SIG_MODE_DETACH);
	res = gpgme_op_sign_result(ctx);
	if (ge != GPG_ERR_NO_ERROR || res == NULL || res->invalid_signers != NULL || res->signatures == NULL) {
		rc = fe_set(e, FX_IO, "signing with %s failed: %s", key->fpr ? key->fpr : "?",
		    ge != GPG_ERR_NO_ERROR ? gpgme_strerror(ge) : "invalid signer");
		goto end;
	}
	fill_signer(key, who);
	if (who != NULL)
		who->when = (int64_t)res->signatures->timestamp;
	p = gpgme_data_release_and_get_mem(out, &n);
	out = NULL;
	if (p == NULL) {
		rc = fe_set(e, FX_IO, "GPGME: no signature produced");
		goto end;
	}
	*sig = xmalloc(n + 1);
	memcpy(*sig, p, n);
	(*sig)[n] = '\0';
	*siglen = n;
	gpgme_free(p);
end:
	if (out != NULL)
		gpgme_data_release(out);
	if (ctx != NULL)
		gpgme_release(ctx);
	return rc;
}

static int sign_data(gpgme_data_t in, const char *fpr, const char *passfile,
    char **sig, size_t *siglen, struct pgp_signer *who, struct ferr *e)
{
	gpgme_key_t key = NULL;
	int rc;

	if ((rc = find_signing_key(fpr, &key, e)) == FX_OK)
		rc = sign_with_key(in, key, passfile, sig, siglen, who, e);
	if (key != NULL)
		gpgme_key_unref(key);
	return rc;
}

int pgp_sign(const void *buf, size_t len, const char *fpr, const char *passfile,
    char **sig, size_t *siglen, struct pgp_signer *who, struct ferr *e)
{
	gpgme_data_t in = NULL;
	int rc;

	if ((rc = pgp_init(e)) != FX_OK)
		return rc;
	if (gpgme_data_new_from_mem(&in, buf, len, 0) != GPG_ERR_NO_ERROR)
		return fe_set(e, FX_IO, "GPGME: out of memory");
	rc = sign_data(in, fpr, passfile, sig, siglen, who, e);
	gpgme_data_release(in);
	return rc;
}

int pgp_sign_file(const char *path, const char *fpr, const char *passfile, char **sig,
    size_t *siglen, struct ferr *e)
{
	gpgme_data_t in = NULL;
	int rc, fd;

	if ((rc = pgp_init(e)) != FX_OK)
		return rc;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fe_set(e, FX_IO, "%s: %s", ESC(path), strerror(errno));
	if (gpgme_data_new_from_fd(&in, fd) != GPG_ERR_NO_ERROR) {
		close(fd);
		return fe_set(e, FX_IO, "GPGME: out of memory");
	}
	rc = sign_data(in, fpr, passfile, sig, siglen, NULL, e);
	gpgme_data_release(in);
	close(fd);
	return rc;
}

/* A signing key looked up on a thread of its own: the engine check and the key listing
 * (two gpg processes, and gpg-agent started if it is not running) overlap the work
 * before the signature, which then starts only the signing process. */
struct pgp_sign_key {
	char *fpr;         /* as asked (NULL: the first secret key) */
	gpgme_key_t key;   /* found, once joined */
	struct ferr err;   /* why not */
	pthread_t thread;
	int running;       /* the thread is to be joined */
	int done;          /* the lookup has finished (on the thread or in place) */
};

static void *find_key_thread(void *arg)
{
	struct pgp_sign_key *k = arg;

	find_signing_key(k->fpr, &k->key, &k->err);
	return NULL;
}

struct pgp_sign_key *pgp_sign_key_start(const char *fpr)
{
	struct pgp_sign_key *k = xcalloc(1, sizeof(*k));

	k->fpr = fpr != NULL ? xstrdup(fpr) : NULL;
	k->running = pthread_create(&k->thread, NULL, find_key_thread, k) == 0;
	return k;
}

static void sign_key_join(struct pgp_sign_key *k)
{
	if (k->running)
		pthread_join(k->thread, NULL);
	else if (!k->done)
		find_signing_key(k->fpr, &k->key, &k->err); /* no thread: look it up now */
	k->running = 0;
	k->done = 1;
}

int pgp_sign_with(struct pgp_sign_key *k, const void *buf, size_t len, const char *passfile,
    char **sig, size_t *siglen, struct pgp_signer *who, struct ferr *e)
{
	gpgme_data_t in = NULL;
	int rc;

	sign_key_join(k);
	if (k->key == NULL) {
		*e = k->err;
		return e->code != FX_OK ? e->code : fe_set(e, FX_IO, "no signing key");
	}
	if (gpgme_data_new_from_mem(&in, buf, len, 0) != GPG_ERR_NO_ERROR)
		return fe_set(e, FX_IO, "GPGME: out of memory");
	rc = sign_with_key(in, k->key, passfile, sig, siglen, who, e);
	gpgme_data_release(in);
	return rc;
}

void pgp_sign_key_free(struct pgp_sign_key *k)
{
	if (k == NULL)
		return;
	if (k->running)
		pthread_join(k->thread, NULL);
	if (k->key != NULL)
		gpgme_key_unref(k->key);
	free(k->fpr);
	free(k);
}

/* Upper-case hex without spaces; -1 if it is not 40 or 64 hex digits. */
static int norm_fpr(const char *in, char *out, size_t size)
{
	size_t o = 0;

	for (; *in != '\0'; in++) {
		if (*in == ' ' || *in == ':')
			continue;
		if (!isxdigit((unsigned char)*in) || o + 1 >= size)
			return -1;
		out[o++] = (char)toupper((unsigned char)*in);
	}
	out[o] = '\0';
	return o == 40 || o == 64 ? 0 : -1;
}

int pgp_fpr_valid(const char *fpr)
{
	char buf[80];

	return norm_fpr(fpr, buf, sizeof(buf)) == 0;
}

/* Public keys and signatures need no gpg-agent or dirmngr: told not to start them,
 * a check spawns only gpg itself, and nothing is left running afterwards. */
static int quiet_home(const char *home, struct ferr *e)
{
	static const char conf[] = "no-autostart\ntrust-model always\n";
	char *p = xasprintf("%s/gpg.conf", home);
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600), rc = FX_OK;

	if (fd < 0 || write_all(fd, conf, sizeof(conf) - 1) != 0)
		rc = fe_set(e, FX_IO, "%s: %s", ESC(p), strerror(errno));
	if (fd >= 0)
		close(fd);
	free(p);
	return rc;
}

/* Stops any agent GnuPG may have started in the throw-away home, then removes it. */
static void drop_home(const char *home)
{
	char sock[4200];
	pid_t pid = -1;

	snprintf(sock, sizeof(sock), "%s/S.gpg-agent", home);
	if (access(sock, F_OK) == 0)
		pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0) {
			dup2(devnull, 1);
			dup2(devnull, 2);
		}
		execlp("gpgconf", "gpgconf", "--homedir", home, "--kill", "all", (char *)NULL);
		_exit(127);
	} else if (pid > 0) {
		waitpid(pid, NULL, 0);
	}
	rm_tree(home);
}

/* The one key that fpr (a primary key's or a subkey's fingerprint) names, listed on
 * ctx itself. */
static gpgme_error_t key_by_fpr(gpgme_ctx_t ctx, const char *fpr, gpgme_key_t *key)
{
	gpgme_key_t extra = NULL;
	gpgme_error_t ge;

	*key = NULL;
	ge = gpgme_op_keylist_start(ctx, fpr, 0);
	if (ge == GPG_ERR_NO_ERROR)
		ge = gpgme_op_keylist_next(ctx, key);
	if (ge == GPG_ERR_NO_ERROR && gpgme_op_keylist_next(ctx, &extra) == GPG_ERR_NO_ERROR) {
		gpgme_key_unref(extra); /* not one key: refused, as gpgme_get_key does */
		gpgme_key_unref(*key);
		*key = NULL;
		ge = gpg_error(GPG_ERR_AMBIGUOUS_NAME);
	}
	gpgme_op_keylist_end(ctx);
	return ge;
}

/* Imports the operator's keyring (public keys only) into the throw-away home. */
static int import_keyring(gpgme_ctx_t ctx, const char *keyring, const char *keys, size_t len, struct ferr *e)
{
	gpgme_data_t data = NULL;
	gpgme_import_result_t result;
	gpgme_error_t ge;
	int rc = FX_OK;

	if (gpgme_data_new_from_mem(&data, keys, len, 0) != GPG_ERR_NO_ERROR)
		return fe_set(e, FX_IO, "GPGME: out of memory");
	ge = gpgme_op_import(ctx, data);
	result = gpgme_op_import_result(ctx);
	if (ge != GPG_ERR_NO_ERROR || result == NULL || result->imported + result->unchanged == 0)
		rc = fe_set(e, FX_IO, "%s: no OpenPGP public key could be read%s%s", ESC(keyring),
		    ge != GPG_ERR_NO_ERROR ? ": " : "", ge != GPG_ERR_NO_ERROR ? gpgme_strerror(ge) : "");
	else if (result->secret_read > 0 || result->secret_imported > 0)
		rc = fe_set(e, FX_USAGE, "%s: holds a secret key; give the public key only", ESC(keyring));
	gpgme_data_release(data);
	return rc;
}

/* Why a signature GPGME reports is not good, or NULL when it is. */
static const char *signature_problem(gpgme_signature_t s)
{
	if (gpg_err_code(s->status) == GPG_ERR_NO_PUBKEY)
		return "made by a key that is not in the keyring";
	if (gpg_err_code(s->status) == GPG_ERR_BAD_SIGNATURE)
		return "BAD signature (the signed file was changed, or the signature is for other data)";
	if (s->summary & GPGME_SIGSUM_KEY_REVOKED)
		return "signing key is revoked";
	if (s->summary & GPGME_SIGSUM_KEY_EXPIRED)
		return "signing key has expired";
	if (s->summary & GPGME_SIGSUM_SIG_EXPIRED)
		return "signature has expired";
	if (gpg_err_code(s->status) != GPG_ERR_NO_ERROR)
		return gpgme_strerror(s->status);
	return NULL;
}

/* What is kept of a good signature once the verify result is gone. */
struct good_signature {
	char *fpr;
	int64_t when;
};

/* Every signer must be a key of the keyring (a primary or subkey fingerprint naming
 * exactly one key) and, when fingerprints were given, one of them. */
static int check_signers(gpgme_ctx_t ctx, const struct good_signature *sigs, size_t nsig, const char *what,
    const char *keyring, char *const *fprs, size_t nfprs, struct pgp_signer *who, struct ferr *e)
{
	gpgme_key_t key = NULL;
	char want[80];
	size_t i, k;
	int rc = FX_OK, allowed;

	for (i = 0; i < nsig && rc == FX_OK; i++) {
		/* a key listing on this context (gpgme_get_key would start another engine) */
		if (sigs[i].fpr == NULL || key_by_fpr(ctx, sigs[i].fpr, &key) != GPG_ERR_NO_ERROR || key == NULL) {
			rc = fe_set(e, FX_VERIFY, "%s: signing key not found in %s", ESC(what), ESC(keyring));
			break;
		}
		allowed = nfprs == 0;
		for (k = 0; k < nfprs && !allowed; k++)
			allowed = norm_fpr(fprs[k], want, sizeof(want)) == 0 && key->fpr != NULL && strcmp(want, key->fpr) == 0;
		if (!allowed) {
			rc = fe_set(e, FX_VERIFY, "%s: signed by %s, which is not a --fingerprint given", ESC(what),
			    key->fpr ? key->fpr : "?");
		} else {
			fill_signer(key, who);
			if (who != NULL)
				who->when = sigs[i].when;
		}
		gpgme_key_unref(key);
		key = NULL;
	}
	if (rc == FX_OK && nsig == 0)
		rc = fe_set(e, FX_VERIFY, "%s: no good signature", ESC(what));
	return rc;
}

/* A detached signature sig over buf, or (buf NULL) a clear-signed message sig whose
 * signed text goes to *plain. */
static int verify_sig(const void *buf, size_t len, const void *sig, size_t siglen, char **plain, size_t *plain_len,
    const char *what, const char *keyring, char *const *fprs, size_t nfprs, struct pgp_signer *who,
    struct ferr *e)
{
	char home[4096] = "";
	const char *tmp = getenv("TMPDIR"), *why;
	gpgme_ctx_t ctx = NULL;
	gpgme_data_t sig_data = NULL, signed_data = NULL, plain_data = NULL;
	gpgme_verify_result_t result;
	gpgme_signature_t s;
	gpgme_error_t ge;
	char *keys = NULL;
	size_t keys_len, i, nsig = 0;
	struct good_signature *sigs = NULL;
	int rc = FX_OK;

	if ((rc = read_file_max(keyring, 16u << 20, &keys, &keys_len, e)) != FX_OK)
		goto end;
	/* A short path: gpg-agent sockets live there if anything starts one. */
	snprintf(home, sizeof(home), "%s/ferry-gpg.XXXXXX",
	    tmp != NULL && *tmp != '\0' && strlen(tmp) < 60 ? tmp : "/tmp");
	if (mkdtemp(home) == NULL) {
		home[0] = '\0';
		rc = fe_set(e, FX_IO, "cannot create a temporary GnuPG home: %s", strerror(errno));
		goto end;
	}
	if ((rc = quiet_home(home, e)) != FX_OK || (rc = new_ctx(&ctx, home, e)) != FX_OK ||
	    (rc = import_keyring(ctx, keyring, keys, keys_len, e)) != FX_OK)
		goto end;
	if (gpgme_data_new_from_mem(&sig_data, sig, siglen, 0) != GPG_ERR_NO_ERROR ||
	    (buf != NULL && gpgme_data_new_from_mem(&signed_data, buf, len, 0) != GPG_ERR_NO_ERROR) ||
	    (buf == NULL && gpgme_data_new(&plain_data) != GPG_ERR_NO_ERROR)) {
		rc = fe_set(e, FX_IO, "GPGME: out of memory");
		goto end;
	}
	ge = gpgme_op_verify(ctx, sig_data, signed_data, plain_data);
	result = gpgme_op_verify_result(ctx);
	if (ge != GPG_ERR_NO_ERROR || result == NULL || result->signatures == NULL) {
		rc = fe_set(e, FX_VERIFY, "%s: not a valid OpenPGP signature%s%s", ESC(what),
		    ge != GPG_ERR_NO_ERROR ? ": " : "", ge != GPG_ERR_NO_ERROR ? gpgme_strerror(ge) : "");
		goto end;
	}
	/* The result belongs to ctx only until its next operation (the key look-ups in
	 * check_signers), so what is needed of it is copied first. */
	for (s = result->signatures; s != NULL; s = s->next)
		nsig++;
	sigs = xcalloc(nsig, sizeof(*sigs));
	for (s = result->signatures, i = 0; s != NULL; s = s->next, i++) {
		if ((why = signature_problem(s)) != NULL) {
			rc = fe_set(e, FX_VERIFY, "%s: %s%s%s", ESC(what), why, s->fpr ? ": " : "", s->fpr ? s->fpr : "");
			goto end;
		}
		sigs[i].fpr = s->fpr != NULL ? xstrdup(s->fpr) : NULL;
		sigs[i].when = (int64_t)s->timestamp;
	}
	rc = check_signers(ctx, sigs, nsig, what, keyring, fprs, nfprs, who, e);
	if (rc == FX_OK && plain_data != NULL) {
		char *mem = gpgme_data_release_and_get_mem(plain_data, plain_len);

		plain_data = NULL;
		*plain = xmalloc(*plain_len + 1);
		if (mem != NULL && *plain_len > 0)
			memcpy(*plain, mem, *plain_len);
		(*plain)[*plain_len] = '\0';
		if (mem != NULL)
			gpgme_free(mem);
	}
end:
	if (plain_data != NULL)
		gpgme_data_release(plain_data);
	for (i = 0; sigs != NULL && i < nsig; i++)
		free(sigs[i].fpr);
	free(sigs);
	if (signed_data != NULL)
		gpgme_data_release(signed_data);
	if (sig_data != NULL)
		gpgme_data_release(sig_data);
	if (ctx != NULL)
		gpgme_release(ctx);
	if (home[0] != '\0')
		drop_home(home);
	free(keys);
	return rc;
}

int pgp_verify(const void *buf, size_t len, const void *sig, size_t siglen, const char *what,
    const char *keyring, char *const *fprs, size_t nfprs, struct pgp_signer *who,
    struct ferr *e)
{
	return verify_sig(buf, len, sig, siglen, NULL, NULL, what, keyring, fprs, nfprs, who, e);
}

int pgp_verify_clearsigned(const void *msg, size_t len, const char *what, const char *keyring, char **plain,
    size_t *plain_len, struct pgp_signer *who, struct ferr *e)
{
	*plain = NULL;
	*plain_len = 0;
	return verify_sig(NULL, 0, msg, len, plain, plain_len, what, keyring, NULL, 0, who, e);
}

int pgp_keygen(const char *uid, const char *pubout, char fpr_out[64], struct ferr *e)
{
	gpgme_ctx_t ctx = NULL;
	gpgme_data_t out = NULL;
	gpgme_genkey_result_t gr;
	gpgme_error_t ge;
	char *p = NULL;
	size_t n = 0;
	int rc = FX_OK;

	if ((rc = new_ctx(&ctx, NULL, e)) != FX_OK)
		goto end;
	ge = gpgme_op_createkey(ctx, uid, "ed25519", 0, 0, NULL,
	    GPGME_CREATE_SIGN | GPGME_CREATE_NOPASSWD | GPGME_CREATE_FORCE);
	gr = gpgme_op_genkey_result(ctx);
	if (ge != GPG_ERR_NO_ERROR || gr == NULL || gr->fpr == NULL) {
		rc = fe_set(e, FX_IO, "key generation failed: %s", gpgme_strerror(ge));
		goto end;
	}
	fx_strlcpy(fpr_out, gr->fpr, 64);
	if (pubout == NULL)
		goto end;
	gpgme_set_armor(ctx, 1);
	if (gpgme_data_new(&out) != GPG_ERR_NO_ERROR ||
	    gpgme_op_export(ctx, fpr_out, 0, out) != GPG_ERR_NO_ERROR) {
		rc = fe_set(e, FX_IO, "exporting the public key failed");
		goto end;
	}
	p = gpgme_data_release_and_get_mem(out, &n);
	out = NULL;
	if (p == NULL)
		rc = fe_set(e, FX_IO, "exporting the public key failed");
	else
		rc = fx_write_file(pubout, p, n, 0644, 0, e);
end:
	if (p != NULL)
		gpgme_free(p);
	if (out != NULL)
		gpgme_data_release(out);
	if (ctx != NULL)
		gpgme_release(ctx);
	return rc;
}
