/* common/pubkey.c: SPKI parts, and from them the OpenSSH line, PEM and
 * fingerprint (see wid/pubkey.h).  The SPKI is read with OpenSSL's ASN.1
 * templates, never turned into an EVP_PKEY; the SSH wire format is
 * written here because it is four fields. */
#include "config.h"

#include <limits.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "wid/buf.h"
#include "wid/err.h"
#include "wid/pubkey.h"

/* The unsigned big-endian magnitude of a non-negative INTEGER, without
 * leading zero bytes. */
static int
get_uint(const ASN1_TYPE *v, uint8_t *out, size_t cap, size_t *ret_len)
{
	const uint8_t *d;
	int n;

	if (v == NULL || v->type != V_ASN1_INTEGER ||
	    ASN1_STRING_type(v->value.integer) != V_ASN1_INTEGER)
		return WID_E_BADARG;
	d = ASN1_STRING_get0_data(v->value.integer);
	n = ASN1_STRING_length(v->value.integer);
	while (n > 0 && d[0] == 0) {
		d++;
		n--;
	}
	if (n <= 0)
		return WID_E_BADARG;
	if ((size_t)n > cap)
		return WID_E_UNSUPPORTED;
	memcpy(out, d, (size_t)n);
	*ret_len = (size_t)n;
	return 0;
}

/* RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } */
static int
get_rsa(const uint8_t *der, int len, struct wid_spki *out)
{
	const unsigned char *q = der;
	ASN1_SEQUENCE_ANY *seq;
	int r = WID_E_BADARG;

	if ((seq = d2i_ASN1_SEQUENCE_ANY(NULL, &q, len)) == NULL)
		return WID_E_BADARG;
	if (q != der + len || sk_ASN1_TYPE_num(seq) != 2 ||
	    (r = get_uint(sk_ASN1_TYPE_value(seq, 0), out->n, sizeof(out->n),
	    &out->n_len)) != 0 ||
	    (r = get_uint(sk_ASN1_TYPE_value(seq, 1), out->e, sizeof(out->e),
	    &out->e_len)) != 0)
		goto out;
	out->kind = WID_SPKI_RSA;
	r = 0;
out:
	sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
	return r;
}

/* SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier,
 * subjectPublicKey BIT STRING } */
int
wid_spki_parse(const uint8_t *spki, size_t len, struct wid_spki *out)
{
	const unsigned char *der = spki, *q, *key;
	ASN1_SEQUENCE_ANY *seq = NULL;
	const ASN1_TYPE *a0, *a1;
	X509_ALGOR *algor = NULL;
	const ASN1_OBJECT *alg = NULL;
	const void *pval = NULL;
	int r = WID_E_BADARG, klen, ptype = V_ASN1_UNDEF, cnid = NID_undef;

	if (out == NULL)
		return WID_E_BADARG;
	memset(out, 0, sizeof(*out));
	if (spki == NULL || len == 0 || len > LONG_MAX ||
	    (seq = d2i_ASN1_SEQUENCE_ANY(NULL, &der, (long)len)) == NULL ||
	    der != spki + len || sk_ASN1_TYPE_num(seq) != 2)
		goto out;
	a0 = sk_ASN1_TYPE_value(seq, 0);
	a1 = sk_ASN1_TYPE_value(seq, 1);
	if (a0->type != V_ASN1_SEQUENCE || a1->type != V_ASN1_BIT_STRING)
		goto out;
	q = ASN1_STRING_get0_data(a0->value.sequence);
	klen = ASN1_STRING_length(a0->value.sequence);
	if ((algor = d2i_X509_ALGOR(NULL, &q, klen)) == NULL ||
	    q != ASN1_STRING_get0_data(a0->value.sequence) + klen)
		goto out;
	/* Key bit strings have no unused bits. */
	if ((a1->value.bit_string->flags & ASN1_STRING_FLAG_BITS_LEFT) &&
	    (a1->value.bit_string->flags & 0x07) != 0)
		goto out;
	key = ASN1_STRING_get0_data(a1->value.bit_string);
	klen = ASN1_STRING_length(a1->value.bit_string);
	X509_ALGOR_get0(&alg, &ptype, &pval, algor);
	if (ptype == V_ASN1_OBJECT)
		cnid = OBJ_obj2nid(pval);
	r = WID_E_UNSUPPORTED;
	switch (OBJ_obj2nid(alg)) {
	case NID_X9_62_id_ecPublicKey:
		if (cnid != NID_X9_62_prime256v1 && cnid != NID_secp384r1 &&
		    cnid != NID_secp521r1)
			goto out;
		if (klen != (cnid == NID_X9_62_prime256v1 ? 65 :
		    cnid == NID_secp384r1 ? 97 : 133) || key[0] != 0x04) {
			r = klen > 0 && (key[0] == 0x02 || key[0] == 0x03) ?
			    WID_E_UNSUPPORTED : WID_E_BADARG;
			goto out;
		}
		out->kind = WID_SPKI_EC;
		out->curve = cnid;
		break;
	case NID_ED25519:
		if (ptype != V_ASN1_UNDEF || klen != 32) {
			r = WID_E_BADARG;
			goto out;
		}
		out->kind = WID_SPKI_ED25519;
		break;
	case NID_rsaEncryption:
		r = get_rsa(key, klen, out);
		goto out;
	default:
		goto out;
	}
	memcpy(out->key, key, (size_t)klen);
	out->key_len = (size_t)klen;
	r = 0;
out:
	if (r != 0)
		memset(out, 0, sizeof(*out));
	X509_ALGOR_free(algor);
	sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
	return r;
}

