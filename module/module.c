/* module/module.c: the PKCS#11 entry points of wid-pkcs11.so.  Each entry
 * point checks its arguments, takes the one module mutex, checks that the
 * module is initialized in this process (fork), resolves the session (and
 * waits while another thread is busy in it) and calls the helper of its
 * area (token.c, session.c, object.c, sign.c).  Entry points that talk to
 * the agent mark the session busy and drop the mutex for the round trip
 * (see module.h).  The function list sits at the end; C_GetFunctionList,
 * C_GetInterfaceList and C_GetInterface are the only exported symbols. */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wid/client.h"
#include "wid/proto.h"
#include "module.h"

#define WID_EXPORT __attribute__((visibility("default")))

/* Zero-initialized; connections are allocated when first needed. */
struct wid_state wid_g = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

static CK_FUNCTION_LIST wid_functions;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* Forks this process went through (counted in the child).  A child
 * knows it is one by this, as p11-kit does, instead of a getpid() system
 * call in every function: the state C_Initialize made belongs to the
 * parent when the count has moved since. */
static unsigned forks;

/* In a forked child the mutex may be held (and the condition waited on)
 * by a thread that does not exist there; fresh ones let the child call
 * C_Initialize. */
static void
atfork_child(void)
{
	forks++;
	pthread_mutex_init(&wid_g.lock, NULL);
	pthread_cond_init(&wid_g.cond, NULL);
}

static void
atfork_register(void)
{
	pthread_atfork(NULL, NULL, atfork_child);
}

static int
ready_inlock(void)
{
	return wid_g.initialized && wid_g.forks == forks;
}

/* Frees everything; in a forked child the inherited sockets are closed
 * without a word on them (they are the parent's conversation).  Bumping
 * the generation makes connections still in use elsewhere close when
 * they are given back. */
static void
state_reset_inlock(void)
{
	wid_g.gen++;
	wid_pconn_free_all_inlock();
	wid_sessions_free_inlock();
	wid_listing_free(&wid_g.list);
	wid_certs_free_inlock();
	wid_md_free_inlock();
	wid_g.initialized = 0;
	wid_g.debug = 0;
	wid_g.task_filter[0] = '\0';
	wid_g.sock_path[0] = '\0';
}

#define LOCK() pthread_mutex_lock(&wid_g.lock)
#define UNLOCK() pthread_mutex_unlock(&wid_g.lock)

/* Resolves a session that no other thread is busy in, waiting for it. */
static CK_RV
session_wait_inlock(CK_SESSION_HANDLE h, struct wid_session **ret)
{
	struct wid_session *s;

	*ret = NULL;
	for (;;) {
		if (!ready_inlock())
			return CKR_CRYPTOKI_NOT_INITIALIZED;
		if ((s = wid_session_get_inlock(h)) == NULL)
			return CKR_SESSION_HANDLE_INVALID;
		if (!s->busy)
			break;
		pthread_cond_wait(&wid_g.cond, &wid_g.lock);
	}
	*ret = s;
	return CKR_OK;
}

/* Waits until no session of `slot` (0: of any slot) is busy. */
static CK_RV
sessions_idle_inlock(CK_SLOT_ID slot)
{
	size_t i;

	for (;;) {
		if (!ready_inlock())
			return CKR_CRYPTOKI_NOT_INITIALIZED;
		for (i = 0; i < wid_g.nsessions; i++)
			if (wid_g.sessions[i]->busy &&
			    (slot == 0 || wid_g.sessions[i]->slot == slot))
				break;
		if (i == wid_g.nsessions)
			return CKR_OK;
		pthread_cond_wait(&wid_g.cond, &wid_g.lock);
	}
}

/* Marks s busy and drops the mutex; busy_end retakes it. */
static void
busy_begin(struct wid_session *s)
{
	s->busy = 1;
	UNLOCK();
}

static void
busy_end(struct wid_session *s)
{
	LOCK();
	s->busy = 0;
	pthread_cond_broadcast(&wid_g.cond);
}

