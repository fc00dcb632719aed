/* common/proto.c: encoders and strict decoders for the agent protocol
 * (see wid/proto.h for the wire format). */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "wid/err.h"
#include "wid/proto.h"

int
wid_frame_len(const uint8_t hdr[WID_HDR_LEN], uint32_t *ret_len)
{
	uint32_t n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];

	*ret_len = 0;
	if (n < 4 || n > WID_MSG_MAX - WID_HDR_LEN)
		return WID_E_PROTO;
	*ret_len = n;
	return 0;
}

static void
msg_begin(struct wid_buf *b, uint8_t op, uint16_t word)
{
	wid_buf_reset(b);
	wid_put_u32(b, 0);      /* patched by wid_msg_finish */
	wid_put_u8(b, WID_PROTO_VERSION);
	wid_put_u8(b, op);
	wid_put_u16(b, word);
}

void
wid_req_begin(struct wid_buf *b, uint8_t op)
{
	msg_begin(b, op, 0);
}

void
wid_reply_begin(struct wid_buf *b, uint8_t op, uint16_t status)
{
	msg_begin(b, op, status);
}

int
wid_msg_finish(struct wid_buf *b)
{
	size_t n;

	if (b->err != 0 || b->len < WID_HDR_LEN + 4 || b->len > WID_MSG_MAX)
		return WID_E_PROTO;
	n = b->len - WID_HDR_LEN;
	b->data[0] = (uint8_t)(n >> 24);
	b->data[1] = (uint8_t)(n >> 16);
	b->data[2] = (uint8_t)(n >> 8);
	b->data[3] = (uint8_t)n;
	return 0;
}

int
wid_req_decode_hdr(struct wid_buf *b, uint8_t *ret_op)
{
	uint8_t version, op;
	uint16_t zero;

	*ret_op = 0;
	if (wid_get_u8(b, &version) != 0 || wid_get_u8(b, &op) != 0 ||
	    wid_get_u16(b, &zero) != 0)
		return WID_E_PROTO;
	if (version != WID_PROTO_VERSION)
		return WID_E_VERSION;
	if (op == 0 || op >= WID_OP__MAX || zero != 0)
		return WID_E_PROTO;
	*ret_op = op;
	return 0;
}

int
wid_reply_decode_hdr(struct wid_buf *b, uint8_t op, uint16_t *ret_status)
{
	uint8_t version, rop;
	uint16_t status;

	*ret_status = WID_E_PROTO;
	if (wid_get_u8(b, &version) != 0 || wid_get_u8(b, &rop) != 0 ||
	    wid_get_u16(b, &status) != 0)
		return WID_E_PROTO;
	if (version != WID_PROTO_VERSION)
		return WID_E_VERSION;
	if (rop != op || status >= WID_E__MAX)
		return WID_E_PROTO;
	*ret_status = status;
	return 0;
}

void
wid_reply_error(struct wid_buf *b, uint8_t op, uint16_t status,
                const char *reason)
{
	char tmp[WID_REASON_MAX + 1];

	wid_reply_begin(b, op, status);
	if (reason == NULL)
		reason = wid_strerror(status);
	/* Bound the reason without splitting the message. */
	strncpy(tmp, reason, WID_REASON_MAX);
	tmp[WID_REASON_MAX] = '\0';
	wid_put_str(b, tmp);
}

int
wid_reason_decode(struct wid_buf *b, char *reason, size_t size)
{
	char tmp[WID_REASON_MAX + 1];

	if (wid_get_str(b, tmp, WID_REASON_MAX) != 0 || wid_get_end(b) != 0) {
		if (size > 0)
			reason[0] = '\0';
		return WID_E_PROTO;
	}
	if (size > 0) {
		strncpy(reason, tmp, size - 1);
		reason[size - 1] = '\0';
	}
	return 0;
}

void
wid_list_req_encode(struct wid_buf *b, const struct wid_list_req *r)
{
	wid_put_str(b, r->task);
	wid_put_u64(b, r->cursor);
}

