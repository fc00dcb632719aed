/* wid/client.h: one connection to the agent, used by wid-pkcs11.so and
 * wid-tool.  Blocking, one request at a time; the caller serializes. */
#ifndef WID_CLIENT_H
#define WID_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "wid/buf.h"
#include "wid/proto.h"

#define WID_SOCK_ENV "WID_AGENT_SOCK"
#define WID_TASK_ENV "WID_TASK"
#define WID_SYSTEM_SOCK "/run/wid/agent.sock"
#define WID_PATH_MAX 108 /* sizeof(sun_path) */

/* Seconds a reply may take before the call fails with WID_E_IO. */
#define WID_CALL_TIMEOUT 30

struct wid_conn {
	int fd;                     /* -1 when closed */
	uint8_t msg[WID_MSG_MAX];   /* request, then reply, in place */
	struct wid_buf buf;         /* over msg */
};

/* The socket path: explicit (if non-NULL and non-empty), else
 * $WID_AGENT_SOCK, else $XDG_RUNTIME_DIR/wid/agent.sock, else
 * WID_SYSTEM_SOCK.  WID_E_BADARG if it does not fit. */
int wid_sock_path(const char *explicit_path, char out[WID_PATH_MAX]);

void wid_conn_init(struct wid_conn *c);
/* Connects (close-on-exec).  WID_E_UNAVAILABLE when nobody listens. */
int wid_conn_open(struct wid_conn *c, const char *path);
void wid_conn_close(struct wid_conn *c);

/* Starts a request in c->buf; the caller then encodes the body into
 * &c->buf and calls wid_conn_call. */
struct wid_buf *wid_conn_req(struct wid_conn *c, uint8_t op);

/* Sends the request in c->buf, reads the reply into c->buf and decodes its
 * header.  Returns 0 with *ret_status the agent's status; then c->buf is
 * positioned at the body (on WID_OK) or at the reason (else; see
 * wid_reason_decode).  Any transport or framing failure returns
 * WID_E_IO/WID_E_PROTO and closes the connection.  Never raises SIGPIPE. */
int wid_conn_call(struct wid_conn *c, uint16_t *ret_status);

#endif