/* Entry-point prologue: lock, check initialization, resolve the session. */
#define ENTER_SESSION(h, s) do { \
	LOCK(); \
	if ((rv = session_wait_inlock((h), &(s))) != CKR_OK) goto out; \
} while (0)

#define ENTER() do { \
	LOCK(); \
	if (!ready_inlock()) { rv = CKR_CRYPTOKI_NOT_INITIALIZED; goto out; } \
} while (0)

static CK_RV
wid_C_Initialize(CK_VOID_PTR init_args)
{
	CK_C_INITIALIZE_ARGS_PTR a = init_args;
	const char *task;
	CK_RV rv;
	int r, nfn;

	if (a != NULL) {
		if (a->pReserved != NULL)
			return CKR_ARGUMENTS_BAD;
		nfn = (a->CreateMutex != NULL) + (a->DestroyMutex != NULL) +
		    (a->LockMutex != NULL) + (a->UnlockMutex != NULL);
		if (nfn != 0 && nfn != 4)
			return CKR_ARGUMENTS_BAD;
		if (nfn == 4 && !(a->flags & CKF_OS_LOCKING_OK))
			return CKR_CANT_LOCK;
	}
	pthread_once(&atfork_once, atfork_register);
	LOCK();
	if (ready_inlock()) {
		rv = CKR_CRYPTOKI_ALREADY_INITIALIZED;
		goto out;
	}
	state_reset_inlock(); /* a forked child's inherited state */
	wid_g.debug = getenv("WID_DEBUG") != NULL;
	task = getenv(WID_TASK_ENV);
	if (task != NULL && task[0] != '\0') {
		if (wid_task_id_valid(task) && strlen(task) <= WID_TASK_ID_MAX)
			memcpy(wid_g.task_filter, task, strlen(task) + 1);
		else
			wid_dbg("ignoring invalid %s", WID_TASK_ENV);
	}
	if (wid_sock_path(NULL, wid_g.sock_path) != 0) {
		wid_dbg("agent socket path too long");
		wid_g.sock_path[0] = '\0';
	}
	wid_g.forks = forks;
	wid_g.initialized = 1;
	/* Connect only: keys are listed when a search asks for them.  No
	 * agent is not an error: the token is absent until one answers. */
	r = wid_agent_present_inlock() ? 0 : WID_E_UNAVAILABLE;
	wid_dbg("initialized (pid %ld, agent %s, task filter \"%s\")",
	    (long)getpid(), r == 0 ? "up" : wid_strerror(r), wid_g.task_filter);
	rv = CKR_OK;
out:
	UNLOCK();
	return rv;
}

static CK_RV
wid_C_Finalize(CK_VOID_PTR reserved)
{
	CK_RV rv;

	if (reserved != NULL)
		return CKR_ARGUMENTS_BAD;
	ENTER();
	if ((rv = sessions_idle_inlock(0)) != CKR_OK)
		goto out;
	wid_dbg("finalize");
	state_reset_inlock();
	rv = CKR_OK;
out:
	UNLOCK();
	return rv;
}

static void
pad(CK_UTF8CHAR *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	memset(dst, ' ', size);
	memcpy(dst, src, n < size ? n : size);
}

static CK_RV
wid_C_GetInfo(CK_INFO_PTR info)
{
	CK_RV rv;

	if (info == NULL)
		return CKR_ARGUMENTS_BAD;
	ENTER();
	memset(info, 0, sizeof(*info));
	info->cryptokiVersion.major = CRYPTOKI_VERSION_MAJOR;
	info->cryptokiVersion.minor = CRYPTOKI_VERSION_MINOR;
	pad(info->manufacturerID, sizeof(info->manufacturerID), "wid");
	pad(info->libraryDescription, sizeof(info->libraryDescription),
	    "wid task keys (wid-agent client)");
	info->libraryVersion.major = 0;
	info->libraryVersion.minor = 1;
	rv = CKR_OK;
out:
	UNLOCK();
	return rv;
}