int
wid_list_req_decode(struct wid_buf *b, struct wid_list_req *r)
{
	memset(r, 0, sizeof(*r));
	if (wid_get_str(b, r->task, WID_TASK_ID_MAX) != 0 ||
	    wid_get_u64(b, &r->cursor) != 0 || wid_get_end(b) != 0)
		return WID_E_PROTO;
	if (r->task[0] != '\0' && !wid_task_id_valid(r->task))
		return WID_E_PROTO;
	return 0;
}

void
wid_task_encode(struct wid_buf *b, const struct wid_task *t)
{
	wid_put_str(b, t->id);
	wid_put_u8(b, t->state);
	wid_put_u8(b, t->key_type);
	wid_put_u8(b, t->backend);
	wid_put_u8(b, t->flags);
	wid_put_u64(b, t->serial);
	wid_put_bytes(b, t->key_id, WID_KEY_ID_LEN);
	wid_put_u32(b, t->requester_uid);
	wid_put_u32(b, t->executor_uid);
	wid_put_u32(b, t->bound_pid);
	wid_put_u32(b, t->approver_uid);
	wid_put_str(b, t->scope);
	wid_put_str(b, t->requested_by);
	wid_put_str(b, t->approver);
	wid_put_str(b, t->intent);
	wid_put_u64(b, (uint64_t)t->created);
	wid_put_u64(b, (uint64_t)t->expires);
	wid_put_u64(b, t->sign_count);
	wid_put_blob(b, t->spki, t->spki_len);
}

/* Decodes one task; the caller checks the end of the message. */
int
wid_task_decode(struct wid_buf *b, struct wid_task *t)
{
	const uint8_t *ref;
	uint64_t created, expires;

	memset(t, 0, sizeof(*t));
	if (wid_get_str(b, t->id, WID_TASK_ID_MAX) != 0 ||
	    wid_get_u8(b, &t->state) != 0 ||
	    wid_get_u8(b, &t->key_type) != 0 ||
	    wid_get_u8(b, &t->backend) != 0 ||
	    wid_get_u8(b, &t->flags) != 0 ||
	    wid_get_u64(b, &t->serial) != 0 ||
	    wid_get_ref(b, &ref, WID_KEY_ID_LEN) != 0)
		return WID_E_PROTO;
	memcpy(t->key_id, ref, WID_KEY_ID_LEN);
	if (wid_get_u32(b, &t->requester_uid) != 0 ||
	    wid_get_u32(b, &t->executor_uid) != 0 ||
	    wid_get_u32(b, &t->bound_pid) != 0 ||
	    wid_get_u32(b, &t->approver_uid) != 0 ||
	    wid_get_str(b, t->scope, WID_NAME_MAX) != 0 ||
	    wid_get_str(b, t->requested_by, WID_NAME_MAX) != 0 ||
	    wid_get_str(b, t->approver, WID_NAME_MAX) != 0 ||
	    wid_get_str(b, t->intent, WID_INTENT_MAX) != 0 ||
	    wid_get_u64(b, &created) != 0 ||
	    wid_get_u64(b, &expires) != 0 ||
	    wid_get_u64(b, &t->sign_count) != 0 ||
	    wid_get_blob(b, &ref, &t->spki_len, WID_SPKI_MAX) != 0)
		return WID_E_PROTO;
	memcpy(t->spki, ref, t->spki_len);
	t->created = (int64_t)created;
	t->expires = (int64_t)expires;
	if (!wid_task_id_valid(t->id) || t->state == 0 ||
	    t->state >= WID_STATE__MAX || t->key_type == WID_KEY_NONE ||
	    t->key_type >= WID_KEY__MAX || t->backend > 1 || t->serial == 0 ||
	    (t->flags & ~WID_TASK_ALL_FLAGS) != 0)
		return WID_E_PROTO;
	return 0;
}

