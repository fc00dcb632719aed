/* common/pubkey.c: SPKI to OpenSSH line, PEM and fingerprint (see
 * wid/pubkey.h).  OpenSSL parses the SPKI and hands out the raw fields;
 * the SSH wire format is written here because it is four fields. */
#include "config.h"

#include <limits.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "wid/buf.h"
#include "wid/err.h"
#include "wid/pubkey.h"

/* SSH mpint of a non-negative BIGNUM. */
static int
put_mpint(struct wid_buf *b, const BIGNUM *bn)
{
	uint8_t tmp[1024];
	int n;

	if (BN_is_negative(bn) || BN_num_bytes(bn) > (int)sizeof(tmp))
		return WID_E_UNSUPPORTED;
	if ((n = BN_bn2bin(bn, tmp)) < 0)
		return WID_E_CRYPTO;
	wid_put_mpint(b, tmp, (size_t)n);
	return 0;
}

static int
parse_spki(const uint8_t *spki, size_t len, EVP_PKEY **ret_pkey)
{
	const unsigned char *p = spki;
	EVP_PKEY *pkey;

	*ret_pkey = NULL;
	if (spki == NULL || len == 0 || len > LONG_MAX)
		return WID_E_BADARG;
	if ((pkey = d2i_PUBKEY(NULL, &p, (long)len)) == NULL)
		return WID_E_BADARG;
	if (p != spki + len) {
		EVP_PKEY_free(pkey);
		return WID_E_BADARG;
	}
	*ret_pkey = pkey;
	return 0;
}

static int
ec_blob(EVP_PKEY *pkey, struct wid_buf *b)
{
	char group[64];
	uint8_t point[1 + 2 * 66];
	const char *type, *curve;
	size_t plen = 0;
	int nid;

	if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, sizeof(group), NULL))
		return WID_E_UNSUPPORTED;
	nid = OBJ_txt2nid(group);
	if (nid == NID_undef)
		nid = EC_curve_nist2nid(group);
	switch (nid) {
	case NID_X9_62_prime256v1:
		type = "ecdsa-sha2-nistp256";
		curve = "nistp256";
		break;
	case NID_secp384r1:
		type = "ecdsa-sha2-nistp384";
		curve = "nistp384";
		break;
	case NID_secp521r1:
		type = "ecdsa-sha2-nistp521";
		curve = "nistp521";
		break;
	default:
		return WID_E_UNSUPPORTED;
	}
	/* SSH wants the uncompressed point whatever the SPKI held. */
	if (!EVP_PKEY_set_utf8_string_param(pkey,
	    OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "uncompressed") ||
	    !EVP_PKEY_get_octet_string_param(pkey,
	    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point, sizeof(point), &plen) ||
	    plen == 0 || point[0] != 0x04)
		return WID_E_CRYPTO;
	wid_put_sshstr(b, type, strlen(type));
	wid_put_sshstr(b, curve, strlen(curve));
	wid_put_sshstr(b, point, plen);
	return 0;
}

static int
ed25519_blob(EVP_PKEY *pkey, struct wid_buf *b)
{
	static const char type[] = "ssh-ed25519";
	uint8_t raw[32];
	size_t n = sizeof(raw);

	if (!EVP_PKEY_get_raw_public_key(pkey, raw, &n) || n != sizeof(raw))
		return WID_E_CRYPTO;
	wid_put_sshstr(b, type, sizeof(type) - 1);
	wid_put_sshstr(b, raw, n);
	return 0;
}

static int
rsa_blob(EVP_PKEY *pkey, struct wid_buf *b)
{
	static const char type[] = "ssh-rsa";
	BIGNUM *n = NULL, *e = NULL;
	int r;

	if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) ||
	    !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e)) {
		r = WID_E_CRYPTO;
		goto out;
	}
	wid_put_sshstr(b, type, sizeof(type) - 1);
	if ((r = put_mpint(b, e)) != 0 || (r = put_mpint(b, n)) != 0)
		goto out;
	r = 0;
out:
	BN_free(n);
	BN_free(e);
	return r;
}

/* The SSH wire blob of an SPKI. */
static int
make_blob(const uint8_t *spki, size_t len, uint8_t *out, size_t size,
          size_t *ret_len)
{
	EVP_PKEY *pkey = NULL;
	struct wid_buf b;
	int r;

	*ret_len = 0;
	if (out == NULL)
		return WID_E_BADARG;
	if ((r = parse_spki(spki, len, &pkey)) != 0)
		goto out;
	wid_buf_init(&b, out, size);
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_EC:
		r = ec_blob(pkey, &b);
		break;
	case EVP_PKEY_ED25519:
		r = ed25519_blob(pkey, &b);
		break;
	case EVP_PKEY_RSA:
		r = rsa_blob(pkey, &b);
		break;
	default:
		r = WID_E_UNSUPPORTED;
		break;
	}
	if (r != 0)
		goto out;
	if (b.err != 0) {
		r = WID_E_LIMIT;
		goto out;
	}
	*ret_len = b.len;
	r = 0;