static CK_RV
wid_C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list)
{
	if (list == NULL)
		return CKR_ARGUMENTS_BAD;
	*list = &wid_functions;
	return CKR_OK;
}

static CK_RV
wid_C_GetSlotList(CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR count)
{
	CK_RV rv;

	if (count == NULL)
		return CKR_ARGUMENTS_BAD;
	ENTER();
	rv = wid_get_slot_list_inlock(present, list, count);
out:
	UNLOCK();
	return rv;
}

static CK_RV
wid_C_GetSlotInfo(CK_SLOT_ID slot, CK_SLOT_INFO_PTR info)
{
	CK_RV rv;

	if (info == NULL)
		return CKR_ARGUMENTS_BAD;
	ENTER();
	rv = wid_slot_info_inlock(slot, info);
out:
	UNLOCK();
	return rv;
}

static CK_RV
wid_C_GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info)
{
	CK_RV rv;

	if (info == NULL)
		return CKR_ARGUMENTS_BAD;
	ENTER();
	rv = wid_token_info_inlock(slot, info);
out:
	UNLOCK();
	return rv;
}

static CK_RV
wid_C_GetMechanismList(CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR list,
    CK_ULONG_PTR count)
{
	CK_RV rv;

	if (count == NULL)
		return CKR_ARGUMENTS_BAD;
	ENTER();
	rv = wid_mech_list(slot, list, count);
out:
	UNLOCK();
	return rv;
}

static CK_RV
wid_C_GetMechanismInfo(CK_SLOT_ID slot, CK_MECHANISM_TYPE type,
    CK_MECHANISM_INFO_PTR info)
{
	CK_RV rv;

	if (info == NULL)
		return CKR_ARGUMENTS_BAD;
	ENTER();
	rv = wid_mech_info(slot, type, info);
out:
	UNLOCK();
	return rv;
}

static CK_RV
wid_C_OpenSession(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app,
    CK_NOTIFY notify, CK_SESSION_HANDLE_PTR ret)
{
	CK_RV rv;

	if (ret == NULL)
		return CKR_ARGUMENTS_BAD;
	ENTER();
	rv = wid_session_open_inlock(slot, flags, ret);
out:
	UNLOCK();
	return rv;
}

static CK_RV
wid_C_CloseSession(CK_SESSION_HANDLE h)
{
	CK_RV rv;

	ENTER();
	rv = wid_session_close_inlock(h);
out:
	UNLOCK();
	return rv;
}

static CK_RV
wid_C_CloseAllSessions(CK_SLOT_ID slot)
{
	CK_RV rv;

	ENTER();
	if (slot != WID_SLOT_EC && slot != WID_SLOT_ED) {
		rv = CKR_SLOT_ID_INVALID;
		goto out;
	}
	if ((rv = sessions_idle_inlock(slot)) != CKR_OK)
		goto out;
	wid_session_close_all_inlock(slot);
	rv = CKR_OK;
out:
	UNLOCK();
	return rv;
}

static CK_RV
wid_C_GetSessionInfo(CK_SESSION_HANDLE h, CK_SESSION_INFO_PTR info)
{
	struct wid_session *s;
	CK_RV rv;

	if (info == NULL)
		return CKR_ARGUMENTS_BAD;
	ENTER_SESSION(h, s);
	rv = wid_session_info_inlock(s, info);
out:
	UNLOCK();
	return rv;
}

/* No PIN: authorization is the agent's business.  Login is accepted for
 * clients that insist, with the spec's state rules. */
static CK_RV
wid_C_Login(CK_SESSION_HANDLE h, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin,
    CK_ULONG pin_len)
{
	struct wid_session *s;
	CK_RV rv;

	ENTER_SESSION(h, s);
	if (user != CKU_USER && user != CKU_SO && user != CKU_CONTEXT_SPECIFIC)
		rv = CKR_USER_TYPE_INVALID;
	else if (user == CKU_CONTEXT_SPECIFIC)
		rv = CKR_OK;
	else if (wid_g.logged_in[s->slot])
		rv = CKR_USER_ALREADY_LOGGED_IN;
	else {
		wid_g.logged_in[s->slot] = 1;
		rv = CKR_OK;
	}
out:
	UNLOCK();
	return rv;
}