/* The SSH wire blob of an SPKI. */
static int
make_blob(const uint8_t *spki, size_t len, uint8_t *out, size_t size,
          size_t *ret_len)
{
	struct wid_spki k;
	struct wid_buf b;
	const char *type, *curve;
	int r;

	*ret_len = 0;
	if (out == NULL)
		return WID_E_BADARG;
	if ((r = wid_spki_parse(spki, len, &k)) != 0)
		return r;
	wid_buf_init(&b, out, size);
	switch (k.kind) {
	case WID_SPKI_EC:
		type = k.curve == NID_X9_62_prime256v1 ? "ecdsa-sha2-nistp256" :
		    k.curve == NID_secp384r1 ? "ecdsa-sha2-nistp384" :
		    "ecdsa-sha2-nistp521";
		curve = type + strlen("ecdsa-sha2-");
		wid_put_sshcstr(&b, type);
		wid_put_sshcstr(&b, curve);
		wid_put_sshstr(&b, k.key, k.key_len);
		break;
	case WID_SPKI_ED25519:
		wid_put_sshcstr(&b, "ssh-ed25519");
		wid_put_sshstr(&b, k.key, k.key_len);
		break;
	default:
		wid_put_sshcstr(&b, "ssh-rsa");
		wid_put_mpint(&b, k.e, k.e_len);
		wid_put_mpint(&b, k.n, k.n_len);
		break;
	}
	if (b.err != 0)
		return WID_E_LIMIT;
	*ret_len = b.len;
	return 0;
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
	static const char head[] = "-----BEGIN PUBLIC KEY-----\n";
	static const char tail[] = "-----END PUBLIC KEY-----\n";
	EVP_ENCODE_CTX *ctx = NULL;
	struct wid_spki k;
	size_t need, pos;
	int n, r;

	if (out == NULL || size == 0)
		return WID_E_BADARG;
	out[0] = '\0';
	if ((r = wid_spki_parse(spki, len, &k)) != 0)
		return r;
	/* 64 base64 characters and a newline per 48 bytes. */
	need = sizeof(head) - 1 + 4 * ((len + 2) / 3) + (len + 47) / 48 +
	    sizeof(tail) - 1 + 1;
	if (need > size || len > INT_MAX)
		return WID_E_LIMIT;
	if ((ctx = EVP_ENCODE_CTX_new()) == NULL)
		return WID_E_NOMEM;
	memcpy(out, head, sizeof(head) - 1);
	pos = sizeof(head) - 1;
	EVP_EncodeInit(ctx);
	if (EVP_EncodeUpdate(ctx, (unsigned char *)out + pos, &n, spki,
	    (int)len) != 1) {
		r = WID_E_CRYPTO;
		goto out;
	}
	pos += (size_t)n;
	EVP_EncodeFinal(ctx, (unsigned char *)out + pos, &n);
	pos += (size_t)n;
	memcpy(out + pos, tail, sizeof(tail));
	r = 0;
out:
	EVP_ENCODE_CTX_free(ctx);
	if (r != 0)
		out[0] = '\0';
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
