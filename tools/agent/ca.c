/* tools/agent/ca.c: the agent's local CA (see ca.h).  X.509 is built with
 * OpenSSL's X509 API; the OpenSSH certificate (PROTOCOL.certkeys) is a
 * handful of SSH wire fields, written here with wid_buf and signed with
 * the Ed25519 CA key through EVP. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "wid/buf.h"
#include "wid/err.h"
#include "wid/pubkey.h"
#include "ca.h"
#include "log.h"

#define SSH_CERT_TYPE_USER 1u
#define SSH_CERT_SUFFIX "-cert-v01@openssh.com"
#define SSH_NONCE_LEN 32
#define SSH_CERT_MAX 6144            /* binary certificate */
#define PRINCIPALS_MAX_COUNT 32
#define HOST_MAX 64

struct wid_ca {
	pthread_mutex_t lock;        /* guards creation of the keys below */
	char host[HOST_MAX + 1];
	EVP_PKEY *ssh_key;           /* Ed25519; NULL until created */
	uint8_t ssh_blob[WID_SSH_BLOB_MAX]; /* its SSH public key blob */
	size_t ssh_blob_len;
	EVP_PKEY *x509_key;          /* P-256; NULL until created */
	X509 *x509_cert;             /* self-signed */
};

int
wid_ca_new(const char *host, struct wid_ca **ret_ca)
{
	struct wid_ca *ca;

	*ret_ca = NULL;
	if ((ca = calloc(1, sizeof(*ca))) == NULL)
		return WID_E_NOMEM;
	if (pthread_mutex_init(&ca->lock, NULL) != 0) {
		free(ca);
		return WID_E_NOMEM;
	}
	snprintf(ca->host, sizeof(ca->host), "%s",
	    host != NULL && host[0] != '\0' ? host : "localhost");
	*ret_ca = ca;
	return 0;
}

void
wid_ca_free(struct wid_ca *ca)
{
	if (ca == NULL)
		return;
	EVP_PKEY_free(ca->ssh_key);
	EVP_PKEY_free(ca->x509_key);
	X509_free(ca->x509_cert);
	pthread_mutex_destroy(&ca->lock);
	OPENSSL_cleanse(ca, sizeof(*ca));
	free(ca);
}

static int
spki_of(EVP_PKEY *pk, uint8_t *out, size_t size, size_t *ret_len)
{
	unsigned char *p = out;
	int n;

	*ret_len = 0;
	if ((n = i2d_PUBKEY(pk, NULL)) <= 0 || (size_t)n > size ||
	    i2d_PUBKEY(pk, &p) != n)
		return WID_E_CRYPTO;
	*ret_len = (size_t)n;
	return 0;
}

/* A positive 127-bit random serial into the certificate. */
static int
set_random_serial(X509 *x)
{
	unsigned char rnd[16];
	BIGNUM *bn = NULL;
	int r = WID_E_CRYPTO;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		goto out;
	rnd[0] &= 0x7f;
	rnd[0] |= 0x40;          /* always 16 bytes long */
	if ((bn = BN_bin2bn(rnd, sizeof(rnd), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		goto out;
	r = 0;
out:
	BN_free(bn);
	return r;
}

/* Adds a v3 extension given in OpenSSL's configuration syntax (fixed
 * strings only: nothing from a request goes through this parser). */
static int
add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext;
	int ok;

	if ((ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value)) == NULL)
		return WID_E_CRYPTO;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : WID_E_CRYPTO;
}

static int
make_x509_ca_inlock(struct wid_ca *ca, int64_t now)
{
	EVP_PKEY *pk = NULL;
	X509 *x = NULL;
	X509_NAME *name;
	X509V3_CTX ctx;
	char cn[HOST_MAX + 16];
	int r = WID_E_CRYPTO;

	snprintf(cn, sizeof(cn), "wid CA %s", ca->host);
	if ((pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    (x = X509_new()) == NULL ||
	    X509_set_version(x, X509_VERSION_3) != 1 ||
	    (r = set_random_serial(x)) != 0)
		goto out;
	r = WID_E_CRYPTO;
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
	    (const unsigned char *)"wid", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 ||
	    ASN1_TIME_set(X509_getm_notBefore(x), (time_t)now) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)(now +
	    (int64_t)WID_CA_X509_DAYS * 86400)) == NULL ||
	    X509_set_pubkey(x, pk) != 1)
		goto out;
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if ((r = add_ext(x, &ctx, NID_basic_constraints,
	    "critical,CA:TRUE,pathlen:0")) != 0 ||
	    (r = add_ext(x, &ctx, NID_key_usage,
	    "critical,keyCertSign,cRLSign")) != 0 ||
	    (r = add_ext(x, &ctx, NID_subject_key_identifier, "hash")) != 0)
		goto out;
	if (X509_sign(x, pk, EVP_sha256()) <= 0) {
		r = WID_E_CRYPTO;
		goto out;
	}
	ca->x509_key = pk;
	ca->x509_cert = x;
	pk = NULL;
	x = NULL;
	r = 0;