static CK_RV
wid_C_Logout(CK_SESSION_HANDLE h)
{
	struct wid_session *s;
	CK_RV rv;

	ENTER_SESSION(h, s);
	if (!wid_g.logged_in[s->slot])
		rv = CKR_USER_NOT_LOGGED_IN;
	else {
		wid_g.logged_in[s->slot] = 0;
		rv = CKR_OK;
	}
out:
	UNLOCK();
	return rv;
}

static CK_RV
wid_C_GetAttributeValue(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
    CK_ATTRIBUTE_PTR templ, CK_ULONG count)
{
	struct wid_session *s;
	struct wid_key *k;
	CK_ULONG kind;
	CK_RV rv;

	if (templ == NULL && count > 0)
		return CKR_ARGUMENTS_BAD;
	ENTER_SESSION(h, s);
	if ((k = wid_key_by_handle_inlock(obj, &kind)) == NULL ||
	    k->slot != s->slot) {
		rv = CKR_OBJECT_HANDLE_INVALID;
		goto out;
	}
	rv = wid_get_attrs_inlock(k, kind, templ, count);
out:
	UNLOCK();
	return rv;
}

static CK_RV
wid_C_GetObjectSize(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
    CK_ULONG_PTR size)
{
	struct wid_session *s;
	CK_ULONG kind;
	CK_RV rv;

	if (size == NULL)
		return CKR_ARGUMENTS_BAD;
	ENTER_SESSION(h, s);
	if (wid_key_by_handle_inlock(obj, &kind) == NULL) {
		rv = CKR_OBJECT_HANDLE_INVALID;
		goto out;
	}
	*size = CK_UNAVAILABLE_INFORMATION;
	rv = CKR_OK;
out:
	UNLOCK();
	return rv;
}

/* CKA_LABEL of a search template: 1 and the label when it can name a
 * task, -1 when it cannot (no task matches), 0 when there is none. */
static int
template_label(CK_ATTRIBUTE_PTR templ, CK_ULONG count,
    char label[WID_TASK_ID_MAX + 1])
{
	CK_ULONG i;

	label[0] = '\0';
	for (i = 0; i < count; i++) {
		if (templ[i].type != CKA_LABEL)
			continue;
		if (templ[i].pValue == NULL || templ[i].ulValueLen == 0 ||
		    templ[i].ulValueLen > WID_TASK_ID_MAX ||
		    memchr(templ[i].pValue, '\0', templ[i].ulValueLen) != NULL)
			return -1;
		memcpy(label, templ[i].pValue, templ[i].ulValueLen);
		label[templ[i].ulValueLen] = '\0';
		return wid_task_id_valid(label) ? 1 : -1;
	}
	return 0;
}

/* Without a label, a CKA_ID that names a key already listed (ssh finds
 * the private key by the public key's CKA_ID) stands for that key's task:
 * 1 and its id, else 0. */
static int
template_key_id_inlock(CK_ATTRIBUTE_PTR templ, CK_ULONG count,
    char label[WID_TASK_ID_MAX + 1])
{
	CK_ULONG i;
	size_t k;

	for (i = 0; i < count; i++) {
		if (templ[i].type != CKA_ID || templ[i].pValue == NULL ||
		    templ[i].ulValueLen != WID_KEY_ID_LEN)
			continue;
		for (k = 0; k < wid_g.list.n; k++) {
			if (memcmp(wid_g.list.keys[k].task.key_id,
			    templ[i].pValue, WID_KEY_ID_LEN) != 0)
				continue;
			memcpy(label, wid_g.list.keys[k].task.id,
			    WID_TASK_ID_MAX + 1);
			return 1;
		}
		return 0;
	}
	return 0;
}

