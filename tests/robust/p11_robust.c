/* tests/robust/p11_robust.c: the PKCS#11 robustness suite.  dlopens the
 * built wid-pkcs11.so against a real wid-agent (started here, stopped by
 * PID) and drives every entry point with NULL pointers, invalid and stale
 * handles, wrong states, short buffers, threads and fork, checking the
 * spec's CKR_* each time.  Nothing may crash. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <p11-kit/pkcs11.h>

#include "wid/client.h"
#include "wid/err.h"
#include "wid/proto.h"

static CK_FUNCTION_LIST_PTR f;
static void *dl;
static pid_t agent_pid = -1;
static char tmpdir[] = "/tmp/wid-robust-XXXXXX";
static char sock[WID_PATH_MAX];
static const char task_id[] = "robust-1";

static int
agent_call_start(const char *id, int key_type)
{
	struct wid_conn c;
	struct wid_start_req r;
	struct wid_buf *b;
	uint16_t st;
	int rc;

	wid_conn_init(&c);
	if (wid_conn_open(&c, sock) != 0)
		return -1;
	memset(&r, 0, sizeof(r));
	snprintf(r.id, sizeof(r.id), "%s", id);
	r.key_type = (uint8_t)key_type;
	r.ttl = 600;
	r.executor_uid = WID_UID_NONE;
	b = wid_conn_req(&c, WID_OP_TASK_START);
	wid_start_req_encode(b, &r);
	rc = wid_conn_call(&c, &st);
	wid_conn_close(&c);
	return (rc == 0 && st == WID_OK) ? 0 : -1;
}

static int
agent_call_end(const char *id)
{
	struct wid_conn c;
	struct wid_buf *b;
	uint16_t st;
	int rc;

	wid_conn_init(&c);
	if (wid_conn_open(&c, sock) != 0)
		return -1;
	b = wid_conn_req(&c, WID_OP_TASK_END);
	wid_id_encode(b, id);
	rc = wid_conn_call(&c, &st);
	wid_conn_close(&c);
	return (rc == 0 && st == WID_OK) ? 0 : -1;
}

static int
start_agent(void)
{
	const char *bdir = getenv("WID_BUILDDIR");
	char agent[4096], fdarg[16];
	int p[2];
	char one;

	if (bdir == NULL || mkdtemp(tmpdir) == NULL || pipe(p) != 0)
		return -1;
	snprintf(agent, sizeof(agent), "%s/wid-agent", bdir);
	snprintf(sock, sizeof(sock), "%s/agent.sock", tmpdir);
	snprintf(fdarg, sizeof(fdarg), "%d", p[1]);
	if ((agent_pid = fork()) < 0)
		return -1;
	if (agent_pid == 0) {
		close(p[0]);
		execl(agent, agent, "--foreground", "--socket", sock,
		    "--ready-fd", fdarg, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	if (read(p[0], &one, 1) != 1) {
		close(p[0]);
		return -1;
	}
	close(p[0]);
	setenv(WID_SOCK_ENV, sock, 1);
	unsetenv(WID_TASK_ENV);
	return agent_call_start(task_id, WID_KEY_EC_P256);
}

static void
stop_agent(void)
{
	int st;

	if (agent_pid > 0) {
		kill(agent_pid, SIGTERM);
		waitpid(agent_pid, &st, 0);
		agent_pid = -1;
	}
	rmdir(tmpdir);
}

static int
group_setup(void **state)
{
	const char *mod = getenv("WID_MODULE");
	CK_RV (*get)(CK_FUNCTION_LIST_PTR_PTR);

	if (mod == NULL || start_agent() != 0)
		return -1;
	if ((dl = dlopen(mod, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		fprintf(stderr, "dlopen %s: %s\n", mod, dlerror());
		return -1;
	}
	get = (CK_RV (*)(CK_FUNCTION_LIST_PTR_PTR))dlsym(dl,
	    "C_GetFunctionList");
	if (get == NULL || get(&f) != CKR_OK)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	if (dl != NULL)
		dlclose(dl);
	stop_agent();
	return 0;
}

static int
init(void **state)
{
	return f->C_Initialize(NULL) == CKR_OK ? 0 : -1;
}

static int
fini(void **state)
{
	f->C_Finalize(NULL);
	return 0;
}

/* Opens a session on the `wid` slot and finds the task's private key. */
static void
open_and_find(CK_SESSION_HANDLE *ret_s, CK_OBJECT_HANDLE *ret_key)
{
	CK_SLOT_ID slots[4];
	CK_ULONG n = 4, found = 0;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_LABEL, (void *)task_id, sizeof(task_id) - 1 },
	};

	assert_int_equal(f->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
	assert_true(n >= 1);
	assert_int_equal(f->C_OpenSession(slots[0], CKF_SERIAL_SESSION, NULL,
	    NULL, ret_s), CKR_OK);
	assert_int_equal(f->C_FindObjectsInit(*ret_s, tmpl, 2), CKR_OK);
	assert_int_equal(f->C_FindObjects(*ret_s, ret_key, 1, &found), CKR_OK);
	assert_int_equal(f->C_FindObjectsFinal(*ret_s), CKR_OK);
	assert_int_equal(found, 1);
}