out:
	EVP_PKEY_free(pk);
	X509_free(x);
	return r;
}

static int
make_ssh_ca_inlock(struct wid_ca *ca)
{
	EVP_PKEY *pk = NULL;
	uint8_t spki[128];
	size_t spki_len;
	int r = WID_E_CRYPTO;

	if ((pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL)
		goto out;
	if ((r = spki_of(pk, spki, sizeof(spki), &spki_len)) != 0 ||
	    (r = wid_pubkey_ssh_blob(spki, spki_len, ca->ssh_blob,
	    sizeof(ca->ssh_blob), &ca->ssh_blob_len)) != 0)
		goto out;
	ca->ssh_key = pk;
	pk = NULL;
	r = 0;
out:
	EVP_PKEY_free(pk);
	return r;
}

int
wid_ca_init(struct wid_ca *ca, unsigned bits, int64_t now,
            unsigned *ret_created)
{
	unsigned created = 0;
	int r = 0;

	*ret_created = 0;
	pthread_mutex_lock(&ca->lock);
	if ((bits & WID_CA_SSH) != 0 && ca->ssh_key == NULL) {
		if ((r = make_ssh_ca_inlock(ca)) != 0)
			goto out;
		created |= WID_CA_SSH;
	}
	if ((bits & WID_CA_X509) != 0 && ca->x509_key == NULL) {
		if ((r = make_x509_ca_inlock(ca, now)) != 0)
			goto out;
		created |= WID_CA_X509;
	}
	r = 0;
out:
	pthread_mutex_unlock(&ca->lock);
	*ret_created = created;
	return r;
}

unsigned
wid_ca_bits(struct wid_ca *ca)
{
	unsigned bits = 0;

	pthread_mutex_lock(&ca->lock);
	if (ca->ssh_key != NULL)
		bits |= WID_CA_SSH;
	if (ca->x509_key != NULL)
		bits |= WID_CA_X509;
	pthread_mutex_unlock(&ca->lock);
	return bits;
}

/* The published keys never change once set: read them under the lock,
 * use them after. */
static EVP_PKEY *
ssh_key(struct wid_ca *ca)
{
	EVP_PKEY *k;

	pthread_mutex_lock(&ca->lock);
	k = ca->ssh_key;
	pthread_mutex_unlock(&ca->lock);
	return k;
}

static int
x509_ca(struct wid_ca *ca, EVP_PKEY **ret_key, X509 **ret_cert)
{
	pthread_mutex_lock(&ca->lock);
	*ret_key = ca->x509_key;
	*ret_cert = ca->x509_cert;
	pthread_mutex_unlock(&ca->lock);
	return *ret_key != NULL ? 0 : WID_E_UNSUPPORTED;
}

/* "TYPE BASE64[ COMMENT]" of a binary SSH blob that starts with its type
 * string. */
static int
ssh_line(const uint8_t *blob, size_t len, const char *comment, char *out,
         size_t size)
{
	size_t tlen, b64len = 4 * ((len + 2) / 3);
	int w;

	out[0] = '\0';
	if (len < 4)
		return WID_E_INTERNAL;
	tlen = (size_t)blob[0] << 24 | (size_t)blob[1] << 16 |
	    (size_t)blob[2] << 8 | blob[3];
	if (tlen > len - 4)
		return WID_E_INTERNAL;
	w = snprintf(out, size, "%.*s ", (int)tlen, (const char *)blob + 4);
	if (w < 0 || (size_t)w + b64len + 2 + strlen(comment) > size) {
		out[0] = '\0';
		return WID_E_LIMIT;
	}
	if (EVP_EncodeBlock((unsigned char *)out + w, blob, (int)len) !=
	    (int)b64len) {
		out[0] = '\0';
		return WID_E_CRYPTO;
	}
	if (comment[0] != '\0') {
		strcat(out, " ");
		strcat(out, comment);
	}
	return 0;
}

int
wid_ca_ssh_pubkey(struct wid_ca *ca, char *out, size_t size)
{
	char comment[HOST_MAX + 8];

	if (ssh_key(ca) == NULL)
		return WID_E_UNSUPPORTED;
	snprintf(comment, sizeof(comment), "wid-ca@%s", ca->host);
	return ssh_line(ca->ssh_blob, ca->ssh_blob_len, comment, out, size);
}

int
wid_ca_x509_der(struct wid_ca *ca, uint8_t *out, size_t size,
                size_t *ret_len)
{
	EVP_PKEY *key;
	X509 *cert;
	unsigned char *p = out;
	int n, r;

	*ret_len = 0;
	if ((r = x509_ca(ca, &key, &cert)) != 0)
		return r;
	if ((n = i2d_X509(cert, NULL)) <= 0 || (size_t)n > size ||
	    i2d_X509(cert, &p) != n)
		return WID_E_CRYPTO;
	*ret_len = (size_t)n;
	return 0;
}

/* A principal: what sshd compares with a user name; printable, no
 * separator. */
static int
principal_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > WID_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] == 0x7f || s[i] == ',')
			return 0;
	return 1;
}

