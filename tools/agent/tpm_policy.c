/* tools/agent/tpm_policy.c: a TPM task key's policy digest, computed in
 * software (see tpm_policy.h). */
#include "config.h"

#include <string.h>

#include <openssl/evp.h>

#include <tss2/tss2_tpm2_types.h>

#include "wid/err.h"
#include "tpm_policy.h"

/* PolicyCounterTimer offsets into TPMS_TIME_INFO. */
#define OFF_CLOCK 8u    /* .clockInfo.clock */
#define OFF_RESET 16u   /* .clockInfo.resetCount */

struct chunk {
	const void *p;
	size_t n;
};

static void
put_be(uint8_t *p, uint64_t v, size_t n)
{
	while (n-- > 0) {
		p[n] = (uint8_t)v;
		v >>= 8;
	}
}

static int
sha256_chunks(const struct chunk *c, size_t nc, uint8_t out[32])
{
	EVP_MD_CTX *ctx;
	unsigned int len = 0;
	size_t i;
	int ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return WID_E_NOMEM;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	for (i = 0; ok && i < nc; i++)
		ok = EVP_DigestUpdate(ctx, c[i].p, c[i].n);
	ok = ok && EVP_DigestFinal_ex(ctx, out, &len) && len == 32;
	EVP_MD_CTX_free(ctx);
	return ok ? WID_OK : WID_E_CRYPTO;
}

/* PolicyCounterTimer and PolicyNV: args = H(operandB || offset || op);
 * digest = H(digest || cc || args [|| nvName]). */
static int
update_cmp(uint8_t digest[32], uint32_t cc, const uint8_t *operand,
           size_t operand_len, uint16_t offset, uint16_t op,
           const uint8_t *name, size_t name_len)
{
	uint8_t args[32], tail[4], ccb[4];
	int r;

	put_be(tail, offset, 2);
	put_be(tail + 2, op, 2);
	put_be(ccb, cc, 4);
	{
		struct chunk a[] = { { operand, operand_len }, { tail, 4 } };

		if ((r = sha256_chunks(a, 2, args)) != WID_OK)
			return r;
	}
	{
		struct chunk d[] = {
			{ digest, 32 }, { ccb, 4 }, { args, 32 },
			{ name, name_len },
		};

		return sha256_chunks(d, name != NULL ? 4 : 3, digest);
	}
}

int
wid_tpm_policy_digest(const uint8_t *nv_name, size_t nv_name_len,
                      uint64_t deadline, uint32_t reset_count,
                      uint16_t nv_offset, uint8_t nv_mask,
                      uint8_t ret_digest[32])
{
	uint8_t d[32], clock[8], reset[4], ccb[8];
	int r;

	memset(d, 0, sizeof(d));
	put_be(clock, deadline, 8);
	put_be(reset, reset_count, 4);
	put_be(ccb, TPM2_CC_PolicyCommandCode, 4);
	put_be(ccb + 4, TPM2_CC_Sign, 4);
	if ((r = update_cmp(d, TPM2_CC_PolicyCounterTimer, clock, 8,
	    OFF_CLOCK, TPM2_EO_UNSIGNED_LT, NULL, 0)) != WID_OK ||
	    (r = update_cmp(d, TPM2_CC_PolicyCounterTimer, reset, 4,
	    OFF_RESET, TPM2_EO_EQ, NULL, 0)) != WID_OK ||
	    (r = update_cmp(d, TPM2_CC_PolicyNV, &nv_mask, 1, nv_offset,
	    TPM2_EO_BITCLEAR, nv_name, nv_name_len)) != WID_OK)
		goto out;
	{
		struct chunk c[] = { { d, 32 }, { ccb, 8 } };

		if ((r = sha256_chunks(c, 2, d)) != WID_OK)
			goto out;
	}
	memcpy(ret_digest, d, 32);
	r = WID_OK;
 out:
	return r;
}