static void
test_before_initialize(void **state)
{
	CK_INFO info;
	CK_ULONG n = 0;
	CK_SESSION_HANDLE s;

	assert_int_equal(f->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED);
	assert_int_equal(f->C_GetSlotList(CK_FALSE, NULL, &n),
	    CKR_CRYPTOKI_NOT_INITIALIZED);
	assert_int_equal(f->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL,
	    &s), CKR_CRYPTOKI_NOT_INITIALIZED);
	assert_int_equal(f->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
}

static void
test_initialize_args(void **state)
{
	CK_C_INITIALIZE_ARGS a;

	memset(&a, 0, sizeof(a));
	a.pReserved = &a;
	assert_int_equal(f->C_Initialize(&a), CKR_ARGUMENTS_BAD);
	assert_int_equal(f->C_Initialize(NULL), CKR_OK);
	assert_int_equal(f->C_Initialize(NULL),
	    CKR_CRYPTOKI_ALREADY_INITIALIZED);
	assert_int_equal(f->C_Finalize(&a), CKR_ARGUMENTS_BAD);
	assert_int_equal(f->C_Finalize(NULL), CKR_OK);
	memset(&a, 0, sizeof(a));
	a.flags = CKF_OS_LOCKING_OK;
	assert_int_equal(f->C_Initialize(&a), CKR_OK);
	assert_int_equal(f->C_Finalize(NULL), CKR_OK);
	/* After finalize, everything is uninitialized again. */
	assert_int_equal(f->C_GetInfo(&(CK_INFO){ 0 }),
	    CKR_CRYPTOKI_NOT_INITIALIZED);
}

static void
test_null_pointers(void **state)
{
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE key;
	CK_ULONG n;

	assert_int_equal(f->C_GetInfo(NULL), CKR_ARGUMENTS_BAD);
	assert_int_equal(f->C_GetSlotList(CK_FALSE, NULL, NULL),
	    CKR_ARGUMENTS_BAD);
	assert_int_equal(f->C_GetSlotInfo(1, NULL), CKR_ARGUMENTS_BAD);
	assert_int_equal(f->C_GetTokenInfo(1, NULL), CKR_ARGUMENTS_BAD);
	assert_int_equal(f->C_GetMechanismList(1, NULL, NULL),
	    CKR_ARGUMENTS_BAD);
	assert_int_equal(f->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL,
	    NULL), CKR_ARGUMENTS_BAD);
	open_and_find(&s, &key);
	assert_int_equal(f->C_GetSessionInfo(s, NULL), CKR_ARGUMENTS_BAD);
	assert_int_equal(f->C_GetAttributeValue(s, key, NULL, 1),
	    CKR_ARGUMENTS_BAD);
	assert_int_equal(f->C_FindObjectsInit(s, NULL, 1), CKR_ARGUMENTS_BAD);
	assert_int_equal(f->C_FindObjectsInit(s, NULL, 0), CKR_OK);
	assert_int_equal(f->C_FindObjects(s, NULL, 1, &n), CKR_ARGUMENTS_BAD);
	assert_int_equal(f->C_FindObjects(s, &key, 1, NULL),
	    CKR_ARGUMENTS_BAD);
	assert_int_equal(f->C_FindObjectsFinal(s), CKR_OK);
	assert_int_equal(f->C_SignInit(s, NULL, key), CKR_ARGUMENTS_BAD);
	assert_int_equal(f->C_CloseSession(s), CKR_OK);
}