/* The packed principals string of a comma-separated list. */
static int
put_principals(struct wid_buf *b, const char *list, char *reason, size_t rlen)
{
	const char *p = list, *comma;
	size_t n, count = 0;

	if (list[0] == '\0') {
		snprintf(reason, rlen, "an OpenSSH certificate needs at least "
		    "one principal");
		return WID_E_BADARG;
	}
	for (;;) {
		comma = strchr(p, ',');
		n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (!principal_ok(p, n) || ++count > PRINCIPALS_MAX_COUNT) {
			snprintf(reason, rlen, "invalid principal list (empty, "
			    "unprintable or more than %d names)",
			    PRINCIPALS_MAX_COUNT);
			return WID_E_BADARG;
		}
		wid_put_sshstr(b, p, n);
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return 0;
}

/* Extensions, sorted by name as PROTOCOL.certkeys requires: the usual
 * permit-* flags (empty data) and two informational ones whose data is
 * one string. */
static void
put_extensions(struct wid_buf *b, const struct wid_task *task)
{
	static const char *const permits[] = {
		"permit-X11-forwarding", "permit-agent-forwarding",
		"permit-port-forwarding", "permit-pty", "permit-user-rc",
	};
	uint8_t tmp[WID_INTENT_MAX + WID_NAME_MAX + 64];
	struct wid_buf v;
	char req[WID_NAME_MAX + 48];
	size_t i;

	if (task->intent[0] != '\0') {                /* "intent@wid" */
		wid_buf_init(&v, tmp, sizeof(tmp));
		wid_put_sshstr(&v, task->intent, strlen(task->intent));
		wid_put_sshstr(b, "intent@wid", strlen("intent@wid"));
		wid_put_sshstr(b, v.data, v.len);
	}
	for (i = 0; i < sizeof(permits) / sizeof(permits[0]); i++) {
		wid_put_sshstr(b, permits[i], strlen(permits[i]));
		wid_put_sshstr(b, "", 0);
	}
	if (task->requested_by[0] != '\0')           /* "requester@wid" */
		snprintf(req, sizeof(req), "uid=%u claimed=%s",
		    task->requester_uid, task->requested_by);
	else
		snprintf(req, sizeof(req), "uid=%u", task->requester_uid);
	wid_buf_init(&v, tmp, sizeof(tmp));
	wid_put_sshstr(&v, req, strlen(req));
	wid_put_sshstr(b, "requester@wid", strlen("requester@wid"));
	wid_put_sshstr(b, v.data, v.len);
}

/* Ed25519 signature over data as the SSH "ssh-ed25519" signature blob. */
static int
put_ssh_sig(struct wid_buf *b, EVP_PKEY *key, const uint8_t *data,
            size_t len)
{
	EVP_MD_CTX *md = NULL;
	uint8_t sig[64], tmp[128];
	size_t siglen = sizeof(sig);
	struct wid_buf v;
	int r = WID_E_CRYPTO;

	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, NULL, NULL, key) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, data, len) != 1 || siglen != 64)
		goto out;
	wid_buf_init(&v, tmp, sizeof(tmp));
	wid_put_sshstr(&v, "ssh-ed25519", strlen("ssh-ed25519"));
	wid_put_sshstr(&v, sig, siglen);
	wid_put_sshstr(b, v.data, v.len);
	r = 0;
