/* wid/pubkey.h: a task's public key (DER SubjectPublicKeyInfo, as the agent
 * reports it) in the forms people paste elsewhere: an OpenSSH public key
 * line, PEM, and the SHA-256 fingerprint ssh-keygen -l prints.  Supported:
 * EC P-256/P-384/P-521, Ed25519, RSA.  Uses libcrypto.
 *
 * Every function returns 0 or an enum wid_err: WID_E_BADARG for a
 * malformed SPKI (including trailing bytes) or a NULL argument,
 * WID_E_UNSUPPORTED for another key type or curve, WID_E_LIMIT when the
 * output does not fit (out then holds ""), WID_E_CRYPTO/WID_E_NOMEM when
 * OpenSSL fails. */
#ifndef WID_PUBKEY_H
#define WID_PUBKEY_H

#include <stddef.h>
#include <stdint.h>

/* Largest SSH wire blob we produce (RSA-8192 plus framing). */
#define WID_SSH_BLOB_MAX 1100
/* "SHA256:" + 43 base64 characters + NUL. */
#define WID_FINGERPRINT_LEN 51

enum wid_spki_kind { WID_SPKI_EC = 1, WID_SPKI_ED25519, WID_SPKI_RSA };

/* The parts of a SubjectPublicKeyInfo.  Read with plain ASN.1 templates:
 * no key object is built, so the result does not depend on the providers
 * or engines of the host program (inside `openssl -engine pkcs11`
 * building an EVP_PKEY fails) and a cold process pays no decoder fetch. */
struct wid_spki {
	int kind;                    /* enum wid_spki_kind */
	int curve;                   /* EC: NID_X9_62_prime256v1,
	                              * NID_secp384r1 or NID_secp521r1 */
	uint8_t key[1 + 2 * 66];     /* EC: the uncompressed point;
	                              * Ed25519: the 32-byte key */
	size_t key_len;
	uint8_t n[1024], e[64];      /* RSA: modulus and exponent, big-endian,
	                              * no leading zero bytes */
	size_t n_len, e_len;
};

/* Fills *out from the DER SPKI (no trailing bytes).  WID_E_UNSUPPORTED
 * for another key type or curve, or a compressed EC point. */
int wid_spki_parse(const uint8_t *spki, size_t len, struct wid_spki *out);

/* The RFC 4253/5656/8709 public key blob: string type, then for ECDSA
 * string curve + string Q, for Ed25519 string key, for RSA mpint e +
 * mpint n. */
int wid_pubkey_ssh_blob(const uint8_t *spki, size_t len, uint8_t *out,
                        size_t size, size_t *ret_len);

/* "TYPE BASE64[ COMMENT]" without a newline.  comment may be NULL or ""
 * and must not contain a newline. */
int wid_pubkey_ssh(const uint8_t *spki, size_t len, const char *comment,
                   char *out, size_t size);

/* "-----BEGIN PUBLIC KEY-----\n...-----END PUBLIC KEY-----\n". */
int wid_pubkey_pem(const uint8_t *spki, size_t len, char *out, size_t size);

/* "SHA256:" + unpadded base64 of SHA-256 over the SSH blob. */
int wid_pubkey_fingerprint(const uint8_t *spki, size_t len, char *out,
                           size_t size);

/* An ECDSA signature given as big-endian r and s (PKCS#11 and TPM form) as
 * the DER ECDSA-Sig-Value that X.509 and OpenSSL's verify use.  Returns
 * the length and the bytes in *ret_der (free with OPENSSL_free), or -1. */
int wid_ecdsa_sig_der(const uint8_t *r, size_t rlen, const uint8_t *s,
                      size_t slen, unsigned char **ret_der);

#endif
