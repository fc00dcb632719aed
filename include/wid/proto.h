/* wid/proto.h: the agent protocol, shared by wid-agent, wid-pkcs11.so and
 * wid-tool.  It is a security boundary: every decoder is strict (no
 * missing bytes, no trailing bytes, every enum and length checked).
 *
 * Frame:   u32 length (big endian, 4 <= length <= WID_MSG_MAX), then
 *          `length` bytes of message.
 * Request: u8 version (WID_PROTO_VERSION), u8 op, u16 zero, body.
 * Reply:   u8 version, u8 op (as requested), u16 status (enum wid_err),
 *          body when status is WID_OK, else one string (the reason).
 * Integers are big endian; a string is u16 length + bytes (no NUL, no
 * embedded NUL, bounded per field); a blob is u16 length + bytes.
 * One request, one reply, in order, on one connection.
 */
#ifndef WID_PROTO_H
#define WID_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "wid/buf.h"

#define WID_PROTO_VERSION 1
#define WID_MSG_MAX (64u * 1024u)   /* largest message, header included */
#define WID_HDR_LEN 4u

#define WID_TASK_ID_MAX 64          /* [A-Za-z0-9._-], first alnum */
#define WID_NAME_MAX 128            /* requested-by, approver, user names */
#define WID_INTENT_MAX 512
#define WID_REASON_MAX 256
#define WID_SPKI_MAX 1024           /* DER SubjectPublicKeyInfo */
#define WID_CERT_MAX 4096           /* DER X.509 certificate */
#define WID_SIG_MAX 512             /* RSA-4096 */
#define WID_SIGN_DATA_MAX (16u * 1024u) /* EdDSA messages; digests are small */
#define WID_KEY_ID_LEN 16           /* CKA_ID: SHA-256(SPKI)[0..16) */
#define WID_LIST_MAX 256            /* tasks per LIST reply page */
#define WID_PRINCIPALS_MAX 256      /* comma-separated ssh principals */
#define WID_TEXT_MAX 1024           /* exe paths, cgroups, comments */
#define WID_BLOB_MAX 16384          /* certificates, attestation evidence */
#define WID_HASH_HEX_LEN 64

enum wid_op {
	WID_OP_LIST = 1,       /* tasks and keys visible to the caller */
	WID_OP_SIGN = 2,
	WID_OP_TASK_START = 3,
	WID_OP_TASK_END = 4,
	WID_OP_STATUS = 5,
	WID_OP_TASK_APPROVE = 6,  /* wid_id_text_req -> wid_task */
	WID_OP_TASK_DENY = 7,     /* wid_id_text_req -> empty */
	WID_OP_POLICY_CHECK = 8,  /* wid_policy_check_req -> wid_decision */
	WID_OP_POLICY_RELOAD = 9, /* empty -> string (policy hash) */
	WID_OP_CERT_GET = 10,     /* wid_cert_req -> blob */
	WID_OP_CA_INIT = 11,      /* u8 WID_CA_* bits -> empty */
	WID_OP_ATTEST = 12,       /* task id -> blob (evidence) */
	WID_OP__MAX
};

enum wid_key_type {
	WID_KEY_NONE = 0,
	WID_KEY_EC_P256 = 1,
	WID_KEY_EC_P384 = 2,
	WID_KEY_ED25519 = 3,
	WID_KEY_RSA2048 = 4,
	WID_KEY_RSA3072 = 5,
	WID_KEY__MAX
};

enum wid_task_state {
	WID_STATE_PENDING = 1,
	WID_STATE_ACTIVE = 2,
	WID_STATE_ENDED = 3,
	WID_STATE_EXPIRED = 4,
	WID_STATE_REVOKED = 5,
	WID_STATE__MAX
};

/* What the agent computes; the module turns hash-and-sign mechanisms into
 * these before sending (it hashes, the agent signs the digest). */
enum wid_sig_alg {
	WID_SIG_ECDSA = 1,     /* data: digest (any length); sig: r||s */
	WID_SIG_RSA_PKCS1 = 2, /* data: DigestInfo or raw; sig: PKCS#1 v1.5 */
	WID_SIG_RSA_PSS = 3,   /* data: digest of `hash`; salt length `salt` */
	WID_SIG_EDDSA = 4,     /* data: the message; sig: 64 bytes */
	WID_SIG__MAX
};

enum wid_hash {
	WID_HASH_NONE = 0,
	WID_HASH_SHA1 = 1,
	WID_HASH_SHA224 = 2,
	WID_HASH_SHA256 = 3,
	WID_HASH_SHA384 = 4,
	WID_HASH_SHA512 = 5,
	WID_HASH__MAX
};