static void
test_invalid_handles(void **state)
{
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE key;
	CK_SESSION_INFO si;
	CK_TOKEN_INFO ti;
	CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
	CK_OBJECT_CLASS cls;
	CK_ATTRIBUTE a = { CKA_CLASS, &cls, sizeof(cls) };

	assert_int_equal(f->C_GetTokenInfo(99, &ti), CKR_SLOT_ID_INVALID);
	assert_int_equal(f->C_GetSessionInfo(12345, &si),
	    CKR_SESSION_HANDLE_INVALID);
	assert_int_equal(f->C_CloseSession(12345),
	    CKR_SESSION_HANDLE_INVALID);
	open_and_find(&s, &key);
	assert_int_equal(f->C_GetAttributeValue(s, key + 1000, &a, 1),
	    CKR_OBJECT_HANDLE_INVALID);
	assert_int_equal(f->C_SignInit(s, &m, key + 1000),
	    CKR_KEY_HANDLE_INVALID);
	assert_int_equal(f->C_CloseSession(s), CKR_OK);
	/* Stale session handle: never reused. */
	assert_int_equal(f->C_GetSessionInfo(s, &si),
	    CKR_SESSION_HANDLE_INVALID);
	assert_int_equal(f->C_OpenSession(1, 0, NULL, NULL, &s),
	    CKR_SESSION_PARALLEL_NOT_SUPPORTED);
}

static void
test_sign_states_and_sizes(void **state)
{
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE key;
	CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
	CK_MECHANISM bad = { CKM_RSA_PKCS, NULL, 0 };
	CK_BYTE digest[32], sig[128];
	CK_ULONG len;

	memset(digest, 0x42, sizeof(digest));
	open_and_find(&s, &key);
	len = sizeof(sig);
	assert_int_equal(f->C_Sign(s, digest, sizeof(digest), sig, &len),
	    CKR_OPERATION_NOT_INITIALIZED);
	assert_int_equal(f->C_SignInit(s, &bad, key),
	    CKR_KEY_TYPE_INCONSISTENT);
	assert_int_equal(f->C_SignInit(s, &m, key), CKR_OK);
	assert_int_equal(f->C_SignInit(s, &m, key), CKR_OPERATION_ACTIVE);
	/* Size query keeps the operation. */
	len = 0;
	assert_int_equal(f->C_Sign(s, digest, sizeof(digest), NULL, &len),
	    CKR_OK);
	assert_int_equal(len, 64);
	len = 10;
	assert_int_equal(f->C_Sign(s, digest, sizeof(digest), sig, &len),
	    CKR_BUFFER_TOO_SMALL);
	assert_int_equal(len, 64);
	len = sizeof(sig);
	assert_int_equal(f->C_Sign(s, digest, sizeof(digest), sig, &len),
	    CKR_OK);
	assert_int_equal(len, 64);
	/* The operation ended. */
	assert_int_equal(f->C_Sign(s, digest, sizeof(digest), sig, &len),
	    CKR_OPERATION_NOT_INITIALIZED);
	/* Single-part mechanism: no SignUpdate. */
	assert_int_equal(f->C_SignInit(s, &m, key), CKR_OK);
	assert_int_not_equal(f->C_SignUpdate(s, digest, sizeof(digest)),
	    CKR_OK);
	assert_int_equal(f->C_CloseSession(s), CKR_OK);
}

