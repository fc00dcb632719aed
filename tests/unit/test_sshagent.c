/* tests/unit/test_sshagent.c: the ssh-agent protocol handler
 * (tools/agent/sshagent.c) on a real soft backend: identities are the
 * caller's tasks only, signatures (Ed25519, ECDSA P-256/P-384, RSA
 * SHA-256/512) verify with OpenSSL against the task's public key, SHA-1
 * RSA is refused, and malformed messages get FAILURE and close. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "wid/err.h"
#include "wid/proto.h"
#include "wid/pubkey.h"
#include "tools/agent/agent.h"
#include "tools/agent/sshagent.h"

#define UID_A 1000u
#define UID_B 1001u

static struct wid_agent agent;
static uint8_t outmem[WID_MSG_MAX];
static struct wid_buf out;
static const struct wid_caller who_a = { UID_A, UID_A, 4242, NULL, NULL };
static const struct wid_caller who_b = { UID_B, UID_B, 4243, NULL, NULL };

static int
setup(void **state)
{
	memset(&agent, 0, sizeof(agent));
	wid_config_defaults(&agent.conf);
	agent.ops = &wid_backend_soft;
	if (agent.ops->open(NULL, &agent.bstate) != 0 ||
	    wid_tasks_init(&agent.tasks, agent.ops, agent.bstate, 0) != 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	wid_tasks_fini(&agent.tasks);
	agent.ops->close(agent.bstate);
	wid_config_free(&agent.conf);
	return 0;
}

static void
start(const char *id, int type, struct wid_task *ret)
{
	struct wid_start_req req;
	char reason[WID_REASON_MAX + 1] = "";

	memset(&req, 0, sizeof(req));
	snprintf(req.id, sizeof(req.id), "%s", id);
	req.key_type = (uint8_t)type;
	req.ttl = 600;
	req.executor_uid = WID_UID_NONE;
	assert_int_equal(wid_tasks_start(&agent.tasks, &req, &who_a, -1,
	    wid_now_boot(), wid_now_wall(), ret, reason, sizeof(reason)), 0);
}

/* Runs one message; returns the handler's close flag. */
static int
run(const struct wid_caller *who, const uint8_t *msg, size_t len)
{
	wid_buf_init(&out, outmem, sizeof(outmem));
	return wid_sshagent_handle(&agent, who, msg, len, &out);
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static void
assert_failure(void)
{
	static const uint8_t fail[] = { 0, 0, 0, 1, SSH_AGENT_FAILURE };

	assert_int_equal(out.len, sizeof(fail));
	assert_memory_equal(out.data, fail, sizeof(fail));
}

/* Builds a SIGN_REQUEST for the task's key over data with flags. */
static size_t
sign_msg(const struct wid_task *t, const uint8_t *data, size_t dlen,
         uint32_t flags, uint8_t *msg, size_t size)
{
	uint8_t blob[WID_SSH_BLOB_MAX];
	size_t blen = 0;
	struct wid_buf b;

	assert_int_equal(wid_pubkey_ssh_blob(t->spki, t->spki_len, blob,
	    sizeof(blob), &blen), 0);
	wid_buf_init(&b, msg, size);
	wid_put_u8(&b, SSH2_AGENTC_SIGN_REQUEST);
	wid_put_u32(&b, (uint32_t)blen);
	wid_put_bytes(&b, blob, blen);
	wid_put_u32(&b, (uint32_t)dlen);
	wid_put_bytes(&b, data, dlen);
	wid_put_u32(&b, flags);
	assert_int_equal(b.err, 0);
	return b.len;
}

/* Parses a SIGN_RESPONSE: the algorithm name and the signature blob. */
static void
parse_sig(char *name, size_t nsize, const uint8_t **ret_sig,
          size_t *ret_len)
{
	const uint8_t *p = out.data;
	uint32_t total, inner, nlen, slen;

	assert_true(out.len > 9);
	total = be32(p);
	assert_int_equal(total, out.len - 4);
	assert_int_equal(p[4], SSH2_AGENT_SIGN_RESPONSE);
	inner = be32(p + 5);
	assert_int_equal(inner, out.len - 9);
	nlen = be32(p + 9);
	assert_true(nlen < nsize);
	memcpy(name, p + 13, nlen);
	name[nlen] = '\0';
	slen = be32(p + 13 + nlen);
	assert_int_equal(13 + nlen + 4 + slen, out.len);
	*ret_sig = p + 17 + nlen;
	*ret_len = slen;
}

static EVP_PKEY *
task_pkey(const struct wid_task *t)
{
	const uint8_t *p = t->spki;
	EVP_PKEY *k = d2i_PUBKEY(NULL, &p, t->spki_len);

	assert_non_null(k);
	return k;
}

static void
test_frame_len(void **state)
{
	uint8_t h[4] = { 0, 0, 0, 0 };
	uint32_t n = 0;

	assert_int_equal(wid_sshagent_frame_len(h, &n), WID_E_PROTO);
	h[3] = 1;
	assert_int_equal(wid_sshagent_frame_len(h, &n), 0);
	assert_int_equal(n, 1);
	h[1] = 0x04; h[3] = 0;    /* 256 KiB */
	assert_int_equal(wid_sshagent_frame_len(h, &n), 0);
	assert_int_equal(n, 256u * 1024u);
	h[3] = 1;                 /* one more */
	assert_int_equal(wid_sshagent_frame_len(h, &n), WID_E_PROTO);
	h[0] = 0xff;
	assert_int_equal(wid_sshagent_frame_len(h, &n), WID_E_PROTO);
}

static void
test_default_path(void **state)
{
	char p[WID_PATH_MAX];

	assert_int_equal(wid_sshagent_default_path("/run/wid/agent.sock", p,
	    sizeof(p)), 0);
	assert_string_equal(p, "/run/wid/ssh-agent.sock");
	assert_int_equal(wid_sshagent_default_path("agent.sock", p,
	    sizeof(p)), WID_E_BADARG);
	assert_int_equal(wid_sshagent_default_path("/a/agent.sock", p, 8),
	    WID_E_BADARG);
}

static void
test_identities(void **state)
{
	static const uint8_t req[] = { SSH2_AGENTC_REQUEST_IDENTITIES };
	struct wid_task ed, ec;
	uint8_t blob[WID_SSH_BLOB_MAX];
	size_t blen = 0, off;
	const uint8_t *p;

	assert_int_equal(run(&who_a, req, 1), 0);
	assert_int_equal(out.len, 9);
	assert_int_equal(out.data[4], SSH2_AGENT_IDENTITIES_ANSWER);
	assert_int_equal(be32(out.data + 5), 0);

	start("id-ed", WID_KEY_ED25519, &ed);
	start("id-ec", WID_KEY_EC_P256, &ec);
	assert_int_equal(run(&who_a, req, 1), 0);
	p = out.data;
	assert_int_equal(be32(p), out.len - 4);
	assert_int_equal(be32(p + 5), 2);
	/* First identity: ed's blob, comment "id-ed" (serial order). */
	assert_int_equal(wid_pubkey_ssh_blob(ed.spki, ed.spki_len, blob,
	    sizeof(blob), &blen), 0);
	assert_int_equal(be32(p + 9), blen);
	assert_memory_equal(p + 13, blob, blen);
	off = 13 + blen;
	assert_int_equal(be32(p + off), 5);
	assert_memory_equal(p + off + 4, "id-ed", 5);
	off += 9;
	assert_int_equal(wid_pubkey_ssh_blob(ec.spki, ec.spki_len, blob,
	    sizeof(blob), &blen), 0);
	assert_int_equal(be32(p + off), blen);
	assert_memory_equal(p + off + 4, blob, blen);
	off += 4 + blen;
	assert_int_equal(be32(p + off), 5);
	assert_memory_equal(p + off + 4, "id-ec", 5);
	assert_int_equal(off + 9, out.len);

	/* Another uid sees none of them. */
	assert_int_equal(run(&who_b, req, 1), 0);
	assert_int_equal(be32(out.data + 5), 0);

	/* Ended: gone. */
	assert_int_equal(wid_tasks_end(&agent.tasks, "id-ed", UID_A,
	    (char[WID_REASON_MAX + 1]){ 0 }, WID_REASON_MAX), 0);
	assert_int_equal(run(&who_a, req, 1), 0);
	assert_int_equal(be32(out.data + 5), 1);
}

static void
test_sign_ed25519(void **state)
{
	static const uint8_t data[] = "ssh session data";
	uint8_t msg[2048];
	struct wid_task t;
	const uint8_t *sig;
	size_t slen, n;
	char name[64];
	EVP_PKEY *k;
	EVP_MD_CTX *m = EVP_MD_CTX_new();

	start("s-ed", WID_KEY_ED25519, &t);
	n = sign_msg(&t, data, sizeof(data), 0, msg, sizeof(msg));
	assert_int_equal(run(&who_a, msg, n), 0);
	parse_sig(name, sizeof(name), &sig, &slen);
	assert_string_equal(name, "ssh-ed25519");
	/* the inner string: u32 64 + 64 bytes */
	assert_int_equal(slen, 64);
	k = task_pkey(&t);
	assert_int_equal(EVP_DigestVerifyInit_ex(m, NULL, NULL, NULL, NULL, k,
	    NULL), 1);
	assert_int_equal(EVP_DigestVerify(m, sig, slen, data,
	    sizeof(data)), 1);
	/* Someone else asks with the same key: refused. */
	assert_int_equal(run(&who_b, msg, n), 0);
	assert_failure();
	EVP_MD_CTX_free(m);
	EVP_PKEY_free(k);
}

/* ECDSA: the inner blob is mpint r, mpint s over SHA-2 of the data. */
static void
check_ecdsa(int type, const char *want, const char *md)
{
	static const uint8_t data[] = "ecdsa data";
	uint8_t msg[2048], der[256], *dp = der;
	struct wid_task t;
	const uint8_t *sig;
	size_t slen, n;
	uint32_t rl, sl;
	char name[64];
	BIGNUM *r, *s;
	ECDSA_SIG *es = ECDSA_SIG_new();
	EVP_PKEY *k;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	int dl;

	start(want, type, &t);
	n = sign_msg(&t, data, sizeof(data), 0, msg, sizeof(msg));
	assert_int_equal(run(&who_a, msg, n), 0);
	parse_sig(name, sizeof(name), &sig, &slen);
	assert_string_equal(name, want);
	rl = be32(sig);
	assert_true(4 + rl + 4 <= slen);
	sl = be32(sig + 4 + rl);
	assert_int_equal(8 + rl + sl, slen);
	/* mpints are minimal: no leading zero unless the top bit is set */
	assert_true(rl > 0 && (sig[4] != 0 || (sig[5] & 0x80) != 0));
	r = BN_bin2bn(sig + 4, (int)rl, NULL);
	s = BN_bin2bn(sig + 8 + rl, (int)sl, NULL);
	assert_int_equal(ECDSA_SIG_set0(es, r, s), 1);
	dl = i2d_ECDSA_SIG(es, &dp);
	assert_true(dl > 0);
	k = task_pkey(&t);
	assert_int_equal(EVP_DigestVerifyInit_ex(m, NULL, md, NULL, NULL, k,
	    NULL), 1);
	assert_int_equal(EVP_DigestVerify(m, der, (size_t)dl, data,
	    sizeof(data)), 1);
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(m);
	EVP_PKEY_free(k);
}

static void
test_sign_ecdsa(void **state)
{
	check_ecdsa(WID_KEY_EC_P256, "ecdsa-sha2-nistp256", "SHA256");
	check_ecdsa(WID_KEY_EC_P384, "ecdsa-sha2-nistp384", "SHA384");
}

static void
test_sign_rsa(void **state)
{
	static const uint8_t data[] = "rsa data";
	static const struct { uint32_t flags; const char *name, *md; } v[] = {
		{ SSH_AGENT_RSA_SHA2_256, "rsa-sha2-256", "SHA256" },
		{ SSH_AGENT_RSA_SHA2_512, "rsa-sha2-512", "SHA512" },
		{ SSH_AGENT_RSA_SHA2_256 | SSH_AGENT_RSA_SHA2_512,
		    "rsa-sha2-256", "SHA256" },
	};
	uint8_t msg[2048];
	struct wid_task t;
	const uint8_t *sig;
	size_t slen, n, i;
	char name[64];
	EVP_PKEY *k;

	start("s-rsa", WID_KEY_RSA2048, &t);
	k = task_pkey(&t);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		EVP_MD_CTX *m = EVP_MD_CTX_new();

		n = sign_msg(&t, data, sizeof(data), v[i].flags, msg,
		    sizeof(msg));
		assert_int_equal(run(&who_a, msg, n), 0);
		parse_sig(name, sizeof(name), &sig, &slen);
		assert_string_equal(name, v[i].name);
		assert_int_equal(slen, 256);
		assert_int_equal(EVP_DigestVerifyInit_ex(m, NULL, v[i].md,
		    NULL, NULL, k, NULL), 1);
		assert_int_equal(EVP_DigestVerify(m, sig, slen, data,
		    sizeof(data)), 1);
		EVP_MD_CTX_free(m);
	}
	/* No flag: ssh-rsa with SHA-1: refused, connection kept. */
	n = sign_msg(&t, data, sizeof(data), 0, msg, sizeof(msg));
	assert_int_equal(run(&who_a, msg, n), 0);
	assert_failure();
	EVP_PKEY_free(k);
}

