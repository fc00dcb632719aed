/* tests/fuzz/fuzz_attrs.c: the module's attribute code
 * (C_GetAttributeValue and C_FindObjects template matching, module/object.c)
 * on templates a host program could pass, over listing entries that are
 * either real keys made here or a task decoded from the input (what an
 * agent's LIST reply carries, SPKI included).
 *
 * Input: u8 which (0-2: EC, RSA, Ed25519 key made here; 3: decode a
 * wid_task from the bytes after the template), u8 kind (object kind),
 * u8 n (attributes, at most 16), then n x { u16 type selector, u8 size }
 * where size 0xff means pValue NULL (size query); the bytes that follow
 * fill the buffers and become the matching template's values.
 *
 * Oracles: no out-of-bounds access (each buffer is its own allocation of
 * exactly its size); a private key never yields key bytes (CKA_VALUE,
 * CKA_PRIVATE_EXPONENT, ...: buffer untouched, CK_UNAVAILABLE_INFORMATION);
 * a template made
 * of values just read back must match the same object. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "wid/buf.h"
#include "wid/proto.h"
#include "module.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ATTRS 16

/* Attribute types worth hitting; a selector beyond them is used raw. */
static const CK_ATTRIBUTE_TYPE types[] = {
	CKA_CLASS, CKA_KEY_TYPE, CKA_LABEL, CKA_ID, CKA_SUBJECT,
	CKA_START_DATE, CKA_END_DATE, CKA_PUBLIC_KEY_INFO,
	CKA_ALLOWED_MECHANISMS, CKA_TOKEN, CKA_LOCAL, CKA_PRIVATE,
	CKA_MODIFIABLE, CKA_EC_PARAMS, CKA_EC_POINT, CKA_MODULUS,
	CKA_PUBLIC_EXPONENT, CKA_MODULUS_BITS, CKA_SIGN, CKA_SENSITIVE,
	CKA_EXTRACTABLE, CKA_VALUE, CKA_PRIVATE_EXPONENT, CKA_PRIME_1,
	CKA_PRIME_2, CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_COEFFICIENT,
	CKA_VERIFY, CKA_DECRYPT, CKA_KEY_GEN_MECHANISM, CKA_ALWAYS_AUTHENTICATE,
};
#define NTYPES (sizeof(types) / sizeof(types[0]))

static struct wid_key base[3];

static int
is_secret(CK_ATTRIBUTE_TYPE t)
{
	return t == CKA_VALUE || t == CKA_PRIVATE_EXPONENT || t == CKA_PRIME_1 ||
	    t == CKA_PRIME_2 || t == CKA_EXPONENT_1 || t == CKA_EXPONENT_2 ||
	    t == CKA_COEFFICIENT;
}

static void
make_base(struct wid_key *k, const char *alg, const char *arg, int type,
    uint64_t serial)
{
	EVP_PKEY *pk = arg == NULL ? EVP_PKEY_Q_keygen(NULL, NULL, alg) :
	    strcmp(alg, "RSA") == 0 ?
	    EVP_PKEY_Q_keygen(NULL, NULL, alg, (size_t)2048) :
	    EVP_PKEY_Q_keygen(NULL, NULL, alg, arg);
	unsigned char *p = k->task.spki;

	if (pk == NULL)
		abort();
	memset(k, 0, sizeof(*k));
	snprintf(k->task.id, sizeof(k->task.id), "fuzz-%llu",
	    (unsigned long long)serial);
	k->task.state = WID_STATE_ACTIVE;
	k->task.key_type = (uint8_t)type;
	k->task.serial = serial;
	memset(k->task.key_id, (int)serial, WID_KEY_ID_LEN);
	k->task.created = 1700000000;
	k->task.expires = 1700003600;
	k->task.spki_len = (uint16_t)i2d_PUBKEY(pk, &p);
	k->slot = wid_key_slot(type);
	EVP_PKEY_free(pk);
}

