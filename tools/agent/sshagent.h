/* tools/agent/sshagent.h: the agent's second face, the ssh-agent protocol
 * (draft-miller-ssh-agent) over the caller's visible task keys, so ssh and
 * git sign with a task key without loading any PKCS#11 module (and with
 * Ed25519, which OpenSSH 9.2 cannot use through PKCS#11).
 *
 * Spoken: REQUEST_IDENTITIES (keys, plus OpenSSH certificates when a task
 * has one) and SIGN_REQUEST (ECDSA P-256/P-384, Ed25519, RSA with
 * rsa-sha2-256/512).  Everything else (adding or removing keys, locking,
 * extensions, ssh-rsa SHA-1 signatures) gets SSH_AGENT_FAILURE.
 * Signing goes through wid_sign_for(), the same path as WID_OP_SIGN.
 *
 * Frame: u32 length (big endian, 1..WID_SSHAGENT_MSG_MAX), then the
 * message: u8 type, body. */
#ifndef WID_AGENT_SSHAGENT_H
#define WID_AGENT_SSHAGENT_H

#include <stddef.h>
#include <stdint.h>

#include "wid/buf.h"
#include "agent.h"
#include "tasks.h"

#define WID_SSHAGENT_MSG_MAX (256u * 1024u)   /* as OpenSSH's ssh-agent */
#define WID_SSHAGENT_SOCK_NAME "ssh-agent.sock"

/* Message numbers (draft-miller-ssh-agent section 5.1). */
#define SSH_AGENT_FAILURE 5
#define SSH_AGENT_SUCCESS 6
#define SSH2_AGENTC_REQUEST_IDENTITIES 11
#define SSH2_AGENT_IDENTITIES_ANSWER 12
#define SSH2_AGENTC_SIGN_REQUEST 13
#define SSH2_AGENT_SIGN_RESPONSE 14
#define SSH_AGENT_RSA_SHA2_256 0x02u
#define SSH_AGENT_RSA_SHA2_512 0x04u

/* The body length of a frame header; WID_E_PROTO when out of range. */
int wid_sshagent_frame_len(const uint8_t hdr[4], uint32_t *ret_len);

/* Handles one message (the bytes after the frame length) from `who`,
 * writing a framed reply (length included) into out, a WID_MSG_MAX-byte
 * buffer.  Returns 0, or non-zero when the connection must be closed
 * after the reply is sent (malformed message). */
int wid_sshagent_handle(struct wid_agent *a, const struct wid_caller *who,
                        const uint8_t *msg, size_t len, struct wid_buf *out);

/* The ssh-agent socket next to the wid socket `sock`:
 * dirname(sock)/WID_SSHAGENT_SOCK_NAME.  WID_E_BADARG if it does not fit
 * in size bytes. */
int wid_sshagent_default_path(const char *sock, char *out, size_t size);

#endif