static void
test_multipart_sha256(void **state)
{
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE key;
	CK_MECHANISM m = { CKM_ECDSA_SHA256, NULL, 0 };
	CK_BYTE msg[1000], sig[128];
	CK_ULONG len = sizeof(sig);

	memset(msg, 'x', sizeof(msg));
	open_and_find(&s, &key);
	assert_int_equal(f->C_SignInit(s, &m, key), CKR_OK);
	assert_int_equal(f->C_SignUpdate(s, msg, 600), CKR_OK);
	assert_int_equal(f->C_SignUpdate(s, msg + 600, 400), CKR_OK);
	assert_int_equal(f->C_SignFinal(s, sig, &len), CKR_OK);
	assert_int_equal(len, 64);
	assert_int_equal(f->C_CloseSession(s), CKR_OK);
}

static void
test_sensitive_and_invalid_attributes(void **state)
{
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE key;
	CK_BYTE buf[256];
	CK_KEY_TYPE kt;
	CK_ATTRIBUTE a[3] = {
		{ CKA_VALUE, buf, sizeof(buf) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ 0x7fff0001UL, buf, sizeof(buf) },
	};

	open_and_find(&s, &key);
	assert_int_equal(f->C_GetAttributeValue(s, key, a, 1),
	    CKR_ATTRIBUTE_SENSITIVE);
	assert_true(a[0].ulValueLen == CK_UNAVAILABLE_INFORMATION);
	a[0].ulValueLen = sizeof(buf);
	assert_int_equal(f->C_GetAttributeValue(s, key, &a[1], 2),
	    CKR_ATTRIBUTE_TYPE_INVALID);
	assert_int_equal(kt, CKK_EC);   /* still filled */
	assert_true(a[2].ulValueLen == CK_UNAVAILABLE_INFORMATION);
	assert_int_equal(f->C_CloseSession(s), CKR_OK);
}

static void
test_readonly_token(void **state)
{
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE key, obj;
	CK_OBJECT_CLASS cls = CKO_DATA;
	CK_ATTRIBUTE a = { CKA_CLASS, &cls, sizeof(cls) };

	open_and_find(&s, &key);
	assert_int_not_equal(f->C_CreateObject(s, &a, 1, &obj), CKR_OK);
	assert_int_not_equal(f->C_DestroyObject(s, key), CKR_OK);
	assert_int_equal(f->C_CloseSession(s), CKR_OK);
}

static void
test_key_gone_after_end(void **state)
{
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE key;
	CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
	CK_BYTE digest[32] = { 1 }, sig[128];
	CK_ULONG len = sizeof(sig);

	assert_int_equal(agent_call_start("robust-end", WID_KEY_EC_P256), 0);
	{
		CK_SLOT_ID slots[4];
		CK_ULONG n = 4, found = 0;
		CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
		CK_ATTRIBUTE t[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ CKA_LABEL, "robust-end", 10 },
		};

		assert_int_equal(f->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
		assert_int_equal(f->C_OpenSession(slots[0],
		    CKF_SERIAL_SESSION, NULL, NULL, &s), CKR_OK);
		assert_int_equal(f->C_FindObjectsInit(s, t, 2), CKR_OK);
		assert_int_equal(f->C_FindObjects(s, &key, 1, &found), CKR_OK);
		assert_int_equal(f->C_FindObjectsFinal(s), CKR_OK);
		assert_int_equal(found, 1);
	}
	assert_int_equal(f->C_SignInit(s, &m, key), CKR_OK);
	assert_int_equal(agent_call_end("robust-end"), 0);
	assert_int_equal(f->C_Sign(s, digest, sizeof(digest), sig, &len),
	    CKR_KEY_HANDLE_INVALID);
	assert_int_equal(f->C_CloseSession(s), CKR_OK);
}

