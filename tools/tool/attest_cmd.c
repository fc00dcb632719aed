/* tools/tool/attest_cmd.c: TPM attestation from the command line.
 *   task attest ID [-o FILE]   ask the agent for evidence that task ID's
 *                              key lives in its TPM under its policy
 *   attest verify FILE         check such evidence offline with OpenSSL
 * The evidence format and the key policy are in tools/agent/tpm_policy.h;
 * the policy digest is recomputed here by the same code the agent uses. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wid/err.h"
#include "tool.h"

#ifdef WID_HAVE_TPM
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include <tss2/tss2_mu.h>
#include <tss2/tss2_tpm2_types.h>

#include "wid/pubkey.h"
#include "tpm.h"
#include "tpm_policy.h"
#endif

#define EVIDENCE_MAX 16384

static const struct option attest_opts[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
usage_attest(FILE *f)
{
	fputs("usage: wid-tool task attest ID [-o FILE]\n"
	    "       wid-tool attest verify FILE\n"
	    "task attest: evidence from the agent's TPM that task ID's key was\n"
	    "  made in that TPM (fixedTPM, never exportable) and carries the\n"
	    "  policy that ends it at its deadline, at a TPM reset, or when the\n"
	    "  task ends: TPM2_Certify of the key by the TPM's attestation key.\n"
	    "  Written to FILE (default: standard output).  tpm backend only.\n"
	    "attest verify: checks evidence with OpenSSL: the attestation\n"
	    "  key's signature, the certified key, its attributes and its\n"
	    "  policy; exit 0 only if every check passes.  It does not prove\n"
	    "  which TPM signed (no EK certificate chain): compare the\n"
	    "  attestation key it prints with one you trust.\n", f);
}

int
task_attest(struct tool *t, int argc, char **argv)
{
	const char *path = NULL, *id;
	const uint8_t *blob;
	uint16_t len;
	FILE *f = NULL;
	int c, r;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":ho:", attest_opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			path = optarg;
			break;
		case 'h':
			usage_attest(stdout);
			return TOOL_EXIT_OK;
		case ':':
			return tool_usage_error("task attest", "option '%s' needs a "
			    "value", argv[optind - 1]);
		default:
			return tool_usage_error("task attest", "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return tool_usage_error("task attest", "%s", "expected one task ID");
	id = argv[optind];
	if (!wid_task_id_valid(id))
		return tool_usage_error("task attest", "invalid task id '%s'", id);
	if ((r = tool_open(t)) != 0)
		return tool_report(t, "task attest", r);
	wid_id_encode(wid_conn_req(&t->conn, WID_OP_ATTEST), id);
	if ((r = tool_call(t)) != 0)
		return tool_report(t, "task attest", r);
	if (wid_get_blob(&t->conn.buf, &blob, &len, WID_BLOB_MAX) != 0 ||
	    wid_get_end(&t->conn.buf) != 0)
		return tool_report(t, "task attest", WID_E_PROTO);
	if (path != NULL && (f = fopen(path, "w")) == NULL) {
		fprintf(stderr, TOOL_NAME " task attest: %s: %s\n", path,
		    strerror(errno));
		return TOOL_EXIT_FAIL;
	}
	r = fwrite(blob, 1, len, f != NULL ? f : stdout) == len ? 0 : -1;
	if (f != NULL && fclose(f) != 0)
		r = -1;
	if (r != 0) {
		fprintf(stderr, TOOL_NAME " task attest: cannot write the "
		    "evidence\n");
		return TOOL_EXIT_FAIL;
	}
	return TOOL_EXIT_OK;
}

#ifdef WID_HAVE_TPM

/* The evidence, parsed; blobs point into `raw`. */
struct evidence {
	char task[WID_TASK_ID_MAX + 1];
	int key_type;
	uint64_t deadline;
	uint32_t reset_count;
	uint16_t nv_offset;
	uint8_t nv_mask;
	TPM2B_NV_PUBLIC nv;
	TPM2B_PUBLIC key, ak;
	uint8_t attest_raw[sizeof(TPMS_ATTEST)];
	size_t attest_len;
	/* As received, for the Names (nameAlg || H(public area)). */
	uint8_t nv_raw[sizeof(TPM2B_NV_PUBLIC)], key_raw[sizeof(TPM2B_PUBLIC)],
	    ak_raw[sizeof(TPM2B_PUBLIC)];
	size_t nv_len, key_len, ak_len;
	TPMS_ATTEST attest;
	TPMT_SIGNATURE sig;
};

