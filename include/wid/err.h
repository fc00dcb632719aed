/* wid/err.h: the one error type shared by the agent, the tool and the
 * protocol.  Each layer maps it at its edge (the module to CK_RV in
 * module/rv.c, the tool to exit codes). */
#ifndef WID_ERR_H
#define WID_ERR_H

enum wid_err {
	WID_OK = 0,
	WID_E_PROTO = 1,       /* malformed message */
	WID_E_VERSION = 2,     /* protocol version not spoken */
	WID_E_NOMEM = 3,
	WID_E_BADARG = 4,      /* well-formed request, invalid values */
	WID_E_NOTASK = 5,      /* no such task or key visible to the caller */
	WID_E_EXPIRED = 6,     /* task deadline has passed */
	WID_E_ENDED = 7,       /* task was ended or revoked */
	WID_E_PENDING = 8,     /* task waits for approval */
	WID_E_DENIED = 9,      /* policy said no */
	WID_E_MECH = 10,       /* mechanism invalid for this key */
	WID_E_EXISTS = 11,     /* task id already in use */
	WID_E_CRYPTO = 12,     /* the backend failed to create or use a key */
	WID_E_AUDIT = 13,      /* the audit event could not be written */
	WID_E_LIMIT = 14,      /* a configured limit was reached */
	WID_E_UNAVAILABLE = 15,/* no agent answers */
	WID_E_IO = 16,         /* connection failed mid-request */
	WID_E_UNSUPPORTED = 17,/* valid request this agent cannot serve */
	WID_E_INTERNAL = 18,
	WID_E__MAX
};

/* Static, never NULL. */
const char *wid_strerror(int err);

#endif
