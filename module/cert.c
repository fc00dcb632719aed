/* module/cert.c: the CKO_CERTIFICATE object of a task key that has an
 * X.509 certificate (WID_TASK_HAS_X509): its attributes, and a small
 * cache of the certificates fetched from the agent (one CERT_GET per task,
 * only when an attribute needs the DER; keyed by serial and key id, pruned
 * against the listing). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/x509.h>

#include "wid/client.h"
#include "wid/err.h"
#include "wid/proto.h"
#include "module.h"

struct cert_entry {
	uint64_t serial;
	uint8_t key_id[WID_KEY_ID_LEN];
	uint8_t *der;                /* one allocation: der, subject, issuer, sn */
	size_t der_len;
	const uint8_t *subject, *issuer, *sn;
	size_t subject_len, issuer_len, sn_len;
};

/* Guarded by wid_g.lock like everything in wid_g. */
static struct {
	struct cert_entry *e;
	size_t n, cap;
} cache;

void
wid_certs_free_inlock(void)
{
	size_t i;

	for (i = 0; i < cache.n; i++)
		free(cache.e[i].der);
	free(cache.e);
	memset(&cache, 0, sizeof(cache));
}

static struct cert_entry *
find_inlock(const struct wid_task *t)
{
	size_t i;

	for (i = 0; i < cache.n; i++)
		if (cache.e[i].serial == t->serial &&
		    memcmp(cache.e[i].key_id, t->key_id, WID_KEY_ID_LEN) == 0)
			return &cache.e[i];
	return NULL;
}

/* Drops entries whose task is no longer listed. */
static void
prune_inlock(void)
{
	size_t i, j;

	for (i = 0, j = 0; i < cache.n; i++) {
		if (wid_key_by_serial_inlock(cache.e[i].serial) == NULL) {
			free(cache.e[i].der);
			continue;
		}
		cache.e[j++] = cache.e[i];
	}
	cache.n = j;
}

/* Splits a DER certificate into the pieces PKCS#11 exposes, all in one
 * allocation owned by the entry. */
static int
entry_fill(struct cert_entry *ce, const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	unsigned char *q;
	X509 *x = NULL;
	int ns, ni, nn, r = WID_E_PROTO;

	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL || p != der + len)
		goto out;
	ns = i2d_X509_NAME(X509_get_subject_name(x), NULL);
	ni = i2d_X509_NAME(X509_get_issuer_name(x), NULL);
	nn = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), NULL);
	if (ns <= 0 || ni <= 0 || nn <= 0)
		goto out;
	if ((ce->der = malloc(len + (size_t)ns + (size_t)ni +
	    (size_t)nn)) == NULL) {
		r = WID_E_NOMEM;
		goto out;
	}
	memcpy(ce->der, der, len);
	ce->der_len = len;
	q = ce->der + len;
	ce->subject = q;
	ce->subject_len = (size_t)i2d_X509_NAME(X509_get_subject_name(x), &q);
	ce->issuer = q;
	ce->issuer_len = (size_t)i2d_X509_NAME(X509_get_issuer_name(x), &q);
	ce->sn = q;
	ce->sn_len = (size_t)i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &q);
	if (ce->subject_len != (size_t)ns || ce->issuer_len != (size_t)ni ||
	    ce->sn_len != (size_t)nn) {
		free(ce->der);
		ce->der = NULL;
		goto out;
	}
	r = 0;
out:
	X509_free(x);
	return r;
}

/* One CERT_GET for the task's X.509 certificate into a new cache entry.
 * The one round trip made with the module mutex held: it happens once per
 * task per process, and dropping the mutex here would let a refresh free
 * the key the caller is reading. */
