/* tools/agent/attest_ops.c: protocol operations for TPM attestation.
 * Not implemented yet: every request gets WID_E_UNSUPPORTED. */
#include "config.h"

#include "wid/err.h"
#include "handlers.h"

int
wid_handle_attest(struct wid_agent *a, const struct wid_caller *who,
                  struct wid_buf *in, struct wid_buf *out)
{
	wid_reply_error(out, WID_OP_ATTEST, WID_E_UNSUPPORTED, "TPM attestation: not implemented");
	return 0;
}