/* One round trip keeps the listing fresh for this search: with a label
 * (a task id) only that task is asked for, O(1) in the agent's tasks;
 * without one the whole visible listing (narrowed to WID_TASK when set). */
static CK_RV
wid_C_FindObjectsInit(CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR templ,
    CK_ULONG count)
{
	char label[WID_TASK_ID_MAX + 1];
	struct wid_listing nl;
	struct wid_session *s;
	struct wid_pconn *pc;
	const char *task;
	CK_RV rv;
	int r, lab;

	if (templ == NULL && count > 0)
		return CKR_ARGUMENTS_BAD;
	ENTER_SESSION(h, s);
	if (s->find.active) {
		rv = CKR_OPERATION_ACTIVE;
		goto out;
	}
	lab = template_label(templ, count, label);
	if (lab == 0)
		lab = template_key_id_inlock(templ, count, label);
	if (lab < 0 || (lab > 0 && wid_g.task_filter[0] != '\0' &&
	    strcmp(label, wid_g.task_filter) != 0))
		goto find;   /* no task can match: nothing to ask */
	task = lab > 0 ? label : wid_g.task_filter;
	if ((pc = wid_pconn_get_inlock(&r)) == NULL) {
		rv = wid_rv(r);
		goto out;
	}
	busy_begin(s);
	r = wid_agent_list(pc, task, &nl);
	busy_end(s);
	wid_pconn_put_inlock(pc);
	if (r == 0)
		r = wid_listing_merge_inlock(&nl, lab > 0 ? label : "");
	if (r != 0) {
		rv = wid_rv(r);
		goto out;
	}
find:
	rv = wid_find_init_inlock(s, templ, count);
out:
	UNLOCK();
	return rv;
}

static CK_RV
wid_C_FindObjects(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE_PTR objs,
    CK_ULONG max, CK_ULONG_PTR count)
{
	struct wid_session *s;
	CK_ULONG n = 0;
	CK_RV rv;

	if (count == NULL || (objs == NULL && max > 0))
		return CKR_ARGUMENTS_BAD;
	ENTER_SESSION(h, s);
	if (!s->find.active) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
		goto out;
	}
	while (n < max && s->find.pos < s->find.n)
		objs[n++] = s->find.h[s->find.pos++];
	*count = n;
	rv = CKR_OK;
out:
	UNLOCK();
	return rv;
}

static CK_RV
wid_C_FindObjectsFinal(CK_SESSION_HANDLE h)
{
	struct wid_session *s;
	CK_RV rv;

	ENTER_SESSION(h, s);
	if (!s->find.active) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
		goto out;
	}
	s->find.active = 0;
	s->find.n = s->find.pos = 0;
	rv = CKR_OK;
out:
	UNLOCK();
	return rv;
}

static CK_RV
wid_C_SignInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech,
    CK_OBJECT_HANDLE key)
{
	struct wid_session *s;
	CK_RV rv;

	if (mech == NULL)
		return CKR_ARGUMENTS_BAD;
	ENTER_SESSION(h, s);
	rv = wid_sign_init_inlock(s, mech, key);
out:
	UNLOCK();
	return rv;
}

static CK_RV
wid_C_Sign(CK_SESSION_HANDLE h, CK_BYTE_PTR data, CK_ULONG len,
    CK_BYTE_PTR sig, CK_ULONG_PTR sig_len)
{
	struct wid_session *s;
	CK_RV rv;

	if (sig_len == NULL)
		return CKR_ARGUMENTS_BAD;
	ENTER_SESSION(h, s);
	busy_begin(s);
	rv = wid_sign_busy(s, data, len, sig, sig_len);
	busy_end(s);
out:
	UNLOCK();
	return rv;
}

static CK_RV
wid_C_SignUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR data, CK_ULONG len)
{
	struct wid_session *s;
	CK_RV rv;

	ENTER_SESSION(h, s);
	busy_begin(s);
	rv = wid_sign_update_busy(s, data, len);
	busy_end(s);
out:
	UNLOCK();
	return rv;
}

