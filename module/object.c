/* module/object.c: the objects derived from the cached listing (a private
 * and a public key per task key), their attributes, and find. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/objects.h>

#include "wid/proto.h"
#include "wid/pubkey.h"
#include "module.h"

/* DER named-curve OIDs for CKA_EC_PARAMS. */
static const uint8_t oid_p256[] = {
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07
};
static const uint8_t oid_p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
static const uint8_t oid_ed25519[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };

CK_SLOT_ID
wid_key_slot(int key_type)
{
	return key_type == WID_KEY_ED25519 ? WID_SLOT_ED : WID_SLOT_EC;
}

CK_KEY_TYPE
wid_key_cktype(int key_type)
{
	switch (key_type) {
	case WID_KEY_EC_P256:
	case WID_KEY_EC_P384:
		return CKK_EC;
	case WID_KEY_ED25519:
		return CKK_EC_EDWARDS;
	default:
		return CKK_RSA;
	}
}

struct wid_key *
wid_key_by_serial_inlock(uint64_t serial)
{
	size_t lo = 0, hi = wid_g.list.n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct wid_key *k = &wid_g.list.keys[mid];

		if (k->task.serial == serial)
			return k;
		if (k->task.serial < serial)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

struct wid_key *
wid_key_by_handle_inlock(CK_OBJECT_HANDLE h, CK_ULONG *ret_kind)
{
	CK_ULONG kind = h & 3;

	struct wid_key *k;

	*ret_kind = 0;
	if (kind != WID_OBJ_PRIVATE && kind != WID_OBJ_PUBLIC &&
	    kind != WID_OBJ_CERT)
		return NULL;
	if ((k = wid_key_by_serial_inlock((uint64_t)(h >> 2))) == NULL ||
	    (kind == WID_OBJ_CERT && !wid_key_has_cert(k)))
		return NULL;
	*ret_kind = kind;
	return k;
}

static int
put_octets(struct wid_pub *p, const uint8_t *v, size_t n)
{
	if (n > 127 || n + 2 > sizeof(p->point))
		return -1;
	p->point[0] = 0x04;
	p->point[1] = (uint8_t)n;
	memcpy(p->point + 2, v, n);
	p->point_len = n + 2;
	return 0;
}

/* Decomposes the SPKI once (wid_spki_parse: ASN.1 templates only, no
 * key object, so nothing depends on the host program's providers or
 * engines): the EC point / Ed25519 key as a DER OCTET STRING, or the RSA
 * modulus and exponent, checked against the key type. */
static int
decompose(struct wid_key *k)
{
	struct wid_pub *p = &k->pub;
	const struct wid_task *t = &k->task;
	struct wid_spki s;
	int r = -1;

	if (p->done != 0)
		return p->done > 0 ? 0 : -1;
	if (wid_spki_parse(t->spki, t->spki_len, &s) != 0)
		goto out;
	switch (t->key_type) {
	case WID_KEY_EC_P256:
	case WID_KEY_EC_P384:
		if (s.kind != WID_SPKI_EC || s.curve !=
		    (t->key_type == WID_KEY_EC_P256 ? NID_X9_62_prime256v1 :
		    NID_secp384r1) || put_octets(p, s.key, s.key_len) != 0)
			goto out;
		break;
	case WID_KEY_ED25519:
		if (s.kind != WID_SPKI_ED25519 ||
		    put_octets(p, s.key, s.key_len) != 0)
			goto out;
		break;
	case WID_KEY_RSA2048:
	case WID_KEY_RSA3072:
		if (s.kind != WID_SPKI_RSA || s.n_len !=
		    (t->key_type == WID_KEY_RSA2048 ? 256u : 384u) ||
		    (s.n[0] & 0x80) == 0 || s.n_len > sizeof(p->modulus) ||
		    s.e_len > sizeof(p->exponent))
			goto out;
		memcpy(p->modulus, s.n, s.n_len);
		p->modulus_len = s.n_len;
		memcpy(p->exponent, s.e, s.e_len);
		p->exponent_len = s.e_len;
		break;
	default:
		goto out;
	}
	r = 0;
out:
	p->done = r == 0 ? 1 : -1;
	if (r != 0)
		wid_dbg("task %s: cannot decompose its public key", t->id);
	return r;
}

static void to_date(int64_t when, CK_DATE *d);

void
wid_ck_date(int64_t when, CK_DATE *d)
{
	to_date(when, d);
}

static void
to_date(int64_t when, CK_DATE *d)
{
	struct tm tm;
	time_t tt = (time_t)when;
	char buf[16];

	memset(d, '0', sizeof(*d));
	if (gmtime_r(&tt, &tm) == NULL || tm.tm_year + 1900 > 9999 ||
	    tm.tm_year + 1900 < 0)
		return;
	snprintf(buf, sizeof(buf), "%04d%02d%02d", (tm.tm_year + 1900) % 10000,
	    (tm.tm_mon + 1) % 100, tm.tm_mday % 100);
	memcpy(d->year, buf, 4);
	memcpy(d->month, buf + 4, 2);
	memcpy(d->day, buf + 6, 2);
}

/* Scratch for values that are not stored in the listing. */
union scratch {
	CK_ULONG ul;
	CK_BBOOL b;
	CK_DATE date;
	CK_MECHANISM_TYPE mechs[16];
};

static int
is_ec(const struct wid_task *t)
{
	return t->key_type == WID_KEY_EC_P256 || t->key_type == WID_KEY_EC_P384 ||
	    t->key_type == WID_KEY_ED25519;
}

/* The value of one attribute of one object: CKR_OK with ret_p and ret_len set,
 * CKR_ATTRIBUTE_SENSITIVE, CKR_ATTRIBUTE_TYPE_INVALID, or a failure. */
static CK_RV
attr_value(struct wid_key *k, CK_ULONG kind, CK_ATTRIBUTE_TYPE type,
    union scratch *s, const void **ret_p, CK_ULONG *ret_len)
{
	const struct wid_task *t = &k->task;
	int priv = kind == WID_OBJ_PRIVATE;
	int rsa = !is_ec(t);
	int boolval = -1;
	size_t n;

	*ret_p = NULL;
	*ret_len = 0;
	if (kind == WID_OBJ_CERT)
		return wid_cert_attr_inlock(k, type, &s->ul, &s->b, &s->date,
		    ret_p, ret_len);
	switch (type) {
	case CKA_CLASS:
		s->ul = priv ? CKO_PRIVATE_KEY : CKO_PUBLIC_KEY;
		goto ul;
	case CKA_KEY_TYPE:
		s->ul = wid_key_cktype(t->key_type);
		goto ul;
	case CKA_KEY_GEN_MECHANISM:
		s->ul = rsa ? CKM_RSA_PKCS_KEY_PAIR_GEN :
		    t->key_type == WID_KEY_ED25519 ? CKM_EC_EDWARDS_KEY_PAIR_GEN :
		    CKM_EC_KEY_PAIR_GEN;
		goto ul;
	case CKA_LABEL:
		*ret_p = t->id;
		*ret_len = strlen(t->id);
		return CKR_OK;
	case CKA_ID:
		*ret_p = t->key_id;
		*ret_len = WID_KEY_ID_LEN;
		return CKR_OK;
	case CKA_SUBJECT:
		*ret_p = "";
		*ret_len = 0;
		return CKR_OK;
	case CKA_START_DATE:
	case CKA_END_DATE:
		to_date(type == CKA_START_DATE ? t->created : t->expires, &s->date);
		*ret_p = &s->date;
		*ret_len = sizeof(s->date);
		return CKR_OK;
	case CKA_PUBLIC_KEY_INFO:
		*ret_p = t->spki;
		*ret_len = t->spki_len;
		return CKR_OK;
	case CKA_ALLOWED_MECHANISMS:
		if (wid_allowed_mechs(t->key_type, s->mechs,
		    sizeof(s->mechs) / sizeof(s->mechs[0]), &n) != CKR_OK)
			return CKR_FUNCTION_FAILED;
		*ret_p = s->mechs;
		*ret_len = n * sizeof(s->mechs[0]);
		return CKR_OK;
	case CKA_TOKEN:
	case CKA_LOCAL:
		boolval = 1;
		break;
	case CKA_PRIVATE:
	case CKA_MODIFIABLE:
	case CKA_COPYABLE:
	case CKA_DESTROYABLE:
	case CKA_DERIVE:
		boolval = 0;
		break;
	case CKA_EC_PARAMS:
		if (rsa)
			return CKR_ATTRIBUTE_TYPE_INVALID;
		*ret_p = t->key_type == WID_KEY_EC_P256 ? oid_p256 :
		    t->key_type == WID_KEY_EC_P384 ? oid_p384 : oid_ed25519;
		*ret_len = t->key_type == WID_KEY_EC_P256 ? sizeof(oid_p256) :
		    t->key_type == WID_KEY_EC_P384 ? sizeof(oid_p384) :
		    sizeof(oid_ed25519);
		return CKR_OK;
	case CKA_EC_POINT:
		if (rsa)
			return CKR_ATTRIBUTE_TYPE_INVALID;
		if (decompose(k) != 0)
			return CKR_FUNCTION_FAILED;
		*ret_p = k->pub.point;
		*ret_len = k->pub.point_len;
		return CKR_OK;
	case CKA_MODULUS:
	case CKA_PUBLIC_EXPONENT:
		if (!rsa)
			return CKR_ATTRIBUTE_TYPE_INVALID;
		if (decompose(k) != 0)
			return CKR_FUNCTION_FAILED;
		*ret_p = type == CKA_MODULUS ? k->pub.modulus : k->pub.exponent;
		*ret_len = type == CKA_MODULUS ? k->pub.modulus_len :
		    k->pub.exponent_len;
		return CKR_OK;
	case CKA_MODULUS_BITS:
		if (!rsa)
			return CKR_ATTRIBUTE_TYPE_INVALID;
		s->ul = t->key_type == WID_KEY_RSA2048 ? 2048 : 3072;
		goto ul;
	default:
		break;
	}
	if (boolval < 0 && priv) {
		switch (type) {
		case CKA_SIGN:
		case CKA_SENSITIVE:
		case CKA_ALWAYS_SENSITIVE:
		case CKA_NEVER_EXTRACTABLE:
			boolval = 1;
			break;
		case CKA_DECRYPT:
		case CKA_UNWRAP:
		case CKA_SIGN_RECOVER:
		case CKA_EXTRACTABLE:
		case CKA_ALWAYS_AUTHENTICATE:
		case CKA_WRAP_WITH_TRUSTED:
			boolval = 0;
			break;
		case CKA_VALUE:
			return CKR_ATTRIBUTE_SENSITIVE;
		case CKA_PRIVATE_EXPONENT:
		case CKA_PRIME_1:
		case CKA_PRIME_2:
		case CKA_EXPONENT_1:
		case CKA_EXPONENT_2:
		case CKA_COEFFICIENT:
			return rsa ? CKR_ATTRIBUTE_SENSITIVE :
			    CKR_ATTRIBUTE_TYPE_INVALID;
		default:
			break;
		}
	} else if (boolval < 0) {
		switch (type) {
		case CKA_VERIFY:
			boolval = 1;
			break;
		case CKA_ENCRYPT:
		case CKA_WRAP:
		case CKA_VERIFY_RECOVER:
		case CKA_TRUSTED:
			boolval = 0;
			break;
		default:
			break;
		}
	}
	if (boolval < 0)
		return CKR_ATTRIBUTE_TYPE_INVALID;
	s->b = boolval ? CK_TRUE : CK_FALSE;
	*ret_p = &s->b;
	*ret_len = sizeof(s->b);
	return CKR_OK;
ul:
	*ret_p = &s->ul;
	*ret_len = sizeof(s->ul);
	return CKR_OK;
}

/* C_GetAttributeValue semantics: every attribute is processed; the result
 * is the last "worst" error (sensitive, type invalid, buffer too small);
 * the failed ones get CK_UNAVAILABLE_INFORMATION. */
CK_RV
wid_get_attrs_inlock(struct wid_key *k, CK_ULONG kind,
    CK_ATTRIBUTE_PTR templ, CK_ULONG count)
{
	CK_RV rv = CKR_OK, r;
	CK_ULONG i, len;
	const void *p;
	union scratch s;

	for (i = 0; i < count; i++) {
		CK_ATTRIBUTE_PTR a = &templ[i];

		r = attr_value(k, kind, a->type, &s, &p, &len);
		if (r == CKR_OK && a->pValue != NULL) {
			if (a->ulValueLen < len)
				r = CKR_BUFFER_TOO_SMALL;
			else if (len > 0)
				memcpy(a->pValue, p, len);
		}
		if (r == CKR_OK) {
			a->ulValueLen = len;
			continue;
		}
		a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
		if (r != CKR_ATTRIBUTE_SENSITIVE &&
		    r != CKR_ATTRIBUTE_TYPE_INVALID && r != CKR_BUFFER_TOO_SMALL)
			return r;
		rv = r;
	}
	return rv;
}

int
wid_match_inlock(struct wid_key *k, CK_ULONG kind, CK_ATTRIBUTE_PTR templ,
    CK_ULONG count)
{
	CK_ULONG i, len;
	const void *p;
	union scratch s;

	for (i = 0; i < count; i++) {
		if (attr_value(k, kind, templ[i].type, &s, &p, &len) != CKR_OK)
			return 0;
		if (len != templ[i].ulValueLen)
			return 0;
		if (len > 0 && (templ[i].pValue == NULL ||
		    memcmp(p, templ[i].pValue, len) != 0))
			return 0;
	}
	return 1;
}

static CK_RV
find_push(struct wid_find_op *f, CK_OBJECT_HANDLE h)
{
	CK_OBJECT_HANDLE *n;
	size_t cap;

	if (f->n == f->cap) {
		cap = f->cap == 0 ? 16 : f->cap * 2;
		if (cap > SIZE_MAX / sizeof(*n) ||
		    (n = realloc(f->h, cap * sizeof(*n))) == NULL)
			return CKR_HOST_MEMORY;
		f->h = n;
		f->cap = cap;
	}
	f->h[f->n++] = h;
	return CKR_OK;
}

/* Collects the matching handles of the session's slot into the session's
 * (reused) result array. */
CK_RV
wid_find_init_inlock(struct wid_session *s, CK_ATTRIBUTE_PTR templ,
    CK_ULONG count)
{
	struct wid_find_op *f = &s->find;
	CK_ULONG kind;
	size_t i;
	CK_RV rv;

	f->n = f->pos = 0;
	for (i = 0; i < wid_g.list.n; i++) {
		struct wid_key *k = &wid_g.list.keys[i];

		if (k->slot != s->slot)
			continue;
		for (kind = WID_OBJ_PRIVATE; kind <= WID_OBJ_CERT; kind++) {
			if (kind == WID_OBJ_CERT && !wid_key_has_cert(k))
				continue;
			if (!wid_match_inlock(k, kind, templ, count))
				continue;
			if ((rv = find_push(f, (CK_OBJECT_HANDLE)
			    (k->task.serial << 2 | kind))) != CKR_OK)
				return rv;
		}
	}
	f->active = 1;
	return CKR_OK;
}