struct worker {
	int ok;
	int failed;
};

static void *
sign_worker(void *arg)
{
	struct worker *w = arg;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE key;
	CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
	CK_BYTE digest[32] = { 7 }, sig[128];
	CK_SLOT_ID slot = 1;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_LABEL, (void *)task_id, sizeof(task_id) - 1 },
	};
	CK_ULONG found = 0, len;
	int i;

	if (f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s) !=
	    CKR_OK || f->C_FindObjectsInit(s, t, 2) != CKR_OK ||
	    f->C_FindObjects(s, &key, 1, &found) != CKR_OK ||
	    f->C_FindObjectsFinal(s) != CKR_OK || found != 1) {
		w->failed++;
		return NULL;
	}
	for (i = 0; i < 200; i++) {
		len = sizeof(sig);
		if (f->C_SignInit(s, &m, key) == CKR_OK &&
		    f->C_Sign(s, digest, 32, sig, &len) == CKR_OK && len == 64)
			w->ok++;
		else
			w->failed++;
	}
	f->C_CloseSession(s);
	return NULL;
}

static void
test_two_threads(void **state)
{
	pthread_t t[2];
	struct worker w[2];
	int i;

	memset(w, 0, sizeof(w));
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, sign_worker,
		    &w[i]), 0);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < 2; i++) {
		assert_int_equal(w[i].failed, 0);
		assert_int_equal(w[i].ok, 200);
	}
}

static void
test_fork_child(void **state)
{
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE key;
	pid_t pid;
	int st;

	open_and_find(&s, &key);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		CK_INFO info;
		CK_SESSION_INFO si;
		CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
		CK_BYTE d[32] = { 3 }, sig[128];
		CK_ULONG len = sizeof(sig);
		CK_SESSION_HANDLE s2;
		CK_OBJECT_HANDLE k2;
		int code = 0;

		/* Inherited state is dead in the child. */
		if (f->C_GetInfo(&info) != CKR_CRYPTOKI_NOT_INITIALIZED)
			code |= 1;
		if (f->C_GetSessionInfo(s, &si) != CKR_CRYPTOKI_NOT_INITIALIZED)
			code |= 2;
		if (f->C_Initialize(NULL) != CKR_OK)
			code |= 4;
		if (code == 0) {
			open_and_find(&s2, &k2);
			if (f->C_SignInit(s2, &m, k2) != CKR_OK ||
			    f->C_Sign(s2, d, 32, sig, &len) != CKR_OK)
				code |= 8;
			f->C_Finalize(NULL);
		}
		_exit(code);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	/* The parent's session still works. */
	{
		CK_SESSION_INFO si;

		assert_int_equal(f->C_GetSessionInfo(s, &si), CKR_OK);
	}
	assert_int_equal(f->C_CloseSession(s), CKR_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_before_initialize),
		cmocka_unit_test(test_initialize_args),
		cmocka_unit_test_setup_teardown(test_null_pointers, init, fini),
		cmocka_unit_test_setup_teardown(test_invalid_handles, init,
		    fini),
		cmocka_unit_test_setup_teardown(test_sign_states_and_sizes,
		    init, fini),
		cmocka_unit_test_setup_teardown(test_multipart_sha256, init,
		    fini),
		cmocka_unit_test_setup_teardown(
		    test_sensitive_and_invalid_attributes, init, fini),
		cmocka_unit_test_setup_teardown(test_readonly_token, init,
		    fini),
		cmocka_unit_test_setup_teardown(test_key_gone_after_end, init,
		    fini),
		cmocka_unit_test_setup_teardown(test_two_threads, init, fini),
		cmocka_unit_test_setup_teardown(test_fork_child, init, fini),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("p11-robust", tests, group_setup,
	    group_teardown);
}