static const char *const fields[] = {
	"wid-tpm-evidence", "task", "key-type", "deadline", "reset-count",
	"nv-offset", "nv-mask", "nv-public", "key-public", "ak-public",
	"attest", "signature",
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

/* Decimal without sign, leading zeros or spaces, at most max. */
static int
parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;

	if (*s == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v > max)
		return -1;
	*ret = v;
	return 0;
}

/* Canonical base64 only (re-encoding gives the same text), so that no
 * two texts decode to the same bytes. */
static int
parse_b64(const char *s, uint8_t *out, size_t size, size_t *ret_len)
{
	size_t n = strlen(s), len;
	char *again = NULL;
	int d, r = -1;

	if (n == 0 || n % 4 != 0 || n / 4 * 3 > size)
		goto out;
	if ((d = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n)) < 0)
		goto out;
	len = (size_t)d - (s[n - 1] == '=') - (s[n - 2] == '=');
	if ((again = malloc(n + 1)) == NULL ||
	    EVP_EncodeBlock((unsigned char *)again, out, (int)len) != (int)n ||
	    memcmp(again, s, n) != 0)
		goto out;
	*ret_len = len;
	r = 0;
 out:
	free(again);
	return r;
}

static int
bad(char *why, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
bad(char *why, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, n, fmt, ap);
	va_end(ap);
	return -1;
}

/* Splits the text into the fields, in order, each exactly once. */
static int
parse_evidence(char *text, struct evidence *e, char *why, size_t wn)
{
	static uint8_t buf[EVIDENCE_MAX];
	char *line = text, *nl, *val;
	size_t i, len, off;
	uint64_t v;

	memset(e, 0, sizeof(*e));
	for (i = 0; i < NFIELDS; i++) {
		if ((nl = strchr(line, '\n')) == NULL)
			return bad(why, wn, "line %zu: missing or not ended",
			    i + 1);
		*nl = '\0';
		len = strlen(fields[i]);
		if (strncmp(line, fields[i], len) != 0 ||
		    strncmp(line + len, ": ", 2) != 0)
			return bad(why, wn, "line %zu: expected '%s: '", i + 1,
			    fields[i]);
		val = line + len + 2;
		len = 0;
		off = 0;
		switch (i) {
		case 0:
			if (parse_u64(val, 1000, &v) != 0 ||
			    v != WID_TPM_EVIDENCE_VERSION)
				return bad(why, wn, "unknown evidence version");
			break;
		case 1:
			if (!wid_task_id_valid(val))
				return bad(why, wn, "bad task id");
			snprintf(e->task, sizeof(e->task), "%s", val);
			break;
		case 2:
			if ((e->key_type = wid_key_type_parse(val)) ==
			    WID_KEY_NONE)
				return bad(why, wn, "bad key type");
			break;
		case 3:
			if (parse_u64(val, UINT64_MAX, &e->deadline) != 0)
				return bad(why, wn, "bad deadline");
			break;
		case 4:
			if (parse_u64(val, UINT32_MAX, &v) != 0)
				return bad(why, wn, "bad reset-count");
			e->reset_count = (uint32_t)v;
			break;
		case 5:
			if (parse_u64(val, UINT16_MAX, &v) != 0)
				return bad(why, wn, "bad nv-offset");
			e->nv_offset = (uint16_t)v;
			break;
		case 6:
			if (parse_u64(val, 128, &v) != 0 || v == 0 ||
			    (v & (v - 1)) != 0)
				return bad(why, wn, "nv-mask is not one bit");
			e->nv_mask = (uint8_t)v;
			break;
		default:
			if (parse_b64(val, buf, sizeof(buf), &len) != 0)
				return bad(why, wn, "%s: bad base64", fields[i]);
			break;
		}
		/* Unmarshal strictly: every byte used. */
		if ((i == 7 && (Tss2_MU_TPM2B_NV_PUBLIC_Unmarshal(buf, len,
		    &off, &e->nv) != TSS2_RC_SUCCESS || off != len)) ||
		    (i == 8 && (Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, len, &off,
		    &e->key) != TSS2_RC_SUCCESS || off != len)) ||
		    (i == 9 && (Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, len, &off,
		    &e->ak) != TSS2_RC_SUCCESS || off != len)) ||
		    (i == 10 && (len > sizeof(e->attest_raw) ||
		    Tss2_MU_TPMS_ATTEST_Unmarshal(buf, len, &off,
		    &e->attest) != TSS2_RC_SUCCESS || off != len)) ||
		    (i == 11 && (Tss2_MU_TPMT_SIGNATURE_Unmarshal(buf, len,
		    &off, &e->sig) != TSS2_RC_SUCCESS || off != len)))
			return bad(why, wn, "%s: not a valid TPM structure",
			    fields[i]);
		if (i == 7 || i == 8 || i == 9 || i == 10) {
			uint8_t *to = i == 7 ? e->nv_raw : i == 8 ? e->key_raw :
			    i == 9 ? e->ak_raw : e->attest_raw;
			size_t *tl = i == 7 ? &e->nv_len : i == 8 ?
			    &e->key_len : i == 9 ? &e->ak_len : &e->attest_len;

			if (len < 2 || len > (i == 10 ? sizeof(e->attest_raw) :
			    sizeof(e->key_raw)))
				return bad(why, wn, "%s: bad size", fields[i]);
			memcpy(to, buf, len);
			*tl = len;
		}
		line = nl + 1;
	}
	if (*line != '\0')
		return bad(why, wn, "trailing data after the signature");
	return 0;
}

