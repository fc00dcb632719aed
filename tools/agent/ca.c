/* tools/agent/ca.c: the agent's local CA (see ca.h).  The CA keys are
 * backend keys (soft: agent memory; TPM: persistent in the TPM) and sign
 * through the backend like task keys.  X.509 certificates are built with
 * OpenSSL's X509 API, their TBS part signed by the backend and the
 * certificate assembled and checked here; the OpenSSH certificate
 * (PROTOCOL.certkeys) is a handful of SSH wire fields written with
 * wid_buf. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "wid/buf.h"
#include "wid/err.h"
#include "wid/pubkey.h"
#include "backend.h"
#include "ca.h"
#include "conf.h"
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
	char uri[WID_CONF_URI_MAX];  /* the URI SAN template */
	const struct wid_backend_ops *ops;
	void *bstate;
	void *ssh_key;               /* backend key; NULL until created */
	int ssh_ed25519;             /* 1: Ed25519, 0: ECDSA P-256 */
	uint8_t ssh_blob[WID_SSH_BLOB_MAX]; /* its SSH public key blob */
	size_t ssh_blob_len;
	void *x509_key;              /* backend key (P-256); NULL until created */
	EVP_PKEY *x509_pub;          /* its public key */
	X509 *x509_cert;             /* self-signed */
};

static int load_inlock(struct wid_ca *ca, int64_t now);

static const char *const uri_fields[] = { "{id}", "{scope}", "{host}" };
#define N_URI_FIELDS (sizeof(uri_fields) / sizeof(uri_fields[0]))

/* The placeholder starting at p: its index in uri_fields, its length in
 * *ret_len; N_URI_FIELDS when there is none. */
static size_t
uri_field_at(const char *p, size_t *ret_len)
{
	size_t i;

	for (i = 0; i < N_URI_FIELDS; i++) {
		*ret_len = strlen(uri_fields[i]);
		if (strncmp(p, uri_fields[i], *ret_len) == 0)
			break;
	}
	return i;
}

int
wid_ca_uri_check(const char *tmpl, char *why, size_t whylen)
{
	const char *p = tmpl;
	size_t i, n;
	int has_id = 0;

	if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) {
		snprintf(why, whylen, "expected a URI starting with a scheme "
		    "(e.g. spiffe://DOMAIN/PATH/{id})");
		return WID_E_BADARG;
	}
	while (((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
	    (*p >= '0' && *p <= '9') || *p == '+' || *p == '-' || *p == '.'))
		p++;
	if (strncmp(p, "://", 3) != 0) {
		snprintf(why, whylen, "expected SCHEME:// at the start");
		return WID_E_BADARG;
	}
	for (p = tmpl; *p != '\0'; p++) {
		if (*p <= ' ' || *p >= 0x7f) {
			snprintf(why, whylen, "only printable ASCII without "
			    "spaces");
			return WID_E_BADARG;
		}
		if (*p == '}') {
			snprintf(why, whylen, "'}' outside a placeholder");
			return WID_E_BADARG;
		}
		if (*p != '{')
			continue;
		if ((i = uri_field_at(p, &n)) == N_URI_FIELDS) {
			snprintf(why, whylen, "unknown placeholder at '%.16s' "
			    "(known: {id}, {scope}, {host})", p);
			return WID_E_BADARG;
		}
		has_id |= i == 0;
		p += n - 1;
	}
	if (!has_id) {
		snprintf(why, whylen, "{id} is missing (each certificate "
		    "names its task)");
		return WID_E_BADARG;
	}
	return 0;
}

/* The template with the task's values; WID_E_LIMIT when too long. */
static int
expand_uri(const struct wid_ca *ca, const struct wid_task *task, char *out,
           size_t size)
{
	const char *vals[N_URI_FIELDS];
	const char *p = ca->uri;
	size_t len = 0, i, n, v;

	vals[0] = task->id;
	vals[1] = task->scope[0] != '\0' ? task->scope : "default";
	vals[2] = ca->host;
	while (*p != '\0') {
		const char *add = p;

		n = 1;
		if (*p == '{' && (i = uri_field_at(p, &v)) < N_URI_FIELDS) {
			add = vals[i];
			n = strlen(add);
			p += v - 1;
		}
		if (len + n >= size)
			return WID_E_LIMIT;
		memcpy(out + len, add, n);
		len += n;
		p++;
	}
	out[len] = '\0';
	return 0;
}