out:
	EVP_MD_CTX_free(md);
	return r;
}

int
wid_ca_issue_ssh(struct wid_ca *ca, const struct wid_task *task,
                 const char *principals, char *out, size_t size,
                 char *reason, size_t rlen)
{
	uint8_t blob[WID_SSH_BLOB_MAX], nonce[SSH_NONCE_LEN];
	uint8_t *cert = NULL, *plist = NULL;
	char type[64];
	struct wid_buf b, p;
	EVP_PKEY *key;
	size_t blen, tlen;
	int r;

	out[0] = '\0';
	if ((key = ssh_key(ca)) == NULL) {
		snprintf(reason, rlen, "no OpenSSH CA: run 'wid-tool ca init "
		    "--ssh' first");
		r = WID_E_UNSUPPORTED;
		goto out;
	}
	if (task->created < 0 || task->expires <= task->created) {
		snprintf(reason, rlen, "task %s has no validity window",
		    task->id);
		r = WID_E_BADARG;
		goto out;
	}
	if ((cert = malloc(SSH_CERT_MAX)) == NULL ||
	    (plist = malloc(WID_PRINCIPALS_MAX + 4 * PRINCIPALS_MAX_COUNT)) ==
	    NULL) {
		r = WID_E_NOMEM;
		goto out;
	}
	wid_buf_init(&p, plist, WID_PRINCIPALS_MAX + 4 * PRINCIPALS_MAX_COUNT);
	if ((r = put_principals(&p, principals, reason, rlen)) != 0)
		goto out;
	if ((r = wid_pubkey_ssh_blob(task->spki, task->spki_len, blob,
	    sizeof(blob), &blen)) != 0) {
		snprintf(reason, rlen, "task %s: its key has no OpenSSH form",
		    task->id);
		goto out;
	}
	tlen = (size_t)blob[0] << 24 | (size_t)blob[1] << 16 |
	    (size_t)blob[2] << 8 | blob[3];
	if (tlen > blen - 4 || tlen + sizeof(SSH_CERT_SUFFIX) > sizeof(type)) {
		r = WID_E_INTERNAL;
		goto out;
	}
	snprintf(type, sizeof(type), "%.*s" SSH_CERT_SUFFIX, (int)tlen,
	    (const char *)blob + 4);
	if (RAND_bytes(nonce, sizeof(nonce)) != 1) {
		r = WID_E_CRYPTO;
		goto out;
	}
	wid_buf_init(&b, cert, SSH_CERT_MAX);
	wid_put_sshstr(&b, type, strlen(type));
	wid_put_sshstr(&b, nonce, sizeof(nonce));
	wid_put_bytes(&b, blob + 4 + tlen, blen - 4 - tlen); /* key fields */
	wid_put_u64(&b, task->serial);
	wid_put_u32(&b, SSH_CERT_TYPE_USER);
	wid_put_sshstr(&b, task->id, strlen(task->id));          /* key id */
	wid_put_sshstr(&b, p.data, p.len);
	wid_put_u64(&b, (uint64_t)task->created);            /* valid after */
	wid_put_u64(&b, (uint64_t)task->expires);            /* valid before */
	wid_put_sshstr(&b, "", 0);                               /* critical */
	{
		uint8_t ext[1024];
		struct wid_buf e;

		wid_buf_init(&e, ext, sizeof(ext));
		put_extensions(&e, task);
		if (e.err != 0) {
			r = WID_E_INTERNAL;
			goto out;
		}
		wid_put_sshstr(&b, e.data, e.len);
	}
	wid_put_sshstr(&b, "", 0);                               /* reserved */
	wid_put_sshstr(&b, ca->ssh_blob, ca->ssh_blob_len);      /* signature key */
	if (b.err != 0) {
		r = WID_E_LIMIT;
		goto out;
	}
	if ((r = put_ssh_sig(&b, key, b.data, b.len)) != 0)
		goto out;
	if (b.err != 0) {
		r = WID_E_LIMIT;
		goto out;
	}
	if ((r = ssh_line(b.data, b.len, task->id, out, size)) != 0)
		goto out;
	r = 0;
out:
	if (r != 0 && reason[0] == '\0')
		snprintf(reason, rlen, "OpenSSH certificate for task %s: %s",
		    task->id, wid_strerror(r));
	free(cert);
	free(plist);
	return r;
}