static CK_RV
wid_C_SignFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len)
{
	struct wid_session *s;
	CK_RV rv;

	if (sig_len == NULL)
		return CKR_ARGUMENTS_BAD;
	ENTER_SESSION(h, s);
	busy_begin(s);
	rv = wid_sign_final_busy(s, sig, sig_len);
	busy_end(s);
out:
	UNLOCK();
	return rv;
}

/* Read-only token: no object is created, changed, copied or destroyed. */
static CK_RV
read_only(CK_SESSION_HANDLE h)
{
	struct wid_session *s;
	CK_RV rv;

	ENTER_SESSION(h, s);
	(void)s;
	rv = CKR_TOKEN_WRITE_PROTECTED;
out:
	UNLOCK();
	return rv;
}

static CK_RV
wid_C_CreateObject(CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR t, CK_ULONG n,
    CK_OBJECT_HANDLE_PTR o)
{
	return read_only(h);
}

static CK_RV
wid_C_CopyObject(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
    CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR o)
{
	return read_only(h);
}

static CK_RV
wid_C_DestroyObject(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj)
{
	return read_only(h);
}

static CK_RV
wid_C_SetAttributeValue(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
    CK_ATTRIBUTE_PTR t, CK_ULONG n)
{
	return read_only(h);
}

static CK_RV
wid_C_GetFunctionStatus(CK_SESSION_HANDLE h)
{
	return CKR_FUNCTION_NOT_PARALLEL;
}

static CK_RV
wid_C_CancelFunction(CK_SESSION_HANDLE h)
{
	return CKR_FUNCTION_NOT_PARALLEL;
}

/* Everything else: not supported.  One stub per signature keeps the
 * function list exact without casts between function types. */
#define NS(name, args) static CK_RV wid_##name args { \
	return CKR_FUNCTION_NOT_SUPPORTED; }

NS(C_WaitForSlotEvent, (CK_FLAGS f, CK_SLOT_ID_PTR s, CK_VOID_PTR r))
NS(C_InitToken, (CK_SLOT_ID s, CK_UTF8CHAR_PTR p, CK_ULONG n,
    CK_UTF8CHAR_PTR l))
NS(C_InitPIN, (CK_SESSION_HANDLE h, CK_UTF8CHAR_PTR p, CK_ULONG n))
NS(C_SetPIN, (CK_SESSION_HANDLE h, CK_UTF8CHAR_PTR o, CK_ULONG on,
    CK_UTF8CHAR_PTR p, CK_ULONG n))
NS(C_GetOperationState, (CK_SESSION_HANDLE h, CK_BYTE_PTR p,
    CK_ULONG_PTR n))
NS(C_SetOperationState, (CK_SESSION_HANDLE h, CK_BYTE_PTR p, CK_ULONG n,
    CK_OBJECT_HANDLE e, CK_OBJECT_HANDLE a))
NS(C_EncryptInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,
    CK_OBJECT_HANDLE k))
NS(C_Encrypt, (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG n,
    CK_BYTE_PTR o, CK_ULONG_PTR on))
NS(C_EncryptUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG n,
    CK_BYTE_PTR o, CK_ULONG_PTR on))
NS(C_EncryptFinal, (CK_SESSION_HANDLE h, CK_BYTE_PTR o, CK_ULONG_PTR on))
NS(C_DecryptInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,
    CK_OBJECT_HANDLE k))
NS(C_Decrypt, (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG n,
    CK_BYTE_PTR o, CK_ULONG_PTR on))
NS(C_DecryptUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG n,
    CK_BYTE_PTR o, CK_ULONG_PTR on))
NS(C_DecryptFinal, (CK_SESSION_HANDLE h, CK_BYTE_PTR o, CK_ULONG_PTR on))
NS(C_DigestInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m))
NS(C_Digest, (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG n,
    CK_BYTE_PTR o, CK_ULONG_PTR on))
