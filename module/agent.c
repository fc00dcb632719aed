/* module/agent.c: the module's connections to wid-agent (a small pool: one
 * per thread that is talking to the agent right now, idle ones kept for
 * reuse), the LIST and SIGN round trips made on them without the module
 * mutex, and the cached key listing C_FindObjects and C_GetAttributeValue
 * are served from. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "wid/client.h"
#include "wid/err.h"
#include "wid/proto.h"
#include "module.h"

/* Upper bound on LIST pages per refresh, against a looping agent. */
#define LIST_PAGES_MAX 4096
/* Idle connections kept; more are closed when given back. */
#define POOL_IDLE_MAX 8

void
wid_listing_free(struct wid_listing *l)
{
	free(l->keys);
	l->keys = NULL;
	l->n = l->cap = 0;
}

/* ---- connection pool ---- */

static void
pconn_free_inlock(struct wid_pconn *pc)
{
	struct wid_pconn **pp;

	if (pc == NULL)
		return;
	for (pp = &wid_g.all; *pp != NULL; pp = &(*pp)->anext) {
		if (*pp == pc) {
			*pp = pc->anext;
			break;
		}
	}
	wid_conn_close(&pc->c);
	free(pc);
}

/* An idle connection, or a new one.  NULL with *ret_err when the agent
 * cannot be reached. */
struct wid_pconn *
wid_pconn_get_inlock(int *ret_err)
{
	struct wid_pconn *pc;
	int r;

	*ret_err = 0;
	if ((pc = wid_g.idle) != NULL) {
		wid_g.idle = pc->next;
		wid_g.nidle--;
		pc->next = NULL;
		return pc;
	}
	if ((pc = malloc(sizeof(*pc))) == NULL) {
		*ret_err = WID_E_NOMEM;
		return NULL;
	}
	wid_conn_init(&pc->c);
	pc->gen = wid_g.gen;
	pc->next = NULL;
	if ((r = wid_conn_open(&pc->c, wid_g.sock_path)) != 0) {
		wid_dbg("no agent at %s: %s", wid_g.sock_path, wid_strerror(r));
		free(pc);
		*ret_err = r;
		return NULL;
	}
	pc->anext = wid_g.all;
	wid_g.all = pc;
	wid_dbg("connected to %s", wid_g.sock_path);
	return pc;
}

/* Gives a connection back; a failed one (closed by the call), one from
 * before the last C_Initialize/C_Finalize, or one too many is closed. */
void
wid_pconn_put_inlock(struct wid_pconn *pc)
{
	if (pc == NULL)
		return;
	if (pc->c.fd < 0 || pc->gen != wid_g.gen || !wid_g.initialized ||
	    wid_g.nidle >= POOL_IDLE_MAX) {
		if (pc->c.fd < 0)
			wid_dbg("agent connection dropped");
		pconn_free_inlock(pc);
		return;
	}
	pc->next = wid_g.idle;
	wid_g.idle = pc;
	wid_g.nidle++;
}

/* Closes every connection.  C_Finalize first waits until no session is
 * busy, so in this process none is in use; in a forked child the ones
 * that were in use belong to threads that do not exist there, and are
 * closed too (the child never speaks on the parent's connections). */
void
wid_pconn_free_all_inlock(void)
{
	struct wid_pconn *pc;

	while ((pc = wid_g.all) != NULL) {
		wid_g.all = pc->anext;
		wid_conn_close(&pc->c);
		free(pc);
	}
	wid_g.idle = NULL;
	wid_g.nidle = 0;
}

int
wid_agent_present_inlock(void)
{
	struct wid_pconn *pc;
	int r;

	if (wid_g.idle != NULL)
		return 1;
	if ((pc = wid_pconn_get_inlock(&r)) == NULL)
		return 0;
	wid_pconn_put_inlock(pc);
	return 1;
}

/* ---- listing ---- */