int
wid_ca_new(const char *host, const char *uri,
           const struct wid_backend_ops *ops, void *bstate, int64_t now,
           struct wid_ca **ret_ca)
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
	snprintf(ca->uri, sizeof(ca->uri), "%s",
	    uri != NULL && uri[0] != '\0' ? uri : WID_CA_URI_DEFAULT);
	ca->ops = ops;
	ca->bstate = bstate;
	pthread_mutex_lock(&ca->lock);
	if (load_inlock(ca, now) != 0)
		wid_warn("the CA keys kept by the %s backend could not be "
		    "loaded: 'wid-tool ca init' tells why", ops->name);
	pthread_mutex_unlock(&ca->lock);
	*ret_ca = ca;
	return 0;
}

void
wid_ca_free(struct wid_ca *ca)
{
	if (ca == NULL)
		return;
	if (ca->ssh_key != NULL)
		ca->ops->destroy(ca->bstate, ca->ssh_key);
	if (ca->x509_key != NULL)
		ca->ops->destroy(ca->bstate, ca->x509_key);
	EVP_PKEY_free(ca->x509_pub);
	X509_free(ca->x509_cert);
	pthread_mutex_destroy(&ca->lock);
	OPENSSL_cleanse(ca, sizeof(*ca));
	free(ca);
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

/* Signs msg with a CA key through the backend: Ed25519 over msg itself,
 * ECDSA P-256 over its SHA-256 (r || s, 32 bytes each). */
static int
ca_sign(struct wid_ca *ca, void *key, int ed25519, const uint8_t *msg,
        size_t len, uint8_t sig[WID_SIG_MAX], size_t *ret_len)
{
	struct wid_sign_req req;
	uint8_t md[SHA256_DIGEST_LENGTH];
	int r;

	memset(&req, 0, sizeof(req));
	if (ed25519) {
		if (len > UINT16_MAX)
			return WID_E_LIMIT;
		req.alg = WID_SIG_EDDSA;
		req.data = msg;
		req.data_len = (uint16_t)len;
	} else {
		SHA256(msg, len, md);
		req.alg = WID_SIG_ECDSA;
		req.data = md;
		req.data_len = sizeof(md);
	}
	r = ca->ops->sign(ca->bstate, key, &req, sig, ret_len);
	if (r == 0 && *ret_len != 64)   /* Ed25519, and r || s of P-256 */
		r = WID_E_CRYPTO;
	return r;
}

/* A DER tag and length (len < 65536) at p (NULL: only counted); returns
 * its size. */
static size_t
der_header(uint8_t *p, uint8_t tag, size_t len)
{
	if (p == NULL)
		return len < 0x80 ? 2 : len < 0x100 ? 3 : 4;
	p[0] = tag;
	if (len < 0x80) {
		p[1] = (uint8_t)len;
		return 2;
	}
	if (len < 0x100) {
		p[1] = 0x81;
		p[2] = (uint8_t)len;
		return 3;
	}
	p[1] = 0x82;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	return 4;
}

/* Signs x with the X.509 CA key (ecdsa-with-SHA256) and returns the
 * signed certificate in *ret: the backend signs the DER of the TBS part,
 * the certificate (SEQUENCE { tbs, algorithm, BIT STRING }) is put
 * together here, parsed back and verified against the CA public key before
 * anyone sees it. */
static int
x509_sign(struct wid_ca *ca, X509 *x, X509 **ret)
{
	/* OpenSSL 3.0 has no setter for the TBS signature algorithm; the
	 * field belongs to x, which we own, and i2d_re_X509_tbs re-encodes. */
	X509_ALGOR *alg = (X509_ALGOR *)X509_get0_tbs_sigalg(x);
	unsigned char *tbs = NULL, *algder = NULL, *sigder = NULL, *cert = NULL;
	const unsigned char *q;
	uint8_t rs[WID_SIG_MAX];
	size_t rslen, bitlen, body, off, total;
	int tbslen, alglen, siglen, r = WID_E_CRYPTO;

	*ret = NULL;
	if (X509_ALGOR_set0(alg, OBJ_nid2obj(NID_ecdsa_with_SHA256),
	    V_ASN1_UNDEF, NULL) != 1 ||
	    (tbslen = i2d_re_X509_tbs(x, &tbs)) <= 0)
		goto out;
	if ((r = ca_sign(ca, ca->x509_key, 0, tbs, (size_t)tbslen, rs,
	    &rslen)) != 0)
		goto out;
	r = WID_E_CRYPTO;
	if ((siglen = wid_ecdsa_sig_der(rs, 32, rs + 32, 32, &sigder)) <= 0 ||
	    (alglen = i2d_X509_ALGOR(alg, &algder)) <= 0)
		goto out;
	bitlen = (size_t)siglen + 1;
	body = (size_t)tbslen + (size_t)alglen +
	    der_header(NULL, 0x03, bitlen) + bitlen;
	total = der_header(NULL, 0x30, body) + body;
	if (total > WID_CERT_MAX) {
		r = WID_E_LIMIT;
		goto out;
	}
	if ((cert = malloc(total)) == NULL) {
		r = WID_E_NOMEM;
		goto out;
	}
	off = der_header(cert, 0x30, body);
	memcpy(cert + off, tbs, (size_t)tbslen);
	off += (size_t)tbslen;
	memcpy(cert + off, algder, (size_t)alglen);
	off += (size_t)alglen;
	off += der_header(cert + off, 0x03, bitlen);
	cert[off++] = 0x00;                 /* no unused bits */
	memcpy(cert + off, sigder, (size_t)siglen);
	off += (size_t)siglen;
	q = cert;
	if ((*ret = d2i_X509(NULL, &q, (long)off)) == NULL ||
	    q != cert + off || X509_verify(*ret, ca->x509_pub) != 1) {
		wid_error("CA: the certificate just signed does not verify");
		X509_free(*ret);
		*ret = NULL;
		goto out;
	}
	r = 0;
out:
	OPENSSL_free(tbs);
	OPENSSL_free(algder);
	OPENSSL_free(sigder);
	free(cert);
	return r;
}

/* The self-signed CA certificate for the X.509 CA key. */
static int
make_x509_cert_inlock(struct wid_ca *ca, int64_t now)
{
	X509 *x = NULL, *signed_x = NULL;
	X509_NAME *name;
	X509V3_CTX ctx;
	char cn[HOST_MAX + 16];
	int r = WID_E_CRYPTO;

	snprintf(cn, sizeof(cn), "wid CA %s", ca->host);
	if ((x = X509_new()) == NULL ||
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
	    X509_set_pubkey(x, ca->x509_pub) != 1)
		goto out;
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if ((r = add_ext(x, &ctx, NID_basic_constraints,
	    "critical,CA:TRUE,pathlen:0")) != 0 ||
	    (r = add_ext(x, &ctx, NID_key_usage,
	    "critical,keyCertSign,cRLSign")) != 0 ||
	    (r = add_ext(x, &ctx, NID_subject_key_identifier, "hash")) != 0 ||
	    (r = x509_sign(ca, x, &signed_x)) != 0)
		goto out;
	ca->x509_cert = signed_x;
	r = 0;
out:
	X509_free(x);
	return r;
}

/* Keeps the certificate with the key when the backend can. */
static int
store_x509_cert_inlock(struct wid_ca *ca)
{
	unsigned char *der = NULL;
	int n, r = 0;

	if (ca->ops->ca_cert_store == NULL)
		return 0;
	if ((n = i2d_X509(ca->x509_cert, &der)) <= 0)
		return WID_E_CRYPTO;
	r = ca->ops->ca_cert_store(ca->bstate, der, (size_t)n);
	OPENSSL_free(der);
	return r;
}

/* The certificate the backend kept, if it belongs to the key. */
static void
load_x509_cert_inlock(struct wid_ca *ca)
{
	uint8_t der[WID_CERT_MAX];
	const unsigned char *q = der;
	size_t len = 0;
	X509 *x;

	if (ca->ops->ca_cert_load == NULL ||
	    ca->ops->ca_cert_load(ca->bstate, der, sizeof(der), &len) != 0 ||
	    len == 0)
		return;
	if ((x = d2i_X509(NULL, &q, (long)len)) == NULL ||
	    q != der + len || X509_verify(x, ca->x509_pub) != 1 ||
	    EVP_PKEY_eq(X509_get0_pubkey(x), ca->x509_pub) != 1) {
		wid_warn("CA: the stored CA certificate does not belong to "
		    "the CA key: making a new one");
		X509_free(x);
		return;
	}
	ca->x509_cert = x;
}

/* Takes a backend CA key for `which`: its public parts are derived here. */
static int
adopt_key_inlock(struct wid_ca *ca, unsigned which, void *key, int64_t now)
{
	uint8_t spki[WID_SPKI_MAX];
	const unsigned char *q = spki;
	size_t len;
	EVP_PKEY *pk = NULL;
	int r;

	if ((r = ca->ops->spki(ca->bstate, key, spki, &len)) != 0)
		goto fail;
	if (which == WID_CA_SSH) {
		if ((r = wid_pubkey_ssh_blob(spki, len, ca->ssh_blob,
		    sizeof(ca->ssh_blob), &ca->ssh_blob_len)) != 0)
			goto fail;
		ca->ssh_ed25519 = ca->ssh_blob_len > 15 &&
		    memcmp(ca->ssh_blob + 4, "ssh-ed25519", 11) == 0;
		ca->ssh_key = key;
		return 0;
	}
	r = WID_E_CRYPTO;
	if ((pk = d2i_PUBKEY(NULL, &q, (long)len)) == NULL ||
	    q != spki + len || EVP_PKEY_get_id(pk) != EVP_PKEY_EC)
		goto fail;
	ca->x509_key = key;
	ca->x509_pub = pk;
	load_x509_cert_inlock(ca);
	if (ca->x509_cert == NULL &&
	    ((r = make_x509_cert_inlock(ca, now)) != 0 ||
	    (r = store_x509_cert_inlock(ca)) != 0)) {
		X509_free(ca->x509_cert);
		ca->x509_cert = NULL;
		ca->x509_key = NULL;
		ca->x509_pub = NULL;
		goto fail;
	}
	return 0;
fail:
	EVP_PKEY_free(pk);
	ca->ops->destroy(ca->bstate, key);
	return r;
}

/* The CA keys the backend kept from before (TPM), if any. */
static int
load_inlock(struct wid_ca *ca, int64_t now)
{
	static const unsigned which[] = { WID_CA_SSH, WID_CA_X509 };
	void *key;
	size_t i;
	int r, bad = 0;

	if (ca->ops->ca_key == NULL)
		return 0;                /* a backend without CA keys */
	for (i = 0; i < sizeof(which) / sizeof(which[0]); i++) {
		if ((r = ca->ops->ca_key(ca->bstate, which[i], 0, &key)) != 0 ||
		    (key != NULL &&
		    (r = adopt_key_inlock(ca, which[i], key, now)) != 0))
			bad = r;
	}
	return bad;
}

int
wid_ca_init(struct wid_ca *ca, unsigned bits, int64_t now,
            unsigned *ret_created)
{
	static const unsigned which[] = { WID_CA_SSH, WID_CA_X509 };
	unsigned created = 0;
	void *key;
	size_t i;
	int r = 0;

	*ret_created = 0;
	pthread_mutex_lock(&ca->lock);
	for (i = 0; i < sizeof(which) / sizeof(which[0]); i++) {
		if ((bits & which[i]) == 0 ||
		    (which[i] == WID_CA_SSH ? ca->ssh_key : ca->x509_key) !=
		    NULL)
			continue;
		if (ca->ops->ca_key == NULL) {
			r = WID_E_UNSUPPORTED;
			goto out;
		}
		if ((r = ca->ops->ca_key(ca->bstate, which[i], 1, &key)) != 0)
			goto out;
		if (key == NULL) {
			r = WID_E_CRYPTO;
			goto out;
		}
		if ((r = adopt_key_inlock(ca, which[i], key, now)) != 0)
			goto out;
		created |= which[i];
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
static void *
ssh_key(struct wid_ca *ca)
{
	void *k;

	pthread_mutex_lock(&ca->lock);
	k = ca->ssh_key;
	pthread_mutex_unlock(&ca->lock);
	return k;
}

static int
x509_ca(struct wid_ca *ca, X509 **ret_cert)
{
	pthread_mutex_lock(&ca->lock);
	*ret_cert = ca->x509_key != NULL ? ca->x509_cert : NULL;
	pthread_mutex_unlock(&ca->lock);
	return *ret_cert != NULL ? 0 : WID_E_UNSUPPORTED;
}

int
wid_ca_missing(unsigned bits, char *reason, size_t rlen)
{
	int ssh = (bits & WID_CA_SSH) != 0;

	snprintf(reason, rlen, "no %s CA: run 'wid-tool ca init %s' first",
	    ssh ? "OpenSSH" : "X.509", ssh ? "--ssh" : "--x509");
	return WID_E_UNSUPPORTED;
}

/* A certificate covers the task's lifetime, which must be a window. */
static int
window_ok(const struct wid_task *task, char *reason, size_t rlen)
{
	if (task->created >= 0 && task->expires > task->created)
		return 0;
	snprintf(reason, rlen, "task %s has no validity window", task->id);
	return WID_E_BADARG;
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
	X509 *cert;
	unsigned char *p = out;
	int n, r;

	*ret_len = 0;
	if ((r = x509_ca(ca, &cert)) != 0)
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

/* The CA's signature over data as an SSH signature blob (ssh-ed25519 or
 * ecdsa-sha2-nistp256, SHA-256 as RFC 5656 says for P-256). */
static int
put_ssh_sig(struct wid_buf *b, struct wid_ca *ca, void *key,
            const uint8_t *data, size_t len)
{
	uint8_t sig[WID_SIG_MAX], tmp[128];
	size_t siglen;
	struct wid_buf v;
	int r;

	if ((r = ca_sign(ca, key, ca->ssh_ed25519, data, len, sig,
	    &siglen)) != 0)
		return r;
	wid_buf_init(&v, tmp, sizeof(tmp));
	wid_put_sshsig(&v, ca->ssh_ed25519 ? "ssh-ed25519" :
	    "ecdsa-sha2-nistp256", !ca->ssh_ed25519, sig, siglen);
	wid_put_sshstr(b, v.data, v.len);
	return v.err != 0 ? WID_E_INTERNAL : 0;
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
	void *key;
	size_t blen, tlen;
	int r;

	out[0] = '\0';
	if ((key = ssh_key(ca)) == NULL) {
		r = wid_ca_missing(WID_CA_SSH, reason, rlen);
		goto out;
	}
	if ((r = window_ok(task, reason, rlen)) != 0)
		goto out;
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
	if ((r = put_ssh_sig(&b, ca, key, b.data, b.len)) != 0) {
		snprintf(reason, rlen, "the OpenSSH CA key could not sign the "
		    "certificate of task %s (the agent's log says why)",
		    task->id);
		goto out;
	}
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

/* subjectAltName URI from the template, built as a GENERAL_NAME so that
 * no request text goes through OpenSSL's configuration parser. */
static int
add_san_uri(X509 *x, const struct wid_ca *ca, const struct wid_task *task)
{
	GENERAL_NAMES *gens = NULL;
	GENERAL_NAME *gen = NULL;
	ASN1_IA5STRING *ia5 = NULL;
	char uri[WID_CONF_URI_MAX + 2 * WID_NAME_MAX + HOST_MAX];
	int r;

	if ((r = expand_uri(ca, task, uri, sizeof(uri))) != 0)
		return r;
	r = WID_E_CRYPTO;
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
	EVP_PKEY *pk = NULL;
	X509 *cacert, *x = NULL, *signed_x = NULL;
	X509_NAME *name;
	X509V3_CTX ctx;
	unsigned char *p = out;
	int n, r;

	*ret_len = 0;
	if (x509_ca(ca, &cacert) != 0) {
		r = wid_ca_missing(WID_CA_X509, reason, rlen);
		goto out;
	}
	if ((r = window_ok(task, reason, rlen)) != 0)
		goto out;
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
	    (r = add_san_uri(x, ca, task)) != 0)
		goto out;
	if ((r = x509_sign(ca, x, &signed_x)) != 0) {
		snprintf(reason, rlen, "the X.509 CA key could not sign the "
		    "certificate of task %s (the agent's log says why)",
		    task->id);
		goto out;
	}
	r = WID_E_CRYPTO;
	if ((n = i2d_X509(signed_x, NULL)) <= 0 || (size_t)n > size) {
		r = WID_E_LIMIT;
		goto out;
	}
	if (i2d_X509(signed_x, &p) != n)
		goto out;
	*ret_len = (size_t)n;
	r = 0;
out:
	if (r != 0 && reason[0] == '\0')
		snprintf(reason, rlen, "X.509 certificate for task %s: %s",
		    task->id, wid_strerror(r));
	EVP_PKEY_free(pk);
	X509_free(x);
	X509_free(signed_x);
	return r;
}
