/* common/err.c: text for enum wid_err. */
#include "config.h"

#include <stddef.h>

#include "wid/err.h"

static const char *const messages[WID_E__MAX] = {
	[WID_OK] = "success",
	[WID_E_PROTO] = "malformed message",
	[WID_E_VERSION] = "protocol version not supported",
	[WID_E_NOMEM] = "out of memory",
	[WID_E_BADARG] = "invalid argument",
	[WID_E_NOTASK] = "no such task",
	[WID_E_EXPIRED] = "task has expired",
	[WID_E_ENDED] = "task has ended",
	[WID_E_PENDING] = "task is waiting for approval",
	[WID_E_DENIED] = "denied by policy",
	[WID_E_MECH] = "mechanism not valid for this key",
	[WID_E_EXISTS] = "task id already in use",
	[WID_E_CRYPTO] = "key operation failed",
	[WID_E_AUDIT] = "audit log write failed",
	[WID_E_LIMIT] = "limit reached",
	[WID_E_UNAVAILABLE] = "no agent answers",
	[WID_E_IO] = "connection to agent failed",
	[WID_E_UNSUPPORTED] = "not supported",
	[WID_E_INTERNAL] = "internal error",
};

const char *
wid_strerror(int err)
{
	if (err < 0 || err >= WID_E__MAX || messages[err] == NULL)
		return "unknown error";
	return messages[err];
}