/* nameAlg (SHA-256) || SHA-256(bytes). */
static void
name_of(const uint8_t *m, size_t len, uint8_t out[34])
{
	out[0] = TPM2_ALG_SHA256 >> 8;
	out[1] = TPM2_ALG_SHA256 & 0xff;
	SHA256(m, len, out + 2);
}

static EVP_PKEY *
ak_pkey(const TPMT_PUBLIC *p)
{
	const TPMS_ECC_POINT *u = &p->unique.ecc;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	uint8_t point[65];

	if (u->x.size > 32 || u->y.size > 32)
		return NULL;
	memset(point, 0, sizeof(point));
	point[0] = 0x04;
	memcpy(point + 1 + 32 - u->x.size, u->x.buffer, u->x.size);
	memcpy(point + 65 - u->y.size, u->y.buffer, u->y.size);
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    "P-256", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    point, sizeof(point)) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

/* The AK's ECDSA signature over the attest bytes. */
static int
check_signature(const struct evidence *e, EVP_PKEY *ak)
{
	const TPMS_SIGNATURE_ECC *s = &e->sig.signature.ecdsa;
	EVP_MD_CTX *md = NULL;
	unsigned char *der = NULL;
	int dlen, ok = 0;

	if (e->sig.sigAlg != TPM2_ALG_ECDSA || s->hash != TPM2_ALG_SHA256)
		return 0;
	if ((dlen = wid_ecdsa_sig_der(s->signatureR.buffer,
	    s->signatureR.size, s->signatureS.buffer, s->signatureS.size,
	    &der)) <= 0 ||
	    (md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, ak) != 1)
		goto out;
	ok = EVP_DigestVerify(md, der, (size_t)dlen, e->attest_raw,
	    e->attest_len) == 1;
 out:
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	return ok;
}

static int
key_matches_type(const TPMT_PUBLIC *p, int type)
{
	switch (type) {
	case WID_KEY_EC_P256:
	case WID_KEY_EC_P384:
		return p->type == TPM2_ALG_ECC &&
		    p->parameters.eccDetail.curveID ==
		    (type == WID_KEY_EC_P256 ? TPM2_ECC_NIST_P256 :
		    TPM2_ECC_NIST_P384);
	case WID_KEY_RSA2048:
	case WID_KEY_RSA3072:
		return p->type == TPM2_ALG_RSA &&
		    p->parameters.rsaDetail.keyBits ==
		    (type == WID_KEY_RSA2048 ? 2048 : 3072);
	default:
		return 0;
	}
}

