/* tests/unit/test_proto.c: the protocol codec round-trips every message
 * and its strict decoder rejects truncated, trailing and out-of-range
 * input. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "wid/buf.h"
#include "wid/err.h"
#include "wid/proto.h"

static uint8_t mem[WID_MSG_MAX];

/* Encodes with `enc`, strips the frame and header, returns a reader over
 * the body. */
static void
body_reader(struct wid_buf *w, struct wid_buf *r)
{
	uint8_t op;

	assert_int_equal(wid_msg_finish(w), 0);
	wid_buf_reader(r, w->data + WID_HDR_LEN, w->len - WID_HDR_LEN);
	assert_int_equal(wid_req_decode_hdr(r, &op), 0);
}

static void
test_buf_bounds(void **state)
{
	uint8_t small[3];
	struct wid_buf b;
	uint32_t v;

	wid_buf_init(&b, small, sizeof(small));
	wid_put_u16(&b, 7);
	assert_int_equal(b.err, 0);
	wid_put_u16(&b, 8); /* one byte short */
	assert_int_not_equal(b.err, 0);
	wid_put_u8(&b, 1);  /* stays failed */
	assert_int_equal(b.len, 2);

	wid_buf_reader(&b, small, 2);
	assert_int_not_equal(wid_get_u32(&b, &v), 0);
	assert_int_equal(v, 0);
}

/* wid_buf_wipe zeroes what the buffer holds, written or read over, and
 * resets it; bytes past it are not its business. */