void
wid_sign_req_encode(struct wid_buf *b, const struct wid_sign_req *r)
{
	wid_put_u64(b, r->serial);
	wid_put_u32(b, r->mechanism);
	wid_put_u8(b, r->alg);
	wid_put_u8(b, r->hash);
	wid_put_u32(b, r->salt);
	wid_put_blob(b, r->data, r->data_len);
}

int
wid_sign_req_decode(struct wid_buf *b, struct wid_sign_req *r)
{
	memset(r, 0, sizeof(*r));
	if (wid_get_u64(b, &r->serial) != 0 ||
	    wid_get_u32(b, &r->mechanism) != 0 ||
	    wid_get_u8(b, &r->alg) != 0 || wid_get_u8(b, &r->hash) != 0 ||
	    wid_get_u32(b, &r->salt) != 0 ||
	    wid_get_blob(b, &r->data, &r->data_len, WID_SIGN_DATA_MAX) != 0 ||
	    wid_get_end(b) != 0)
		return WID_E_PROTO;
	if (r->serial == 0 || r->alg == 0 || r->alg >= WID_SIG__MAX ||
	    r->hash >= WID_HASH__MAX)
		return WID_E_PROTO;
	if ((r->alg == WID_SIG_RSA_PSS) != (r->hash != WID_HASH_NONE))
		return WID_E_PROTO;
	if (r->alg != WID_SIG_RSA_PSS && r->salt != 0)
		return WID_E_PROTO;
	return 0;
}

void
wid_start_req_encode(struct wid_buf *b, const struct wid_start_req *r)
{
	wid_put_str(b, r->id);
	wid_put_u8(b, r->key_type);
	wid_put_u8(b, r->flags);
	wid_put_u32(b, r->ttl);
	wid_put_u32(b, r->executor_uid);
	wid_put_str(b, r->scope);
	wid_put_str(b, r->requested_by);
	wid_put_str(b, r->intent);
	wid_put_str(b, r->principals);
}

int
wid_start_req_decode(struct wid_buf *b, struct wid_start_req *r)
{
	memset(r, 0, sizeof(*r));
	if (wid_get_str(b, r->id, WID_TASK_ID_MAX) != 0 ||
	    wid_get_u8(b, &r->key_type) != 0 ||
	    wid_get_u8(b, &r->flags) != 0 ||
	    wid_get_u32(b, &r->ttl) != 0 ||
	    wid_get_u32(b, &r->executor_uid) != 0 ||
	    wid_get_str(b, r->scope, WID_NAME_MAX) != 0 ||
	    wid_get_str(b, r->requested_by, WID_NAME_MAX) != 0 ||
	    wid_get_str(b, r->intent, WID_INTENT_MAX) != 0 ||
	    wid_get_str(b, r->principals, WID_PRINCIPALS_MAX) != 0 ||
	    wid_get_end(b) != 0)
		return WID_E_PROTO;
	if (r->scope[0] != '\0' && !wid_task_id_valid(r->scope))
		return WID_E_PROTO;
	if ((r->id[0] != '\0' && !wid_task_id_valid(r->id)) ||
	    r->key_type == WID_KEY_NONE || r->key_type >= WID_KEY__MAX ||
	    (r->flags & ~WID_START_ALL_FLAGS) != 0 || r->ttl == 0)
		return WID_E_PROTO;
	return 0;
}

void
wid_status_encode(struct wid_buf *b, const struct wid_status *s)
{
	wid_put_str(b, s->version);
	wid_put_u8(b, s->backend);
	wid_put_u32(b, s->tasks_active);
	wid_put_u32(b, s->tasks_pending);
	wid_put_u32(b, s->uid);
	wid_put_u32(b, s->pid);
	wid_put_u64(b, (uint64_t)s->started);
	wid_put_u8(b, s->tpm);
	wid_put_str(b, s->policy_hash);
	wid_put_str(b, s->audit_path);
	wid_put_u64(b, s->audit_size);
}

