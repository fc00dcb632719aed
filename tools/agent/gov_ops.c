/* tools/agent/gov_ops.c: protocol operations for approve, deny, policy check and reload.
 * Not implemented yet: every request gets WID_E_UNSUPPORTED. */
#include "config.h"

#include "wid/err.h"
#include "handlers.h"

int
wid_handle_gov(struct wid_agent *a, const struct wid_caller *who,
               uint8_t op, struct wid_buf *in, struct wid_buf *out)
{
	wid_reply_error(out, op, WID_E_UNSUPPORTED, "approve, deny, policy check and reload: not implemented");
	return 0;
}
