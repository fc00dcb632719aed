/* module/rv.c: the one mapping from the agent's enum wid_err to CK_RV. */
#include "config.h"

#include "wid/err.h"
#include "module.h"

CK_RV
wid_rv(int err)
{
	switch (err) {
	case WID_OK:
		return CKR_OK;
	case WID_E_NOTASK:
	case WID_E_EXPIRED:
	case WID_E_ENDED:
		return CKR_KEY_HANDLE_INVALID;
	case WID_E_DENIED:
	case WID_E_PENDING:
		return CKR_FUNCTION_REJECTED;
	case WID_E_MECH:
		return CKR_MECHANISM_INVALID;
	case WID_E_UNAVAILABLE:
	case WID_E_IO:
		return CKR_DEVICE_REMOVED;
	case WID_E_NOMEM:
		return CKR_HOST_MEMORY;
	default:
		return CKR_FUNCTION_FAILED;
	}
}