int
wid_status_decode(struct wid_buf *b, struct wid_status *s)
{
	uint64_t started;

	memset(s, 0, sizeof(*s));
	if (wid_get_str(b, s->version, sizeof(s->version) - 1) != 0 ||
	    wid_get_u8(b, &s->backend) != 0 ||
	    wid_get_u32(b, &s->tasks_active) != 0 ||
	    wid_get_u32(b, &s->tasks_pending) != 0 ||
	    wid_get_u32(b, &s->uid) != 0 || wid_get_u32(b, &s->pid) != 0 ||
	    wid_get_u64(b, &started) != 0 || wid_get_u8(b, &s->tpm) != 0 ||
	    wid_get_str(b, s->policy_hash, WID_HASH_HEX_LEN) != 0 ||
	    wid_get_str(b, s->audit_path, WID_TEXT_MAX) != 0 ||
	    wid_get_u64(b, &s->audit_size) != 0 || wid_get_end(b) != 0)
		return WID_E_PROTO;
	s->started = (int64_t)started;
	return 0;
}

void
wid_id_encode(struct wid_buf *b, const char *id)
{
	wid_put_str(b, id);
}

int
wid_id_decode(struct wid_buf *b, char id[WID_TASK_ID_MAX + 1])
{
	if (wid_get_str(b, id, WID_TASK_ID_MAX) != 0 || wid_get_end(b) != 0 ||
	    !wid_task_id_valid(id))
		return WID_E_PROTO;
	return 0;
}

void
wid_id_text_req_encode(struct wid_buf *b, const struct wid_id_text_req *r)
{
	wid_put_str(b, r->id);
	wid_put_str(b, r->text);
}

int
wid_id_text_req_decode(struct wid_buf *b, struct wid_id_text_req *r)
{
	memset(r, 0, sizeof(*r));
	if (wid_get_str(b, r->id, WID_TASK_ID_MAX) != 0 ||
	    wid_get_str(b, r->text, WID_TEXT_MAX) != 0 ||
	    wid_get_end(b) != 0 || !wid_task_id_valid(r->id))
		return WID_E_PROTO;
	return 0;
}

void
wid_policy_check_req_encode(struct wid_buf *b,
                            const struct wid_policy_check_req *r)
{
	wid_put_u32(b, r->uid);
	wid_put_str(b, r->exe);
	wid_put_str(b, r->cgroup);
	wid_put_str(b, r->task);
	wid_put_u32(b, r->mechanism);
}

int
wid_policy_check_req_decode(struct wid_buf *b, struct wid_policy_check_req *r)
{
	memset(r, 0, sizeof(*r));
	if (wid_get_u32(b, &r->uid) != 0 ||
	    wid_get_str(b, r->exe, WID_TEXT_MAX) != 0 ||
	    wid_get_str(b, r->cgroup, WID_TEXT_MAX) != 0 ||
	    wid_get_str(b, r->task, WID_TASK_ID_MAX) != 0 ||
	    wid_get_u32(b, &r->mechanism) != 0 || wid_get_end(b) != 0 ||
	    !wid_task_id_valid(r->task))
		return WID_E_PROTO;
	return 0;
}

void
wid_decision_encode(struct wid_buf *b, const struct wid_decision *d)
{
	wid_put_u8(b, d->allow);
	wid_put_str(b, d->rule);
	wid_put_str(b, d->reason);
}

int
wid_decision_decode(struct wid_buf *b, struct wid_decision *d)
{
	memset(d, 0, sizeof(*d));
	if (wid_get_u8(b, &d->allow) != 0 ||
	    wid_get_str(b, d->rule, WID_NAME_MAX) != 0 ||
	    wid_get_str(b, d->reason, WID_REASON_MAX) != 0 ||
	    wid_get_end(b) != 0 || d->allow > 1)
		return WID_E_PROTO;
	return 0;
}

void
wid_cert_req_encode(struct wid_buf *b, const struct wid_cert_req *r)
{
	wid_put_str(b, r->id);
	wid_put_u8(b, r->kind);
}