/* subjectAltName URI:wid://HOST/task/ID, built as a GENERAL_NAME so that
 * no request text goes through OpenSSL's configuration parser. */
static int
add_san_uri(X509 *x, const char *host, const char *id)
{
	GENERAL_NAMES *gens = NULL;
	GENERAL_NAME *gen = NULL;
	ASN1_IA5STRING *ia5 = NULL;
	char uri[HOST_MAX + WID_TASK_ID_MAX + 32];
	int r = WID_E_CRYPTO;

	snprintf(uri, sizeof(uri), "wid://%s/task/%s", host, id);
	if ((gens = sk_GENERAL_NAME_new_null()) == NULL ||
	    (gen = GENERAL_NAME_new()) == NULL ||
	    (ia5 = ASN1_IA5STRING_new()) == NULL ||
	    ASN1_STRING_set(ia5, uri, -1) != 1)
		goto out;
	GENERAL_NAME_set0_value(gen, GEN_URI, ia5);
	ia5 = NULL;
	if (sk_GENERAL_NAME_push(gens, gen) <= 0)
		goto out;
	gen = NULL;
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0) != 1)
		goto out;
	r = 0;
out:
	ASN1_IA5STRING_free(ia5);
	GENERAL_NAME_free(gen);
	GENERAL_NAMES_free(gens);
	return r;
}

int
wid_ca_issue_x509(struct wid_ca *ca, const struct wid_task *task,
                  uint8_t *out, size_t size, size_t *ret_len,
                  char *reason, size_t rlen)
{
	const unsigned char *der = task->spki;
	EVP_PKEY *cakey, *pk = NULL;
	X509 *cacert, *x = NULL;
	X509_NAME *name;
	X509V3_CTX ctx;
	unsigned char *p = out;
	int n, r;

	*ret_len = 0;
	if (x509_ca(ca, &cakey, &cacert) != 0) {
		snprintf(reason, rlen, "no X.509 CA: run 'wid-tool ca init "
		    "--x509' first");
		r = WID_E_UNSUPPORTED;
		goto out;
	}
	if (task->created < 0 || task->expires <= task->created) {
		snprintf(reason, rlen, "task %s has no validity window",
		    task->id);
		r = WID_E_BADARG;
		goto out;
	}
	r = WID_E_CRYPTO;
	if ((pk = d2i_PUBKEY(NULL, &der, task->spki_len)) == NULL ||
	    der != task->spki + task->spki_len ||
	    (x = X509_new()) == NULL ||
	    X509_set_version(x, X509_VERSION_3) != 1 ||
	    (r = set_random_serial(x)) != 0)
		goto out;
	r = WID_E_CRYPTO;
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
	    (const unsigned char *)"wid", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)task->id, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(cacert)) != 1 ||
	    ASN1_TIME_set(X509_getm_notBefore(x), (time_t)task->created) ==
	    NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)task->expires) ==
	    NULL ||
	    X509_set_pubkey(x, pk) != 1)
		goto out;
	X509V3_set_ctx(&ctx, cacert, x, NULL, NULL, 0);
	if ((r = add_ext(x, &ctx, NID_basic_constraints,
	    "critical,CA:FALSE")) != 0 ||
	    (r = add_ext(x, &ctx, NID_key_usage,
	    "critical,digitalSignature")) != 0 ||
	    (r = add_ext(x, &ctx, NID_ext_key_usage, "clientAuth")) != 0 ||
	    (r = add_ext(x, &ctx, NID_subject_key_identifier, "hash")) != 0 ||
	    (r = add_ext(x, &ctx, NID_authority_key_identifier,
	    "keyid:always")) != 0 ||
	    (r = add_san_uri(x, ca->host, task->id)) != 0)
		goto out;
	r = WID_E_CRYPTO;
	if (X509_sign(x, cakey, EVP_sha256()) <= 0)
		goto out;
	if ((n = i2d_X509(x, NULL)) <= 0 || (size_t)n > size) {
		r = WID_E_LIMIT;
		goto out;
	}
	if (i2d_X509(x, &p) != n)
		goto out;
	*ret_len = (size_t)n;
	r = 0;
out:
	if (r != 0 && reason[0] == '\0')
		snprintf(reason, rlen, "X.509 certificate for task %s: %s",
		    task->id, wid_strerror(r));
	EVP_PKEY_free(pk);
	X509_free(x);
	return r;
}