NS(C_DigestUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG n))
NS(C_DigestKey, (CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k))
NS(C_DigestFinal, (CK_SESSION_HANDLE h, CK_BYTE_PTR o, CK_ULONG_PTR on))
NS(C_SignRecoverInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,
    CK_OBJECT_HANDLE k))
NS(C_SignRecover, (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG n,
    CK_BYTE_PTR o, CK_ULONG_PTR on))
NS(C_VerifyInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,
    CK_OBJECT_HANDLE k))
NS(C_Verify, (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG n,
    CK_BYTE_PTR s, CK_ULONG sn))
NS(C_VerifyUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG n))
NS(C_VerifyFinal, (CK_SESSION_HANDLE h, CK_BYTE_PTR s, CK_ULONG sn))
NS(C_VerifyRecoverInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,
    CK_OBJECT_HANDLE k))
NS(C_VerifyRecover, (CK_SESSION_HANDLE h, CK_BYTE_PTR s, CK_ULONG sn,
    CK_BYTE_PTR o, CK_ULONG_PTR on))
NS(C_DigestEncryptUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG n,
    CK_BYTE_PTR o, CK_ULONG_PTR on))
NS(C_DecryptDigestUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG n,
    CK_BYTE_PTR o, CK_ULONG_PTR on))
NS(C_SignEncryptUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG n,
    CK_BYTE_PTR o, CK_ULONG_PTR on))
NS(C_DecryptVerifyUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG n,
    CK_BYTE_PTR o, CK_ULONG_PTR on))
NS(C_GenerateKey, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,
    CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR k))
NS(C_GenerateKeyPair, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,
    CK_ATTRIBUTE_PTR pt, CK_ULONG pn, CK_ATTRIBUTE_PTR vt, CK_ULONG vn,
    CK_OBJECT_HANDLE_PTR pk, CK_OBJECT_HANDLE_PTR vk))
NS(C_WrapKey, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE w,
    CK_OBJECT_HANDLE k, CK_BYTE_PTR o, CK_ULONG_PTR on))
NS(C_UnwrapKey, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,
    CK_OBJECT_HANDLE u, CK_BYTE_PTR w, CK_ULONG wn, CK_ATTRIBUTE_PTR t,
    CK_ULONG n, CK_OBJECT_HANDLE_PTR k))
NS(C_DeriveKey, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,
    CK_OBJECT_HANDLE b, CK_ATTRIBUTE_PTR t, CK_ULONG n,
    CK_OBJECT_HANDLE_PTR k))
NS(C_SeedRandom, (CK_SESSION_HANDLE h, CK_BYTE_PTR s, CK_ULONG n))
NS(C_GenerateRandom, (CK_SESSION_HANDLE h, CK_BYTE_PTR s, CK_ULONG n))