static int
listing_grow(struct wid_listing *l)
{
	struct wid_key *k;
	size_t cap;

	if (l->n < l->cap)
		return 0;
	cap = l->cap == 0 ? 8 : l->cap * 2;
	if (cap > SIZE_MAX / sizeof(*k))
		return WID_E_NOMEM;
	if ((k = realloc(l->keys, cap * sizeof(*k))) == NULL)
		return WID_E_NOMEM;
	l->keys = k;
	l->cap = cap;
	return 0;
}

static int
key_cmp(const void *a, const void *b)
{
	const struct wid_key *x = a, *y = b;

	return x->task.serial < y->task.serial ? -1 :
	    x->task.serial > y->task.serial;
}

static int
same_key(const struct wid_key *a, const struct wid_key *b)
{
	return a->task.serial == b->task.serial &&
	    a->task.spki_len == b->task.spki_len &&
	    memcmp(a->task.spki, b->task.spki, a->task.spki_len) == 0;
}

/* Sorts `nl` by serial and keeps the decomposed public keys of the keys
 * that were already listed (same serial, same key). */
static void
listing_finish(struct wid_listing *nl, const struct wid_listing *old)
{
	size_t i, j;

	for (i = 1; i < nl->n; i++) {
		if (nl->keys[i - 1].task.serial >= nl->keys[i].task.serial) {
			qsort(nl->keys, nl->n, sizeof(*nl->keys), key_cmp);
			break;
		}
	}
	for (i = 0, j = 0; i < nl->n && j < old->n;) {
		uint64_t a = nl->keys[i].task.serial, b = old->keys[j].task.serial;

		if (a < b)
			i++;
		else if (a > b)
			j++;
		else {
			if (same_key(&nl->keys[i], &old->keys[j]))
				nl->keys[i].pub = old->keys[j].pub;
			i++;
			j++;
		}
	}
}

/* Replaces the cached entry of task `id` by the (at most one) key of
 * `nl`: O(n) in the cached keys, no round trip, no sort. */
static int
listing_merge_one_inlock(struct wid_listing *nl, const char *id)
{
	struct wid_listing *l = &wid_g.list;
	size_t i, pos;
	int r;

	for (i = 0; i < l->n; i++) {
		if (strcmp(l->keys[i].task.id, id) != 0)
			continue;
		if (nl->n == 1 && same_key(&nl->keys[0], &l->keys[i]))
			nl->keys[0].pub = l->keys[i].pub;
		memmove(&l->keys[i], &l->keys[i + 1],
		    (l->n - i - 1) * sizeof(*l->keys));
		l->n--;
		break;
	}
	if (nl->n == 0)
		return 0;
	if ((r = listing_grow(l)) != 0)
		return r;
	for (pos = l->n; pos > 0 &&
	    l->keys[pos - 1].task.serial > nl->keys[0].task.serial; pos--)
		;
	if (pos > 0 && l->keys[pos - 1].task.serial == nl->keys[0].task.serial)
		l->keys[pos - 1] = nl->keys[0];  /* a second id, same serial */
	else {
		memmove(&l->keys[pos + 1], &l->keys[pos],
		    (l->n - pos) * sizeof(*l->keys));
		l->keys[pos] = nl->keys[0];
		l->n++;
	}
	return 0;
}

int
wid_listing_merge_inlock(struct wid_listing *nl, const char *task)
{
	struct wid_listing tmp;
	int r = 0;

	if (task != NULL && task[0] != '\0') {
		r = listing_merge_one_inlock(nl, task);
		wid_listing_free(nl);
	} else {
		listing_finish(nl, &wid_g.list);
		tmp = wid_g.list;
		wid_g.list = *nl;
		*nl = tmp;
		wid_listing_free(nl);
	}
	wid_dbg("listing: %zu keys", wid_g.list.n);
	return r;
}

static void
log_reason(const char *what, int status, struct wid_buf *b)
{
	char reason[WID_REASON_MAX + 1];

	if (!wid_g.debug)
		return;
	if (wid_reason_decode(b, reason, sizeof(reason)) != 0)
		reason[0] = '\0';
	wid_dbg("%s: %s (%s)", what, wid_strerror(status), reason);
}