static int
verify(const struct evidence *e, char *why, size_t wn, EVP_PKEY **ret_ak)
{
	const TPMT_PUBLIC *kp = &e->key.publicArea, *ap = &e->ak.publicArea;
	const TPMS_NV_PUBLIC *nv = &e->nv.nvPublic;
	const TPMS_CERTIFY_INFO *ci = &e->attest.attested.certify;
	TPMA_OBJECT need_ak = TPMA_OBJECT_RESTRICTED |
	    TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_FIXEDTPM |
	    TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN;
	TPMA_OBJECT need_key = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
	    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_SIGN_ENCRYPT;
	TPMA_OBJECT deny_key = TPMA_OBJECT_USERWITHAUTH |
	    TPMA_OBJECT_ADMINWITHPOLICY | TPMA_OBJECT_RESTRICTED |
	    TPMA_OBJECT_DECRYPT;
	TPMA_NV nv_attrs = (TPM2_NT_ORDINARY << TPMA_NV_TPM2_NT_SHIFT) |
	    TPMA_NV_OWNERWRITE | TPMA_NV_OWNERREAD | TPMA_NV_AUTHREAD |
	    TPMA_NV_NO_DA | TPMA_NV_WRITTEN;
	uint8_t name[34], nv_name[34], digest[32], qual[32], qn[34];
	EVP_PKEY *ak = NULL;
	int r = -1;

	/* 1. The attestation key and its signature over the attest bytes. */
	if (ap->type != TPM2_ALG_ECC || ap->nameAlg != TPM2_ALG_SHA256 ||
	    (ap->objectAttributes & need_ak) != need_ak ||
	    (ap->objectAttributes & TPMA_OBJECT_DECRYPT) ||
	    ap->parameters.eccDetail.curveID != TPM2_ECC_NIST_P256 ||
	    ap->parameters.eccDetail.scheme.scheme != TPM2_ALG_ECDSA ||
	    ap->parameters.eccDetail.scheme.details.ecdsa.hashAlg !=
	    TPM2_ALG_SHA256) {
		bad(why, wn, "the attestation key is not a restricted "
		    "ECDSA P-256 signing key of a TPM");
		goto out;
	}
	if ((ak = ak_pkey(ap)) == NULL) {
		bad(why, wn, "the attestation key is not a valid P-256 key");
		goto out;
	}
	if (!check_signature(e, ak)) {
		bad(why, wn, "the attestation key's signature does not verify");
		goto out;
	}
	/* The signer named in the attest is this AK, a primary key of the
	 * endorsement hierarchy: its Qualified Name is
	 * nameAlg || H(TPM_RH_ENDORSEMENT || Name); this binds every byte
	 * of the AK's public area into what the TPM signed. */
	{
		uint8_t hq[4 + 34];
		uint32_t h = TPM2_RH_ENDORSEMENT;

		hq[0] = (uint8_t)(h >> 24);
		hq[1] = (uint8_t)(h >> 16);
		hq[2] = (uint8_t)(h >> 8);
		hq[3] = (uint8_t)h;
		name_of(e->ak_raw + 2, e->ak_len - 2, hq + 4);
		name_of(hq, sizeof(hq), qn);
	}
	if (e->attest.qualifiedSigner.size != sizeof(qn) ||
	    memcmp(e->attest.qualifiedSigner.name, qn, sizeof(qn)) != 0) {
		bad(why, wn, "the attest names another signer than the "
		    "attestation key in the evidence");
		goto out;
	}
	/* 2. What the TPM signed: a certification of this key for this task. */
	SHA256((const uint8_t *)e->task, strlen(e->task), qual);
	if (e->attest.magic != TPM2_GENERATED_VALUE ||
	    e->attest.type != TPM2_ST_ATTEST_CERTIFY) {
		bad(why, wn, "the attest is not a TPM2_Certify by a TPM");
		goto out;
	}
	if (e->attest.extraData.size != 32 ||
	    memcmp(e->attest.extraData.buffer, qual, 32) != 0) {
		bad(why, wn, "the attest is not for task %s", e->task);
		goto out;
	}
	name_of(e->key_raw + 2, e->key_len - 2, name);
	if (kp->nameAlg != TPM2_ALG_SHA256 || ci->name.size != sizeof(name) ||
	    memcmp(ci->name.name, name, sizeof(name)) != 0) {
		bad(why, wn, "the certified key is not the key in the evidence");
		goto out;
	}
	if (e->attest.clockInfo.resetCount != e->reset_count) {
		bad(why, wn, "the TPM was reset between key creation and "
		    "attestation (resetCount %" PRIu32 ", key %" PRIu32 ")",
		    e->attest.clockInfo.resetCount, e->reset_count);
		goto out;
	}
	/* 3. The key: made in the TPM, unexportable, use by policy only. */
	if ((kp->objectAttributes & need_key) != need_key ||
	    (kp->objectAttributes & deny_key) != 0) {
		bad(why, wn, "the key's attributes allow use or export outside "
		    "its policy (0x%08" PRIx32 ")", kp->objectAttributes);
		goto out;
	}
	if (!key_matches_type(kp, e->key_type)) {
		bad(why, wn, "the key is not of type %s",
		    wid_key_type_name(e->key_type));
		goto out;
	}
	/* 4. The revocation index and the policy built from the stated
	 * deadline, resetCount and bit. */
	if (nv->nvIndex != WID_TPM_NV_BITS || nv->nameAlg != TPM2_ALG_SHA256 ||
	    nv->attributes != nv_attrs || nv->authPolicy.size != 0 ||
	    e->nv_offset >= nv->dataSize) {
		bad(why, wn, "the revocation index is not wid's");
		goto out;
	}
	name_of(e->nv_raw + 2, e->nv_len - 2, nv_name);
	if (wid_tpm_policy_digest(nv_name, sizeof(nv_name), e->deadline,
	    e->reset_count, e->nv_offset, e->nv_mask, digest) != WID_OK)
		goto out;
	if (kp->authPolicy.size != 32 ||
	    memcmp(kp->authPolicy.buffer, digest, 32) != 0) {
		bad(why, wn, "the key's policy is not the one stated (deadline, "
		    "resetCount, revocation bit)");
		goto out;
	}
	*ret_ak = ak;
	ak = NULL;
	r = 0;
 out:
	EVP_PKEY_free(ak);
	return r;
}