static void
test_malformed(void **state)
{
	static const uint8_t lock[] = { 22, 0, 0, 0, 1, 'x' };
	static const uint8_t add[] = { 17, 0, 0, 0, 0 };
	static const uint8_t unknown[] = { 0x1b };
	static const uint8_t ids_trailing[] = { 11, 0 };
	static const uint8_t sign_trunc[] = { 13, 0, 0, 0, 9, 1, 2 };
	static const uint8_t sign_noflags[] = { 13, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t sign_huge[] = { 13, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t sign_nokey[] = { 13, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0, 2 };
	uint8_t msg[2048];
	struct wid_task t;
	size_t n;

	/* Not spoken, well-formed: FAILURE, connection kept. */
	assert_int_equal(run(&who_a, lock, sizeof(lock)), 0);
	assert_failure();
	assert_int_equal(run(&who_a, add, sizeof(add)), 0);
	assert_failure();
	assert_int_equal(run(&who_a, unknown, sizeof(unknown)), 0);
	assert_failure();
	assert_int_equal(run(&who_a, sign_nokey, sizeof(sign_nokey)), 0);
	assert_failure();
	/* Malformed: FAILURE and close. */
	assert_int_equal(run(&who_a, unknown, 0), 1);
	assert_failure();
	assert_int_equal(run(&who_a, ids_trailing, sizeof(ids_trailing)), 1);
	assert_failure();
	assert_int_equal(run(&who_a, sign_trunc, sizeof(sign_trunc)), 1);
	assert_failure();
	assert_int_equal(run(&who_a, sign_noflags, sizeof(sign_noflags)), 1);
	assert_failure();
	assert_int_equal(run(&who_a, sign_huge, sizeof(sign_huge)), 1);
	assert_failure();
	/* A valid request with one trailing byte. */
	start("m-ec", WID_KEY_EC_P256, &t);
	n = sign_msg(&t, (const uint8_t *)"d", 1, 0, msg, sizeof(msg) - 1);
	assert_int_equal(run(&who_a, msg, n), 0);
	assert_int_equal(out.data[4], SSH2_AGENT_SIGN_RESPONSE);
	msg[n] = 0;
	assert_int_equal(run(&who_a, msg, n + 1), 1);
	assert_failure();
	/* Every truncation of it is refused and closes. */
	for (; n > 0; n--) {
		assert_int_equal(run(&who_a, msg, n - 1), 1);
		assert_failure();
	}
}

static void
test_ed25519_data_limit(void **state)
{
	static uint8_t data[WID_SIGN_DATA_MAX + 1], msg[WID_SIGN_DATA_MAX + 512];
	struct wid_task t;
	size_t n;

	start("big-ed", WID_KEY_ED25519, &t);
	n = sign_msg(&t, data, WID_SIGN_DATA_MAX, 0, msg, sizeof(msg));
	assert_int_equal(run(&who_a, msg, n), 0);
	assert_int_equal(out.data[4], SSH2_AGENT_SIGN_RESPONSE);
	n = sign_msg(&t, data, sizeof(data), 0, msg, sizeof(msg));
	assert_int_equal(run(&who_a, msg, n), 0);
	assert_failure();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_len),
		cmocka_unit_test(test_default_path),
		cmocka_unit_test_setup_teardown(test_identities, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sign_ed25519, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sign_ecdsa, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sign_rsa, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ed25519_data_limit, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