static int
fetch_inlock(const struct wid_task *t, struct cert_entry **ret)
{
	struct wid_cert_req req;
	struct cert_entry ce, *n;
	struct wid_pconn *pc = NULL;
	struct wid_buf *b;
	const uint8_t *p;
	uint16_t status, len;
	size_t cap;
	int r;

	*ret = NULL;
	memset(&ce, 0, sizeof(ce));
	memset(&req, 0, sizeof(req));
	memcpy(req.id, t->id, sizeof(req.id));
	req.kind = WID_CERT_X509_DER;
	if ((pc = wid_pconn_get_inlock(&r)) == NULL)
		goto out;
	b = wid_conn_req(&pc->c, WID_OP_CERT_GET);
	wid_cert_req_encode(b, &req);
	if ((r = wid_conn_call(&pc->c, &status)) != 0)
		goto out;
	b = &pc->c.buf;
	if (status != WID_OK) {
		r = status;
		goto out;
	}
	if (wid_get_blob(b, &p, &len, WID_CERT_MAX) != 0 ||
	    wid_get_end(b) != 0) {
		wid_conn_close(&pc->c);   /* out of step: do not reuse */
		r = WID_E_PROTO;
		goto out;
	}
	if ((r = entry_fill(&ce, p, len)) != 0)
		goto out;
	prune_inlock();
	if (cache.n == cache.cap) {
		cap = cache.cap == 0 ? 8 : cache.cap * 2;
		if ((n = realloc(cache.e, cap * sizeof(*n))) == NULL) {
			r = WID_E_NOMEM;
			goto out;
		}
		cache.e = n;
		cache.cap = cap;
	}
	ce.serial = t->serial;
	memcpy(ce.key_id, t->key_id, WID_KEY_ID_LEN);
	cache.e[cache.n] = ce;
	*ret = &cache.e[cache.n++];
	ce.der = NULL;
	r = 0;
out:
	free(ce.der);
	wid_pconn_put_inlock(pc);
	if (r != 0)
		wid_dbg("task %s: certificate not available: %s", t->id,
		    wid_strerror(r));
	return r;
}

int
wid_key_has_cert(const struct wid_key *k)
{
	return (k->task.flags & WID_TASK_HAS_X509) != 0;
}

CK_RV
wid_cert_attr_inlock(struct wid_key *k, CK_ATTRIBUTE_TYPE type,
    CK_ULONG *ul, CK_BBOOL *b, CK_DATE *date, const void **ret_p,
    CK_ULONG *ret_len)
{
	const struct wid_task *t = &k->task;
	struct cert_entry *ce;

	*ret_p = NULL;
	*ret_len = 0;
	switch (type) {
	case CKA_CLASS:
		*ul = CKO_CERTIFICATE;
		goto ul;
	case CKA_CERTIFICATE_TYPE:
		*ul = CKC_X_509;
		goto ul;
	case CKA_CERTIFICATE_CATEGORY:
		*ul = 1;           /* CK_CERTIFICATE_CATEGORY_TOKEN_USER */
		goto ul;
	case CKA_JAVA_MIDP_SECURITY_DOMAIN:
		*ul = 0;           /* CK_SECURITY_DOMAIN_UNSPECIFIED */
		goto ul;
	case CKA_TOKEN:
		*b = CK_TRUE;
		goto b;
	case CKA_PRIVATE:
	case CKA_MODIFIABLE:
	case CKA_COPYABLE:
	case CKA_DESTROYABLE:
	case CKA_TRUSTED:
		*b = CK_FALSE;
		goto b;
	case CKA_LABEL:
		*ret_p = t->id;
		*ret_len = strlen(t->id);
		return CKR_OK;
	case CKA_ID:
		*ret_p = t->key_id;
		*ret_len = WID_KEY_ID_LEN;
		return CKR_OK;
	case CKA_START_DATE:
	case CKA_END_DATE:
		/* The certificate is valid exactly over the task's life. */
		wid_ck_date(type == CKA_START_DATE ? t->created : t->expires,
		    date);
		*ret_p = date;
		*ret_len = sizeof(*date);
		return CKR_OK;
	case CKA_PUBLIC_KEY_INFO:
		*ret_p = t->spki;
		*ret_len = t->spki_len;
		return CKR_OK;
	case CKA_VALUE:
	case CKA_SUBJECT:
	case CKA_ISSUER:
	case CKA_SERIAL_NUMBER:
		break;
	default:
		return CKR_ATTRIBUTE_TYPE_INVALID;
	}
	if ((ce = find_inlock(t)) == NULL && fetch_inlock(t, &ce) != 0)
		return CKR_FUNCTION_FAILED;
	switch (type) {
	case CKA_VALUE:
		*ret_p = ce->der;
		*ret_len = ce->der_len;
		break;
	case CKA_SUBJECT:
		*ret_p = ce->subject;
		*ret_len = ce->subject_len;
		break;
	case CKA_ISSUER:
		*ret_p = ce->issuer;
		*ret_len = ce->issuer_len;
		break;
	default:
		*ret_p = ce->sn;
		*ret_len = ce->sn_len;
		break;
	}
	return CKR_OK;
ul:
	*ret_p = ul;
	*ret_len = sizeof(*ul);
	return CKR_OK;
b:
	*ret_p = b;
	*ret_len = sizeof(*b);
	return CKR_OK;
}