static void
test_buf_wipe(void **state)
{
	uint8_t m[16];
	struct wid_buf b;
	size_t i;

	memset(m, 0xa5, sizeof(m));
	wid_buf_init(&b, m, sizeof(m));
	wid_put_u32(&b, 0x01020304u);
	wid_buf_wipe(&b);
	assert_int_equal(b.len, 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(m[i], 0);
	assert_int_equal(m[4], 0xa5);

	memset(m, 0xa5, sizeof(m));
	wid_buf_reader(&b, m + 2, 10);
	wid_buf_wipe(&b);
	assert_int_equal(m[1], 0xa5);
	for (i = 2; i < 12; i++)
		assert_int_equal(m[i], 0);
	assert_int_equal(m[12], 0xa5);
	assert_int_not_equal(wid_get_u8(&b, &m[0]), 0);   /* reset: empty */
}

static void
test_buf_integers(void **state)
{
	struct wid_buf b;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	wid_buf_init(&b, mem, sizeof(mem));
	wid_put_u8(&b, 0xab);
	wid_put_u16(&b, 0xbeef);
	wid_put_u32(&b, 0xdeadbeefu);
	wid_put_u64(&b, 0x0123456789abcdefull);
	assert_int_equal(b.len, 15);
	assert_int_equal(mem[1], 0xbe); /* big endian */
	wid_buf_reader(&b, mem, 15);
	assert_int_equal(wid_get_u8(&b, &u8), 0);
	assert_int_equal(wid_get_u16(&b, &u16), 0);
	assert_int_equal(wid_get_u32(&b, &u32), 0);
	assert_int_equal(wid_get_u64(&b, &u64), 0);
	assert_int_equal(u8, 0xab);
	assert_int_equal(u16, 0xbeef);
	assert_int_equal(u32, 0xdeadbeefu);
	assert_true(u64 == 0x0123456789abcdefull);
	assert_int_equal(wid_get_end(&b), 0);
}

static void
test_ssh_wire(void **state)
{
	const uint8_t hi[] = { 0x00, 0x00, 0x80, 0x01 };  /* leading zeros */
	const uint8_t lo[] = { 0x7f, 0x02 };
	const uint8_t want_hi[] = { 0, 0, 0, 3, 0x00, 0x80, 0x01 };
	const uint8_t want_lo[] = { 0, 0, 0, 2, 0x7f, 0x02 };
	const uint8_t want_zero[] = { 0, 0, 0, 0 };
	const uint8_t *p;
	struct wid_buf b;
	size_t n;

	wid_buf_init(&b, mem, sizeof(mem));
	wid_put_mpint(&b, hi, sizeof(hi));
	assert_int_equal(b.len, sizeof(want_hi));
	assert_memory_equal(mem, want_hi, sizeof(want_hi));
	wid_buf_reset(&b);
	wid_put_mpint(&b, lo, sizeof(lo));
	assert_memory_equal(mem, want_lo, sizeof(want_lo));
	wid_buf_reset(&b);
	wid_put_mpint(&b, hi, 2);                  /* zero */
	assert_int_equal(b.len, 4);
	assert_memory_equal(mem, want_zero, 4);
	wid_buf_reset(&b);
	wid_put_sshcstr(&b, "ssh-ed25519");
	wid_buf_reader(&b, mem, b.len);
	assert_int_equal(wid_get_sshstr(&b, &p, &n), 0);
	assert_int_equal(n, 11);
	assert_memory_equal(p, "ssh-ed25519", 11);
	assert_int_equal(wid_get_end(&b), 0);
	/* A length past the end fails. */
	mem[3] = 12;
	wid_buf_reader(&b, mem, 15);
	assert_int_equal(wid_get_sshstr(&b, &p, &n), WID_E_PROTO);
}

/* The SSH signature blob: name, then the signature; ECDSA r || s as a
 * string of two minimal mpints. */
static void
test_ssh_signature(void **state)
{
	const uint8_t rs[] = { 0x00, 0x81, 0x80, 0x7f };   /* r=0x0081 s=0x807f */
	const uint8_t want_ec[] = {
		0, 0, 0, 1, 'e',
		0, 0, 0, 13,                  /* inner string */
		0, 0, 0, 2, 0x00, 0x81,       /* r: top bit set, one zero */
		0, 0, 0, 3, 0x00, 0x80, 0x7f, /* s */
	};
	const uint8_t want_ed[] = {
		0, 0, 0, 1, 'd', 0, 0, 0, 4, 0x00, 0x81, 0x80, 0x7f,
	};
	struct wid_buf b;

	(void)state;
	wid_buf_init(&b, mem, sizeof(mem));
	wid_put_sshsig(&b, "e", 1, rs, sizeof(rs));
	assert_int_equal(b.err, 0);
	assert_int_equal(b.len, sizeof(want_ec));
	assert_memory_equal(mem, want_ec, sizeof(want_ec));
	wid_buf_reset(&b);
	wid_put_sshsig(&b, "d", 0, rs, sizeof(rs));   /* EdDSA: as is */
	assert_int_equal(b.len, sizeof(want_ed));
	assert_memory_equal(mem, want_ed, sizeof(want_ed));
	wid_buf_reset(&b);
	wid_put_sshsig(&b, "e", 1, rs, 3);            /* odd: not r || s */
	assert_int_equal(b.err, WID_E_PROTO);
}

static void
test_str_rejects_nul_and_long(void **state)
{
	uint8_t raw[] = { 0, 3, 'a', 0, 'b' };
	uint8_t raw2[] = { 0, 5, 'a', 'b', 'c', 'd', 'e' };
	struct wid_buf b;
	char out[8];

	wid_buf_reader(&b, raw, sizeof(raw));
	assert_int_equal(wid_get_str(&b, out, 7), WID_E_PROTO);
	wid_buf_reader(&b, raw2, sizeof(raw2));
	assert_int_equal(wid_get_str(&b, out, 4), WID_E_PROTO);
	wid_buf_reader(&b, raw2, sizeof(raw2));
	assert_int_equal(wid_get_str(&b, out, 5), 0);
	assert_string_equal(out, "abcde");
}

static void
fill_task(struct wid_task *t)
{
	memset(t, 0, sizeof(*t));
	strcpy(t->id, "deploy-42");
	t->state = WID_STATE_ACTIVE;
	t->key_type = WID_KEY_EC_P256;
	t->serial = 9;
	memset(t->key_id, 0x5a, sizeof(t->key_id));
	t->requester_uid = 1000;
	t->executor_uid = WID_UID_NONE;
	t->bound_pid = 4242;
	strcpy(t->requested_by, "ci:run/17");
	strcpy(t->scope, "deploy");
	strcpy(t->approver, "alice");
	t->approver_uid = 1001;
	t->flags = WID_TASK_HAS_SSH_CERT;
	strcpy(t->intent, "release v1.2");
	t->created = 1700000000;
	t->expires = 1700000600;
	t->sign_count = 3;
	t->spki_len = 91;
	memset(t->spki, 0x30, t->spki_len);
}

static void
test_task_roundtrip(void **state)
{
	struct wid_task in, out;
	struct wid_buf w, r;

	fill_task(&in);
	wid_buf_init(&w, mem, sizeof(mem));
	wid_req_begin(&w, WID_OP_LIST);
	wid_task_encode(&w, &in);
	body_reader(&w, &r);
	assert_int_equal(wid_task_decode(&r, &out), 0);
	assert_int_equal(wid_get_end(&r), 0);
	assert_memory_equal(&in.id, &out.id, sizeof(in.id));
	assert_int_equal(out.serial, 9);
	assert_int_equal(out.bound_pid, 4242);
	assert_string_equal(out.intent, "release v1.2");
	assert_string_equal(out.scope, "deploy");
	assert_string_equal(out.approver, "alice");
	assert_int_equal(out.approver_uid, 1001);
	assert_int_equal(out.flags, WID_TASK_HAS_SSH_CERT);
	assert_int_equal(out.expires, 1700000600);
	assert_int_equal(out.spki_len, 91);
	assert_memory_equal(in.spki, out.spki, 91);
}

static void
test_task_rejects_bad_enum(void **state)
{
	struct wid_task in, out;
	struct wid_buf w, r;

	fill_task(&in);
	in.key_type = WID_KEY__MAX;
	wid_buf_init(&w, mem, sizeof(mem));
	wid_req_begin(&w, WID_OP_LIST);
	wid_task_encode(&w, &in);
	body_reader(&w, &r);
	assert_int_equal(wid_task_decode(&r, &out), WID_E_PROTO);
}

static void
test_sign_roundtrip_and_truncation(void **state)
{
	uint8_t digest[32];
	struct wid_sign_req in = { .serial = 5, .mechanism = 0x1041,
		.alg = WID_SIG_ECDSA, .data_len = sizeof(digest),
		.data = digest };
	struct wid_sign_req out;
	struct wid_buf w, r;
	size_t full, cut;

	memset(digest, 0xaa, sizeof(digest));
	wid_buf_init(&w, mem, sizeof(mem));
	wid_req_begin(&w, WID_OP_SIGN);
	wid_sign_req_encode(&w, &in);
	body_reader(&w, &r);
	assert_int_equal(wid_sign_req_decode(&r, &out), 0);
	assert_int_equal(out.serial, 5);
	assert_int_equal(out.data_len, 32);
	assert_memory_equal(out.data, digest, 32);

	/* Every truncation fails, and so does one trailing byte. */
	full = w.len - WID_HDR_LEN - 4;
	for (cut = 0; cut < full; cut++) {
		wid_buf_reader(&r, mem + WID_HDR_LEN + 4, cut);
		assert_int_equal(wid_sign_req_decode(&r, &out), WID_E_PROTO);
	}
	wid_buf_reader(&r, mem + WID_HDR_LEN + 4, full + 1);
	assert_int_equal(wid_sign_req_decode(&r, &out), WID_E_PROTO);
}

static void
test_sign_rejects_inconsistent_pss(void **state)
{
	uint8_t d[32] = { 0 };
	struct wid_sign_req in = { .serial = 5, .alg = WID_SIG_ECDSA,
		.hash = WID_HASH_SHA256, .data_len = 32, .data = d };
	struct wid_sign_req out;
	struct wid_buf w, r;

	wid_buf_init(&w, mem, sizeof(mem));
	wid_req_begin(&w, WID_OP_SIGN);
	wid_sign_req_encode(&w, &in);
	body_reader(&w, &r);
	assert_int_equal(wid_sign_req_decode(&r, &out), WID_E_PROTO);
}

static void
test_start_roundtrip_and_checks(void **state)
{
	struct wid_start_req in, out;
	struct wid_buf w, r;

	memset(&in, 0, sizeof(in));
	strcpy(in.id, "t1");
	in.key_type = WID_KEY_ED25519;
	in.flags = WID_START_BIND_CALLER;
	in.ttl = 600;
	in.executor_uid = WID_UID_NONE;
	strcpy(in.intent, "sign release");
	wid_buf_init(&w, mem, sizeof(mem));
	wid_req_begin(&w, WID_OP_TASK_START);
	wid_start_req_encode(&w, &in);
	body_reader(&w, &r);
	assert_int_equal(wid_start_req_decode(&r, &out), 0);
	assert_int_equal(out.ttl, 600);
	assert_string_equal(out.intent, "sign release");

	in.ttl = 0;
	wid_req_begin(&w, WID_OP_TASK_START);
	wid_start_req_encode(&w, &in);
	body_reader(&w, &r);
	assert_int_equal(wid_start_req_decode(&r, &out), WID_E_PROTO);

	in.ttl = 5;
	strcpy(in.id, "../etc");
	wid_req_begin(&w, WID_OP_TASK_START);
	wid_start_req_encode(&w, &in);
	body_reader(&w, &r);
	assert_int_equal(wid_start_req_decode(&r, &out), WID_E_PROTO);
}

static void
test_new_ops_roundtrip(void **state)
{
	struct wid_id_text_req it = { .id = "t1", .text = "ok by me" }, it2;
	struct wid_policy_check_req pc = { .uid = 1000, .exe = "/usr/bin/ssh",
		.cgroup = "/user.slice", .task = "t1", .mechanism = 0x1041 };
	struct wid_policy_check_req pc2;
	struct wid_decision d = { .allow = 1, .rule = "ci-tools",
		.reason = "allowed" }, d2;
	struct wid_cert_req cr = { .id = "t1", .kind = WID_CERT_SSH }, cr2;
	struct wid_buf w, r;

	wid_buf_init(&w, mem, sizeof(mem));
	wid_req_begin(&w, WID_OP_TASK_APPROVE);
	wid_id_text_req_encode(&w, &it);
	body_reader(&w, &r);
	assert_int_equal(wid_id_text_req_decode(&r, &it2), 0);
	assert_string_equal(it2.text, "ok by me");

	wid_req_begin(&w, WID_OP_POLICY_CHECK);
	wid_policy_check_req_encode(&w, &pc);
	body_reader(&w, &r);
	assert_int_equal(wid_policy_check_req_decode(&r, &pc2), 0);
	assert_string_equal(pc2.exe, "/usr/bin/ssh");
	assert_int_equal(pc2.mechanism, 0x1041);

	wid_req_begin(&w, WID_OP_POLICY_CHECK);
	wid_decision_encode(&w, &d);
	body_reader(&w, &r);
	assert_int_equal(wid_decision_decode(&r, &d2), 0);
	assert_int_equal(d2.allow, 1);
	assert_string_equal(d2.rule, "ci-tools");

	wid_req_begin(&w, WID_OP_CERT_GET);
	wid_cert_req_encode(&w, &cr);
	body_reader(&w, &r);
	assert_int_equal(wid_cert_req_decode(&r, &cr2), 0);
	assert_int_equal(cr2.kind, WID_CERT_SSH);

	/* A task certificate needs a task; a CA one must not name one. */
	cr.kind = WID_CERT_CA_SSH;
	wid_req_begin(&w, WID_OP_CERT_GET);
	wid_cert_req_encode(&w, &cr);
	body_reader(&w, &r);
	assert_int_equal(wid_cert_req_decode(&r, &cr2), WID_E_PROTO);
	cr.id[0] = '\0';
	cr.kind = WID_CERT_X509_DER;
	wid_req_begin(&w, WID_OP_CERT_GET);
	wid_cert_req_encode(&w, &cr);
	body_reader(&w, &r);
	assert_int_equal(wid_cert_req_decode(&r, &cr2), WID_E_PROTO);
}

static void
test_headers(void **state)
{
	struct wid_buf w, r;
	uint16_t status;
	uint8_t op;
	char reason[64];

	wid_buf_init(&w, mem, sizeof(mem));
	wid_reply_error(&w, WID_OP_SIGN, WID_E_EXPIRED, "task t1 expired");
	assert_int_equal(wid_msg_finish(&w), 0);
	wid_buf_reader(&r, mem + WID_HDR_LEN, w.len - WID_HDR_LEN);
	assert_int_equal(wid_reply_decode_hdr(&r, WID_OP_SIGN, &status), 0);
	assert_int_equal(status, WID_E_EXPIRED);
	assert_int_equal(wid_reason_decode(&r, reason, sizeof(reason)), 0);
	assert_string_equal(reason, "task t1 expired");

	/* A reply to another op is a protocol error. */
	wid_buf_reader(&r, mem + WID_HDR_LEN, w.len - WID_HDR_LEN);
	assert_int_equal(wid_reply_decode_hdr(&r, WID_OP_LIST, &status),
	    WID_E_PROTO);

	/* Unknown version and op. */
	mem[WID_HDR_LEN] = 2;
	wid_buf_reader(&r, mem + WID_HDR_LEN, w.len - WID_HDR_LEN);
	assert_int_equal(wid_req_decode_hdr(&r, &op), WID_E_VERSION);
	mem[WID_HDR_LEN] = WID_PROTO_VERSION;
	mem[WID_HDR_LEN + 1] = WID_OP__MAX;
	wid_buf_reader(&r, mem + WID_HDR_LEN, w.len - WID_HDR_LEN);
	assert_int_equal(wid_req_decode_hdr(&r, &op), WID_E_PROTO);
}

static void
test_frame_len(void **state)
{
	uint8_t h[4] = { 0, 0, 0, 3 };
	uint32_t n;

	assert_int_equal(wid_frame_len(h, &n), WID_E_PROTO);
	h[3] = 4;
	assert_int_equal(wid_frame_len(h, &n), 0);
	assert_int_equal(n, 4);
	h[1] = 1; /* 65540: over the maximum */
	assert_int_equal(wid_frame_len(h, &n), WID_E_PROTO);
	h[0] = 0xff;
	assert_int_equal(wid_frame_len(h, &n), WID_E_PROTO);
}

static void
test_task_id_valid(void **state)
{
	char longid[WID_TASK_ID_MAX + 2];

	assert_true(wid_task_id_valid("a"));
	assert_true(wid_task_id_valid("Deploy_1.2-x"));
	assert_false(wid_task_id_valid(""));
	assert_false(wid_task_id_valid("-a"));
	assert_false(wid_task_id_valid("a b"));
	assert_false(wid_task_id_valid("a/b"));
	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	assert_false(wid_task_id_valid(longid));
	longid[WID_TASK_ID_MAX] = '\0';
	assert_true(wid_task_id_valid(longid));
}

static void
test_names(void **state)
{
	int t;

	for (t = WID_KEY_NONE + 1; t < WID_KEY__MAX; t++)
		assert_int_equal(wid_key_type_parse(wid_key_type_name(t)), t);
	assert_int_equal(wid_key_type_parse("dsa"), WID_KEY_NONE);
	assert_null(wid_key_type_name(WID_KEY__MAX));
	assert_string_equal(wid_state_name(WID_STATE_EXPIRED), "expired");
	assert_string_equal(wid_strerror(WID_E_DENIED), "denied by policy");
	assert_string_equal(wid_strerror(-1), "unknown error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_bounds),
		cmocka_unit_test(test_buf_integers),
		cmocka_unit_test(test_buf_wipe),
		cmocka_unit_test(test_ssh_wire),
		cmocka_unit_test(test_ssh_signature),
		cmocka_unit_test(test_str_rejects_nul_and_long),
		cmocka_unit_test(test_task_roundtrip),
		cmocka_unit_test(test_task_rejects_bad_enum),
		cmocka_unit_test(test_sign_roundtrip_and_truncation),
		cmocka_unit_test(test_sign_rejects_inconsistent_pss),
		cmocka_unit_test(test_start_roundtrip_and_checks),
		cmocka_unit_test(test_new_ops_roundtrip),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_frame_len),
		cmocka_unit_test(test_task_id_valid),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}