static int
attest_verify(const char *path)
{
	static char text[EVIDENCE_MAX + 1];
	static struct evidence e;
	char why[256];
	EVP_PKEY *ak = NULL;
	FILE *f;
	size_t n;
	int rc = TOOL_EXIT_FAIL;

	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, TOOL_NAME " attest verify: %s: %s\n", path,
		    strerror(errno));
		return TOOL_EXIT_FAIL;
	}
	n = fread(text, 1, EVIDENCE_MAX + 1, f);
	fclose(f);
	if (n > EVIDENCE_MAX || memchr(text, '\0', n) != NULL) {
		fprintf(stderr, TOOL_NAME " attest verify: %s: not wid TPM "
		    "evidence\n", path);
		return TOOL_EXIT_FAIL;
	}
	text[n] = '\0';
	if (parse_evidence(text, &e, why, sizeof(why)) != 0 ||
	    verify(&e, why, sizeof(why), &ak) != 0) {
		fprintf(stderr, TOOL_NAME " attest verify: %s: FAILED: %s\n",
		    path, why);
		goto out;
	}
	printf("OK: TPM evidence for task %s verifies.\n", e.task);
	printf("Proven, if the attestation key below belongs to a TPM you "
	    "trust:\n"
	    "  - the %s key with the public area in the evidence was made "
	    "by that TPM\n"
	    "    and cannot leave it (fixedTPM, fixedParent, "
	    "sensitiveDataOrigin);\n"
	    "  - it signs only through its policy (userWithAuth clear), and "
	    "the policy\n"
	    "    lets it sign only while the TPM clock < %" PRIu64 " ms,\n"
	    "    resetCount == %" PRIu32 " (no TPM reset) and bit 0x%02x of "
	    "byte %u of NV\n"
	    "    index 0x%08x is clear (set when the task ends);\n"
	    "  - at attestation the TPM clock was %" PRIu64 " ms (%s).\n",
	    wid_key_type_name(e.key_type), e.deadline, e.reset_count,
	    e.nv_mask, e.nv_offset, WID_TPM_NV_BITS, e.attest.clockInfo.clock,
	    e.attest.clockInfo.clock < e.deadline ? "before the deadline" :
	    "past the deadline");
	printf("Not proven: that the attestation key is a real TPM's (no EK "
	    "certificate\nchain is checked); the TPM owner can also delete "
	    "and recreate the NV index.\nAttestation key:\n");
	PEM_write_PUBKEY(stdout, ak);
	rc = TOOL_EXIT_OK;
 out:
	EVP_PKEY_free(ak);
	return rc;
}
#endif

int
cmd_attest(struct tool *t, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (sub == NULL)
		return tool_usage_error("attest", "missing subcommand (verify)");
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 ||
	    strcmp(sub, "help") == 0) {
		usage_attest(stdout);
		return TOOL_EXIT_OK;
	}
	if (strcmp(sub, "verify") != 0)
		return tool_usage_error("attest", "unknown subcommand '%s'", sub);
	if (argc == 3 && (strcmp(argv[2], "--help") == 0 ||
	    strcmp(argv[2], "-h") == 0)) {
		usage_attest(stdout);
		return TOOL_EXIT_OK;
	}
	if (argc != 3)
		return tool_usage_error("attest", "%s", "expected: verify FILE");
#ifdef WID_HAVE_TPM
	return attest_verify(argv[2]);
#else
	fprintf(stderr, TOOL_NAME " attest verify: this wid-tool was built "
	    "without TPM support (tpm2-tss)\n");
	return TOOL_EXIT_FAIL;
#endif
}