static void
init_once(void)
{
	static int done;

	if (done)
		return;
	make_base(&base[0], "EC", "P-256", WID_KEY_EC_P256, 1);
	make_base(&base[1], "RSA", "2048", WID_KEY_RSA2048, 2);
	make_base(&base[2], "ED25519", NULL, WID_KEY_ED25519, 3);
	done = 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	CK_ATTRIBUTE t[MAX_ATTRS], m[MAX_ATTRS];
	CK_ULONG cap[MAX_ATTRS];   /* buffer sizes (ulValueLen changes) */
	struct wid_key key;
	struct wid_buf b;
	CK_ULONG kind, i, n, ok = 0;
	size_t pos = 3;
	CK_RV rv;

	init_once();
	memset(t, 0, sizeof(t));
	memset(m, 0, sizeof(m));
	memset(cap, 0, sizeof(cap));
	if (size < 3)
		return 0;
	kind = (data[1] % 3) + 1;
	n = data[2] % (MAX_ATTRS + 1);
	for (i = 0; i < n; i++) {
		uint16_t sel;
		uint8_t sz;

		if (pos + 3 > size)
			break;
		sel = (uint16_t)(data[pos] << 8 | data[pos + 1]);
		sz = data[pos + 2];
		pos += 3;
		t[i].type = sel < NTYPES ? types[sel] :
		    sel < 0x8000 ? types[sel % NTYPES] : (CK_ATTRIBUTE_TYPE)sel;
		if (sz == 0xff)
			continue;
		t[i].ulValueLen = cap[i] = sz;
		if ((t[i].pValue = malloc(sz > 0 ? sz : 1)) == NULL)
			goto out;
		memset(t[i].pValue, 0x5a, sz);
	}
	n = i;
	if (data[0] % 4 < 3)
		key = base[data[0] % 4];
	else {
		memset(&key, 0, sizeof(key));
		wid_buf_reader(&b, data + pos, size - pos);
		if (wid_task_decode(&b, &key.task) != 0)
			goto out;
		key.slot = wid_key_slot(key.task.key_type);
	}

	rv = wid_get_attrs_inlock(&key, kind, t, n);
	for (i = 0; i < n; i++) {
		/* Never a byte of a secret, whatever the result; its length
		 * is "unavailable" whenever the whole template was processed
		 * (a failure like CKR_FUNCTION_FAILED stops early). */
		if (kind == WID_OBJ_PRIVATE && is_secret(t[i].type) &&
		    ((t[i].pValue != NULL && cap[i] > 0 &&
		    ((uint8_t *)t[i].pValue)[0] != 0x5a) ||
		    ((rv == CKR_OK || rv == CKR_ATTRIBUTE_SENSITIVE ||
		    rv == CKR_ATTRIBUTE_TYPE_INVALID ||
		    rv == CKR_BUFFER_TOO_SMALL) &&
		    t[i].ulValueLen != CK_UNAVAILABLE_INFORMATION)))
			abort();
		if (rv == CKR_OK && t[i].ulValueLen == CK_UNAVAILABLE_INFORMATION)
			abort();
	}
	/* Read back what was returned; it must match the same object. */
	if (rv == CKR_OK) {
		for (i = 0; i < n; i++) {
			m[i] = t[i];
			if (m[i].pValue == NULL)
				m[i].ulValueLen = 0;
		}
		ok = 1;
		for (i = 0; i < n; i++)
			if (t[i].pValue == NULL)
				ok = 0;   /* size query: no value to compare */
		if (ok && !wid_match_inlock(&key, kind, m, n))
			abort();
	}
	/* Match the raw input as a template as well. */
	for (i = 0; i < n; i++) {
		m[i] = t[i];
		if (m[i].pValue != NULL && pos < size) {
			size_t c = size - pos < cap[i] ? size - pos : cap[i];

			memcpy(m[i].pValue, data + pos, c);
			m[i].ulValueLen = c;
			pos += c;
		}
	}
	(void)wid_match_inlock(&key, kind, m, n);
out:
	for (i = 0; i < MAX_ATTRS; i++)
		free(t[i].pValue);
	return 0;
}