/* Request flags for TASK_START. */
#define WID_START_BIND_CALLER 0x01u /* task ends when the calling process exits */
#define WID_START_SSH_CERT    0x02u /* issue an OpenSSH user certificate */
#define WID_START_X509        0x04u /* issue an X.509 certificate */
#define WID_START_ALL_FLAGS   0x07u

/* wid_task.flags */
#define WID_TASK_HAS_SSH_CERT 0x01u
#define WID_TASK_HAS_X509     0x02u
#define WID_TASK_ALL_FLAGS    0x03u

/* CERT_GET kinds. */
enum wid_cert_kind {
	WID_CERT_X509_DER = 1,   /* the task's X.509 certificate, DER */
	WID_CERT_SSH = 2,        /* the task's OpenSSH certificate, one line */
	WID_CERT_CA_SSH = 3,     /* the CA's OpenSSH public key line (id "") */
	WID_CERT_CA_X509 = 4,    /* the CA's X.509 certificate, DER (id "") */
	WID_CERT__MAX
};

/* CA_INIT bits. */
#define WID_CA_SSH  0x01u
#define WID_CA_X509 0x02u

#define WID_UID_NONE UINT32_MAX

/* One task and its key, as LIST and TASK_START return it. */
struct wid_task {
	char id[WID_TASK_ID_MAX + 1];
	uint8_t state;               /* enum wid_task_state */
	uint8_t key_type;            /* enum wid_key_type */
	uint8_t backend;             /* 0 soft, 1 tpm */
	uint8_t flags;               /* WID_TASK_HAS_* */
	uint64_t serial;             /* agent-unique key number, never reused */
	uint8_t key_id[WID_KEY_ID_LEN];
	uint32_t requester_uid;      /* kernel-verified */
	uint32_t executor_uid;       /* who may use it (WID_UID_NONE: requester) */
	uint32_t bound_pid;          /* 0: not bound */
	uint32_t approver_uid;       /* WID_UID_NONE: not approved (yet) */
	char scope[WID_NAME_MAX + 1];        /* policy scope, "default" */
	char requested_by[WID_NAME_MAX + 1]; /* claimed, not verified */
	char approver[WID_NAME_MAX + 1];     /* approver's user name */
	char intent[WID_INTENT_MAX + 1];
	int64_t created;             /* unix seconds */
	int64_t expires;             /* unix seconds */
	uint64_t sign_count;
	uint16_t spki_len;
	uint8_t spki[WID_SPKI_MAX];
};

struct wid_list_req {
	char task[WID_TASK_ID_MAX + 1]; /* "" for all visible */
	uint64_t cursor;                /* first serial to return */
};

/* Reply: u16 count, count tasks, u64 next cursor (0: done).  Encoded and
 * decoded one task at a time so that neither side needs the whole page in
 * one allocation. */

struct wid_sign_req {
	uint64_t serial;
	uint32_t mechanism;          /* the PKCS#11 mechanism the client asked for */
	uint8_t alg;                 /* enum wid_sig_alg */
	uint8_t hash;                /* enum wid_hash; PSS only, else NONE */
	uint32_t salt;               /* PSS only */
	uint16_t data_len;
	const uint8_t *data;         /* points into the decoded buffer */
};

struct wid_start_req {
	char id[WID_TASK_ID_MAX + 1];   /* "" lets the agent choose */
	uint8_t key_type;
	uint8_t flags;                  /* WID_START_* */
	uint32_t ttl;                   /* seconds, > 0 */
	uint32_t executor_uid;          /* WID_UID_NONE: the requester */
	char scope[WID_NAME_MAX + 1];   /* "" means "default" */
	char requested_by[WID_NAME_MAX + 1];
	char intent[WID_INTENT_MAX + 1];
	char principals[WID_PRINCIPALS_MAX + 1]; /* ssh cert, comma-separated */
};

/* TASK_APPROVE, TASK_DENY: a task id and a free-text comment. */
struct wid_id_text_req {
	char id[WID_TASK_ID_MAX + 1];
	char text[WID_TEXT_MAX + 1];
};

/* POLICY_CHECK: "would this caller be allowed to sign with this task's
 * key with this mechanism now?" without doing it.  uid WID_UID_NONE and
 * empty exe/cgroup mean "the caller itself". */
struct wid_policy_check_req {
	uint32_t uid;
	char exe[WID_TEXT_MAX + 1];
	char cgroup[WID_TEXT_MAX + 1];
	char task[WID_TASK_ID_MAX + 1];
	uint32_t mechanism;             /* CKM_*; 0: any */
};

struct wid_decision {
	uint8_t allow;                  /* 0 or 1 */
	char rule[WID_NAME_MAX + 1];
	char reason[WID_REASON_MAX + 1];
};