out:
	EVP_PKEY_free(pkey);
	return r;
}

int
wid_pubkey_ssh_blob(const uint8_t *spki, size_t len, uint8_t *out,
                    size_t size, size_t *ret_len)
{
	return make_blob(spki, len, out, size, ret_len);
}

int
wid_pubkey_ssh(const uint8_t *spki, size_t len, const char *comment,
               char *out, size_t size)
{
	uint8_t blob[WID_SSH_BLOB_MAX];
	char b64[4 * ((WID_SSH_BLOB_MAX + 2) / 3) + 1];
	size_t blen, tlen, clen, need;
	uint32_t n;
	int r;

	if (out == NULL || size == 0)
		return WID_E_BADARG;
	out[0] = '\0';
	if (comment == NULL)
		comment = "";
	if (strpbrk(comment, "\r\n") != NULL)
		return WID_E_BADARG;
	if ((r = make_blob(spki, len, blob, sizeof(blob), &blen)) != 0)
		return r;
	/* The blob starts with its type string. */
	n = (uint32_t)blob[0] << 24 | (uint32_t)blob[1] << 16 |
	    (uint32_t)blob[2] << 8 | blob[3];
	tlen = n;
	if (EVP_EncodeBlock((unsigned char *)b64, blob, (int)blen) < 0)
		return WID_E_CRYPTO;
	clen = strlen(comment);
	need = tlen + 1 + strlen(b64) + (clen > 0 ? 1 + clen : 0) + 1;
	if (need > size)
		return WID_E_LIMIT;
	memcpy(out, blob + 4, tlen);
	out[tlen] = ' ';
	strcpy(out + tlen + 1, b64);
	if (clen > 0) {
		strcat(out, " ");
		strcat(out, comment);
	}
	return 0;
}

int
wid_pubkey_pem(const uint8_t *spki, size_t len, char *out, size_t size)
{
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	char *mem;
	long n;
	int r;

	if (out == NULL || size == 0)
		return WID_E_BADARG;
	out[0] = '\0';
	if ((r = parse_spki(spki, len, &pkey)) != 0)
		goto out;
	if ((bio = BIO_new(BIO_s_mem())) == NULL) {
		r = WID_E_NOMEM;
		goto out;
	}
	if (!PEM_write_bio_PUBKEY(bio, pkey)) {
		r = WID_E_CRYPTO;
		goto out;
	}
	n = BIO_get_mem_data(bio, &mem);
	if (n <= 0) {
		r = WID_E_CRYPTO;
		goto out;
	}
	if ((size_t)n >= size) {
		r = WID_E_LIMIT;
		goto out;
	}
	memcpy(out, mem, (size_t)n);
	out[n] = '\0';
	r = 0;
out:
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	return r;
}

int
wid_pubkey_fingerprint(const uint8_t *spki, size_t len, char *out,
                       size_t size)
{
	uint8_t blob[WID_SSH_BLOB_MAX];
	uint8_t md[32];
	char b64[4 * ((sizeof(md) + 2) / 3) + 1];
	unsigned int mdlen = 0;
	size_t blen, n;
	int r;

	if (out == NULL || size == 0)
		return WID_E_BADARG;
	out[0] = '\0';
	if ((r = make_blob(spki, len, blob, sizeof(blob), &blen)) != 0)
		return r;
	if (!EVP_Digest(blob, blen, md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen != sizeof(md))
		return WID_E_CRYPTO;
	if (EVP_EncodeBlock((unsigned char *)b64, md, (int)mdlen) < 0)
		return WID_E_CRYPTO;
	n = strlen(b64);
	while (n > 0 && b64[n - 1] == '=')
		b64[--n] = '\0';
	if (sizeof("SHA256:") - 1 + n + 1 > size)
		return WID_E_LIMIT;
	memcpy(out, "SHA256:", 7);
	memcpy(out + 7, b64, n + 1);
	return 0;
}

int
wid_ecdsa_sig_der(const uint8_t *r, size_t rlen, const uint8_t *s,
                  size_t slen, unsigned char **ret_der)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *br = NULL, *bs = NULL;
	int n = -1;

	*ret_der = NULL;
	if (rlen > INT_MAX || slen > INT_MAX ||
	    (es = ECDSA_SIG_new()) == NULL ||
	    (br = BN_bin2bn(r, (int)rlen, NULL)) == NULL ||
	    (bs = BN_bin2bn(s, (int)slen, NULL)) == NULL ||
	    ECDSA_SIG_set0(es, br, bs) != 1)
		goto out;
	br = bs = NULL;
	if ((n = i2d_ECDSA_SIG(es, ret_der)) <= 0) {
		*ret_der = NULL;
		n = -1;
	}
out:
	BN_free(br);
	BN_free(bs);
	ECDSA_SIG_free(es);
	return n;
}