static CK_FUNCTION_LIST wid_functions = {
	{ CRYPTOKI_VERSION_MAJOR, CRYPTOKI_VERSION_MINOR },
	wid_C_Initialize,
	wid_C_Finalize,
	wid_C_GetInfo,
	wid_C_GetFunctionList,
	wid_C_GetSlotList,
	wid_C_GetSlotInfo,
	wid_C_GetTokenInfo,
	wid_C_GetMechanismList,
	wid_C_GetMechanismInfo,
	wid_C_InitToken,
	wid_C_InitPIN,
	wid_C_SetPIN,
	wid_C_OpenSession,
	wid_C_CloseSession,
	wid_C_CloseAllSessions,
	wid_C_GetSessionInfo,
	wid_C_GetOperationState,
	wid_C_SetOperationState,
	wid_C_Login,
	wid_C_Logout,
	wid_C_CreateObject,
	wid_C_CopyObject,
	wid_C_DestroyObject,
	wid_C_GetObjectSize,
	wid_C_GetAttributeValue,
	wid_C_SetAttributeValue,
	wid_C_FindObjectsInit,
	wid_C_FindObjects,
	wid_C_FindObjectsFinal,
	wid_C_EncryptInit,
	wid_C_Encrypt,
	wid_C_EncryptUpdate,
	wid_C_EncryptFinal,
	wid_C_DecryptInit,
	wid_C_Decrypt,
	wid_C_DecryptUpdate,
	wid_C_DecryptFinal,
	wid_C_DigestInit,
	wid_C_Digest,
	wid_C_DigestUpdate,
	wid_C_DigestKey,
	wid_C_DigestFinal,
	wid_C_SignInit,
	wid_C_Sign,
	wid_C_SignUpdate,
	wid_C_SignFinal,
	wid_C_SignRecoverInit,
	wid_C_SignRecover,
	wid_C_VerifyInit,
	wid_C_Verify,
	wid_C_VerifyUpdate,
	wid_C_VerifyFinal,
	wid_C_VerifyRecoverInit,
	wid_C_VerifyRecover,
	wid_C_DigestEncryptUpdate,
	wid_C_DecryptDigestUpdate,
	wid_C_SignEncryptUpdate,
	wid_C_DecryptVerifyUpdate,
	wid_C_GenerateKey,
	wid_C_GenerateKeyPair,
	wid_C_WrapKey,
	wid_C_UnwrapKey,
	wid_C_DeriveKey,
	wid_C_SeedRandom,
	wid_C_GenerateRandom,
	wid_C_GetFunctionStatus,
	wid_C_CancelFunction,
	wid_C_WaitForSlotEvent,
};

/* PKCS#11 3.0 interfaces; p11-kit 0.24's header predates them. */
#ifndef CKF_INTERFACE_FORK_SAFE
typedef struct CK_INTERFACE {
	CK_CHAR *pInterfaceName;
	CK_VOID_PTR pFunctionList;
	CK_FLAGS flags;
} CK_INTERFACE;
typedef CK_INTERFACE *CK_INTERFACE_PTR;
typedef CK_INTERFACE_PTR *CK_INTERFACE_PTR_PTR;
#endif

static CK_CHAR interface_name[] = "PKCS 11";
static CK_INTERFACE interfaces[] = {
	{ interface_name, &wid_functions, 0 },
};

CK_RV C_GetInterfaceList(CK_INTERFACE_PTR list, CK_ULONG_PTR count)
    WID_EXPORT;
CK_RV C_GetInterface(CK_UTF8CHAR_PTR name, CK_VERSION_PTR version,
    CK_INTERFACE_PTR_PTR iface, CK_FLAGS flags) WID_EXPORT;

WID_EXPORT CK_RV
C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list)
{
	return wid_C_GetFunctionList(list);
}

WID_EXPORT CK_RV
C_GetInterfaceList(CK_INTERFACE_PTR list, CK_ULONG_PTR count)
{
	if (count == NULL)
		return CKR_ARGUMENTS_BAD;
	if (list == NULL) {
		*count = 1;
		return CKR_OK;
	}
	if (*count < 1) {
		*count = 1;
		return CKR_BUFFER_TOO_SMALL;
	}
	list[0] = interfaces[0];
	*count = 1;
	return CKR_OK;
}

WID_EXPORT CK_RV
C_GetInterface(CK_UTF8CHAR_PTR name, CK_VERSION_PTR version,
    CK_INTERFACE_PTR_PTR iface, CK_FLAGS flags)
{
	if (iface == NULL)
		return CKR_ARGUMENTS_BAD;
	if (name != NULL && strcmp((const char *)name, "PKCS 11") != 0)
		return CKR_ARGUMENTS_BAD;
	if (version != NULL && (version->major != CRYPTOKI_VERSION_MAJOR ||
	    version->minor != CRYPTOKI_VERSION_MINOR))
		return CKR_ARGUMENTS_BAD;
	if ((flags & interfaces[0].flags) != flags)
		return CKR_ARGUMENTS_BAD;
	*iface = &interfaces[0];
	return CKR_OK;
}