struct wid_cert_req {
	char id[WID_TASK_ID_MAX + 1];   /* "" for the CA kinds */
	uint8_t kind;                   /* enum wid_cert_kind */
};

struct wid_status {
	char version[32];
	uint8_t backend;
	uint32_t tasks_active;
	uint32_t tasks_pending;
	uint32_t uid;                   /* the agent's uid */
	uint32_t pid;
	int64_t started;
	uint8_t tpm;                    /* 1 when a TPM backend is open */
	char policy_hash[WID_HASH_HEX_LEN + 1]; /* "" when no policy */
	char audit_path[WID_TEXT_MAX + 1];      /* "" when no audit log */
	uint64_t audit_size;
};

/* Framing: WID_HDR_LEN-byte length prefix. */
int wid_frame_len(const uint8_t hdr[WID_HDR_LEN], uint32_t *ret_len);

/* Headers.  wid_req_begin/wid_reply_begin reset `b` and write the frame
 * length placeholder and the message header; wid_msg_finish patches the
 * length.  Decoders consume the header from a buffer holding one message
 * (without the length prefix). */
void wid_req_begin(struct wid_buf *b, uint8_t op);
void wid_reply_begin(struct wid_buf *b, uint8_t op, uint16_t status);
int wid_msg_finish(struct wid_buf *b);
int wid_req_decode_hdr(struct wid_buf *b, uint8_t *ret_op);
int wid_reply_decode_hdr(struct wid_buf *b, uint8_t op, uint16_t *ret_status);
/* Error reply: reason string. */
void wid_reply_error(struct wid_buf *b, uint8_t op, uint16_t status,
                     const char *reason);
int wid_reason_decode(struct wid_buf *b, char *reason, size_t size);

/* Bodies.  Every decoder checks bounds, enums and that the buffer ends
 * exactly after the body (except the paged LIST reply, see below). */
void wid_list_req_encode(struct wid_buf *b, const struct wid_list_req *r);
int wid_list_req_decode(struct wid_buf *b, struct wid_list_req *r);
void wid_task_encode(struct wid_buf *b, const struct wid_task *t);
int wid_task_decode(struct wid_buf *b, struct wid_task *t);
/* LIST reply: wid_put_u16(count); count x wid_task_encode; wid_put_u64(next). */
void wid_sign_req_encode(struct wid_buf *b, const struct wid_sign_req *r);
int wid_sign_req_decode(struct wid_buf *b, struct wid_sign_req *r);
void wid_start_req_encode(struct wid_buf *b, const struct wid_start_req *r);
int wid_start_req_decode(struct wid_buf *b, struct wid_start_req *r);
void wid_status_encode(struct wid_buf *b, const struct wid_status *s);
int wid_status_decode(struct wid_buf *b, struct wid_status *s);
/* TASK_END and ATTEST request: one task id string; SIGN reply: one blob
 * (wid_put_blob / wid_get_blob with WID_SIG_MAX). */
void wid_id_encode(struct wid_buf *b, const char *id);
int wid_id_decode(struct wid_buf *b, char id[WID_TASK_ID_MAX + 1]);
void wid_id_text_req_encode(struct wid_buf *b, const struct wid_id_text_req *r);
int wid_id_text_req_decode(struct wid_buf *b, struct wid_id_text_req *r);
void wid_policy_check_req_encode(struct wid_buf *b,
                                 const struct wid_policy_check_req *r);
int wid_policy_check_req_decode(struct wid_buf *b,
                                struct wid_policy_check_req *r);
void wid_decision_encode(struct wid_buf *b, const struct wid_decision *d);
int wid_decision_decode(struct wid_buf *b, struct wid_decision *d);
void wid_cert_req_encode(struct wid_buf *b, const struct wid_cert_req *r);
int wid_cert_req_decode(struct wid_buf *b, struct wid_cert_req *r);
/* CERT_GET and ATTEST replies, POLICY_RELOAD reply (as a string): one blob
 * of at most WID_BLOB_MAX bytes. */

/* Names and checks shared by every part. */
int wid_task_id_valid(const char *id);
const char *wid_key_type_name(int type);      /* "ec-p256", ...; NULL if bad */
int wid_key_type_parse(const char *name);     /* WID_KEY_NONE if unknown */
const char *wid_state_name(int state);        /* "active", ...; "?" if bad */
const char *wid_op_name(int op);
/* A uid given as a number (below WID_UID_NONE) or a user name (resolved
 * with getpwnam_r); 0, or -1 when it is neither. */
int wid_uid_parse(const char *s, uint32_t *ret_uid);

#endif