int
wid_cert_req_decode(struct wid_buf *b, struct wid_cert_req *r)
{
	int ca;

	memset(r, 0, sizeof(*r));
	if (wid_get_str(b, r->id, WID_TASK_ID_MAX) != 0 ||
	    wid_get_u8(b, &r->kind) != 0 || wid_get_end(b) != 0 ||
	    r->kind == 0 || r->kind >= WID_CERT__MAX)
		return WID_E_PROTO;
	ca = r->kind == WID_CERT_CA_SSH || r->kind == WID_CERT_CA_X509;
	if (ca != (r->id[0] == '\0') || (!ca && !wid_task_id_valid(r->id)))
		return WID_E_PROTO;
	return 0;
}

int
wid_task_id_valid(const char *id)
{
	size_t i;

	if (id == NULL || id[0] == '\0')
		return 0;
	for (i = 0; id[i] != '\0'; i++) {
		char c = id[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9');

		if (i >= WID_TASK_ID_MAX)
			return 0;
		if (i == 0 && !alnum)
			return 0;
		if (!alnum && c != '.' && c != '_' && c != '-')
			return 0;
	}
	return 1;
}

static const char *const key_type_names[WID_KEY__MAX] = {
	[WID_KEY_EC_P256] = "ec-p256",
	[WID_KEY_EC_P384] = "ec-p384",
	[WID_KEY_ED25519] = "ed25519",
	[WID_KEY_RSA2048] = "rsa2048",
	[WID_KEY_RSA3072] = "rsa3072",
};

const char *
wid_key_type_name(int type)
{
	if (type <= WID_KEY_NONE || type >= WID_KEY__MAX)
		return NULL;
	return key_type_names[type];
}

int
wid_key_type_parse(const char *name)
{
	int t;

	if (name == NULL)
		return WID_KEY_NONE;
	for (t = WID_KEY_NONE + 1; t < WID_KEY__MAX; t++)
		if (strcmp(name, key_type_names[t]) == 0)
			return t;
	return WID_KEY_NONE;
}

const char *
wid_state_name(int state)
{
	static const char *const names[WID_STATE__MAX] = {
		[WID_STATE_PENDING] = "pending",
		[WID_STATE_ACTIVE] = "active",
		[WID_STATE_ENDED] = "ended",
		[WID_STATE_EXPIRED] = "expired",
		[WID_STATE_REVOKED] = "revoked",
	};

	if (state <= 0 || state >= WID_STATE__MAX)
		return "?";
	return names[state];
}

const char *
wid_op_name(int op)
{
	static const char *const names[WID_OP__MAX] = {
		[WID_OP_LIST] = "list",
		[WID_OP_SIGN] = "sign",
		[WID_OP_TASK_START] = "task-start",
		[WID_OP_TASK_END] = "task-end",
		[WID_OP_STATUS] = "status",
		[WID_OP_TASK_APPROVE] = "task-approve",
		[WID_OP_TASK_DENY] = "task-deny",
		[WID_OP_POLICY_CHECK] = "policy-check",
		[WID_OP_POLICY_RELOAD] = "policy-reload",
		[WID_OP_CERT_GET] = "cert-get",
		[WID_OP_CA_INIT] = "ca-init",
		[WID_OP_ATTEST] = "attest",
	};

	if (op <= 0 || op >= WID_OP__MAX)
		return "?";
	return names[op];
}

int
wid_uid_parse(const char *s, uint32_t *ret_uid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	unsigned long v;
	char *end;

	if (s == NULL || s[0] == '\0')
		return -1;
	if (s[0] >= '0' && s[0] <= '9') {
		errno = 0;
		v = strtoul(s, &end, 10);
		if (errno != 0 || *end != '\0' || v >= WID_UID_NONE)
			return -1;
		*ret_uid = (uint32_t)v;
		return 0;
	}
	if (getpwnam_r(s, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
		return -1;
	*ret_uid = (uint32_t)pw.pw_uid;
	return 0;
}
