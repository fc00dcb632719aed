/* tests/fuzz/fuzz_agent.c: the agent's whole request path, wid_handle(),
 * over a real task table and the soft backend, as the server calls it.
 * Each input is a conversation: every run starts a fresh table holding
 * task "t1" (EC P-256, serial 1, uid 1000) and "t2" (Ed25519, serial 2,
 * uid 1001), then feeds the messages in turn.
 *
 * Input: repeated { u8 caller (bit 0: uid 1000 or 1001, bit 1: root),
 * u16 length, length bytes of one message (without the frame prefix) }.
 * Oracles: every message gets exactly one well-formed framed reply whose
 * op echoes the request's op byte; the agent never signs for a caller
 * who cannot see the task (uid 1001 asking for serial 1 must fail); no
 * out-of-bounds access, leak or UB (ASan/UBSan/LSan). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wid/buf.h"
#include "wid/err.h"
#include "wid/proto.h"
#include "tools/agent/agent.h"
#include "tools/agent/handlers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MSGS 64

static uint8_t reply[WID_MSG_MAX];

static int
start_task(struct wid_agent *a, const char *id, int type, uint32_t uid)
{
	struct wid_start_req req;
	struct wid_caller who = { .uid = uid, .gid = uid, .pid = 4242 };
	struct wid_task task;
	char reason[WID_REASON_MAX + 1];

	memset(&req, 0, sizeof(req));
	snprintf(req.id, sizeof(req.id), "%s", id);
	req.key_type = (uint8_t)type;
	req.ttl = 600;
	req.executor_uid = WID_UID_NONE;
	return wid_tasks_start(&a->tasks, &req, &who, -1, wid_now_boot(),
	    wid_now_wall(), &task, reason, sizeof(reason));
}

/* The reply must be one frame: length prefix, version, the op the
 * request named (0 when it had none), a status, nothing beyond. */
static void
check_reply(const struct wid_buf *out, const uint8_t *msg, size_t len)
{
	uint32_t flen;

	if (out->err != 0 || out->len < WID_HDR_LEN + 4 ||
	    wid_frame_len(out->data, &flen) != 0 ||
	    flen != out->len - WID_HDR_LEN ||
	    out->data[WID_HDR_LEN] != WID_PROTO_VERSION)
		abort();
	if (len > 1 && out->data[WID_HDR_LEN + 1] != msg[1])
		abort();
}

/* uid 1001 must never get a signature made with serial 1 (uid 1000's). */
static void
check_visibility(uint32_t uid, const struct wid_buf *out, const uint8_t *msg,
    size_t len)
{
	struct wid_buf in;
	struct wid_sign_req req;
	uint8_t op;

	wid_buf_reader(&in, msg, len);
	if (uid != 1001 || wid_req_decode_hdr(&in, &op) != 0 ||
	    op != WID_OP_SIGN || wid_sign_req_decode(&in, &req) != 0 ||
	    req.serial != 1)
		return;
	if (out->data[WID_HDR_LEN + 2] == 0 && out->data[WID_HDR_LEN + 3] == 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct wid_agent a;
	size_t pos = 0, nmsg = 0;
	const char *why;

	memset(&a, 0, sizeof(a));
	wid_config_defaults(&a.conf);
	/* Cheap key types only: the fuzzer starts tasks too. */
	a.conf.key_types = (1u << WID_KEY_EC_P256) | (1u << WID_KEY_ED25519);
	if ((a.ops = wid_backend_find("soft", &a.backend_id, &why)) == NULL ||
	    a.ops->open(NULL, &a.bstate) != 0)
		abort();
	if (wid_tasks_init(&a.tasks, a.ops, a.bstate, a.backend_id) != 0)
		abort();
	a.uid = 1000;
	a.pid = 1;
	a.started = 1700000000;
	if (start_task(&a, "t1", WID_KEY_EC_P256, 1000) != 0 ||
	    start_task(&a, "t2", WID_KEY_ED25519, 1001) != 0)
		abort();

	while (pos + 3 <= size && nmsg++ < MAX_MSGS) {
		struct wid_caller who = { .gid = 100, .pid = 4242,
		    .exe = "/usr/bin/ssh", .cgroup = "/user.slice/ci" };
		struct wid_buf out;
		size_t len = (size_t)data[pos + 1] << 8 | data[pos + 2];
		const uint8_t *msg = data + pos + 3;

		who.uid = (data[pos] & 2) ? 0 : (data[pos] & 1) ? 1001 : 1000;
		pos += 3;
		if (len > size - pos)
			len = size - pos;
		pos += len;
		wid_buf_init(&out, reply, sizeof(reply));
		/* As serve_frame() does: handle, then patch the length. */
		(void)wid_handle(&a, &who, -1, msg, len, &out);
		if (wid_msg_finish(&out) != 0)
			abort();
		check_reply(&out, msg, len);
		check_visibility(who.uid, &out, msg, len);
	}

	wid_tasks_fini(&a.tasks);
	wid_cert_fini(&a);      /* the CA a CA_INIT request made */
	a.ops->close(a.bstate);
	wid_config_free(&a.conf);
	return 0;
}