/* Decodes one LIST reply page into nl; returns the next cursor. */
static int
decode_page(struct wid_buf *b, struct wid_listing *nl, uint64_t *ret_next)
{
	uint16_t count, i;
	uint64_t next;
	int r;

	*ret_next = 0;
	if (wid_get_u16(b, &count) != 0 || count > WID_LIST_MAX)
		return WID_E_PROTO;
	for (i = 0; i < count; i++) {
		struct wid_key *k;

		if ((r = listing_grow(nl)) != 0)
			return r;
		k = &nl->keys[nl->n];
		if (wid_task_decode(b, &k->task) != 0)
			return WID_E_PROTO;
		if (k->task.serial > (uint64_t)(~(CK_OBJECT_HANDLE)0 >> 2))
			continue; /* no handle can name it */
		if (k->task.state != WID_STATE_ACTIVE &&
		    k->task.state != WID_STATE_PENDING)
			continue;
		memset(&k->pub, 0, sizeof(k->pub));
		k->slot = wid_key_slot(k->task.key_type);
		nl->n++;
	}
	if (wid_get_u64(b, &next) != 0 || wid_get_end(b) != 0)
		return WID_E_PROTO;
	*ret_next = next;
	return 0;
}

int
wid_agent_list(struct wid_pconn *pc, const char *task,
    struct wid_listing *out)
{
	struct wid_conn *c = &pc->c;
	struct wid_list_req req;
	struct wid_buf *b;
	uint16_t status;
	uint64_t next;
	unsigned pages;
	int r;

	memset(out, 0, sizeof(*out));
	memset(&req, 0, sizeof(req));
	memcpy(req.task, task, strnlen(task, WID_TASK_ID_MAX));
	for (pages = 0;; pages++) {
		if (pages >= LIST_PAGES_MAX) {
			r = WID_E_PROTO;
			goto out;
		}
		b = wid_conn_req(c, WID_OP_LIST);
		wid_list_req_encode(b, &req);
		if ((r = wid_conn_call(c, &status)) != 0)
			goto out;
		if (status != WID_OK) {
			log_reason("list", status, &c->buf);
			r = status;
			goto out;
		}
		if ((r = decode_page(&c->buf, out, &next)) != 0)
			goto out;
		if (next == 0)
			break;
		if (next <= req.cursor) {
			r = WID_E_PROTO;
			goto out;
		}
		req.cursor = next;
	}
	r = 0;
out:
	if (r != 0) {
		wid_dbg("list failed: %s", wid_strerror(r));
		wid_listing_free(out);
		if (r == WID_E_PROTO)
			wid_conn_close(c);   /* out of step: do not reuse */
	}
	return r;
}

int
wid_agent_sign(const struct wid_sign_req *req, uint8_t *sig, size_t *sig_len)
{
	struct wid_pconn *pc;
	struct wid_buf *b;
	const uint8_t *p;
	uint16_t status, n;
	int r;

	pthread_mutex_lock(&wid_g.lock);
	pc = wid_pconn_get_inlock(&r);
	pthread_mutex_unlock(&wid_g.lock);
	if (pc == NULL)
		return r;
	b = wid_conn_req(&pc->c, WID_OP_SIGN);
	wid_sign_req_encode(b, req);
	if ((r = wid_conn_call(&pc->c, &status)) != 0)
		goto out;
	b = &pc->c.buf;
	if (status != WID_OK) {
		log_reason("sign", status, b);
		r = status;
		goto out;
	}
	if (wid_get_blob(b, &p, &n, WID_SIG_MAX) != 0 ||
	    wid_get_end(b) != 0 || n > *sig_len) {
		wid_conn_close(&pc->c);
		r = WID_E_PROTO;
		goto out;
	}
	memcpy(sig, p, n);
	*sig_len = n;
	r = 0;
out:
	wid_buf_wipe(&pc->c.buf);
	pthread_mutex_lock(&wid_g.lock);
	wid_pconn_put_inlock(pc);
	pthread_mutex_unlock(&wid_g.lock);
	return r;
}
