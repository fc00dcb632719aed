/* module/agent.c: the module's one connection to wid-agent and the cached
 * key listing it serves C_FindObjects and C_GetAttributeValue from. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "wid/client.h"
#include "wid/err.h"
#include "wid/proto.h"
#include "module.h"

/* Upper bound on LIST pages per refresh, against a looping agent. */
#define LIST_PAGES_MAX 4096

void
wid_listing_free(struct wid_listing *l)
{
	free(l->keys);
	l->keys = NULL;
	l->n = l->cap = 0;
}

void
wid_agent_drop_inlock(void)
{
	if (wid_g.conn.fd >= 0)
		wid_dbg("agent connection dropped");
	wid_conn_close(&wid_g.conn);
}

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
			if (nl->keys[i].task.spki_len == old->keys[j].task.spki_len &&
			    memcmp(nl->keys[i].task.spki, old->keys[j].task.spki,
			    old->keys[j].task.spki_len) == 0)
				nl->keys[i].pub = old->keys[j].pub;
			i++;
			j++;
		}
	}
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
decode_page(struct wid_listing *nl, uint64_t *ret_next)
{
	struct wid_buf *b = &wid_g.conn.buf;
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
wid_agent_refresh_inlock(void)
{
	struct wid_listing *nl = &wid_g.spare, tmp;
	struct wid_list_req req;
	struct wid_buf *b;
	uint16_t status;
	uint64_t next;
	unsigned pages;
	int r;

	if (wid_g.conn.fd < 0)
		return WID_E_UNAVAILABLE;
	nl->n = 0;
	memset(&req, 0, sizeof(req));
	memcpy(req.task, wid_g.task_filter, sizeof(req.task));
	for (pages = 0;; pages++) {
		if (pages >= LIST_PAGES_MAX) {
			r = WID_E_PROTO;
			goto out;
		}
		b = wid_conn_req(&wid_g.conn, WID_OP_LIST);
		wid_list_req_encode(b, &req);
		if ((r = wid_conn_call(&wid_g.conn, &status)) != 0)
			goto out;
		if (status != WID_OK) {
			log_reason("list", status, &wid_g.conn.buf);
			r = status;
			goto out;
		}
		if ((r = decode_page(nl, &next)) != 0)
			goto out;
		if (next == 0)
			break;
		if (next <= req.cursor) {
			r = WID_E_PROTO;
			goto out;
		}
		req.cursor = next;
	}
	listing_finish(nl, &wid_g.list);
	tmp = wid_g.list;
	wid_g.list = *nl;
	*nl = tmp;
	wid_dbg("listing: %zu keys", wid_g.list.n);
	r = 0;
out:
	if (r != 0) {
		wid_dbg("list failed: %s", wid_strerror(r));
		if (r == WID_E_IO || r == WID_E_UNAVAILABLE)
			wid_agent_drop_inlock();
	}
	return r;
}

int
wid_agent_connect_inlock(void)
{
	int r;

	if (wid_g.conn.fd >= 0)
		return 0;
	if ((r = wid_conn_open(&wid_g.conn, wid_g.sock_path)) != 0) {
		wid_dbg("no agent at %s: %s", wid_g.sock_path, wid_strerror(r));
		return r;
	}
	wid_dbg("connected to %s", wid_g.sock_path);
	return wid_agent_refresh_inlock();
}

int
wid_agent_present_inlock(void)
{
	return wid_agent_connect_inlock() == 0 || wid_g.conn.fd >= 0;
}

int
wid_agent_sign_inlock(const struct wid_sign_req *req, uint8_t *sig,
    size_t *sig_len)
{
	struct wid_buf *b;
	const uint8_t *p;
	uint16_t status, n;
	int r;

	if (wid_g.conn.fd < 0 &&
	    (r = wid_conn_open(&wid_g.conn, wid_g.sock_path)) != 0)
		goto out;
	b = wid_conn_req(&wid_g.conn, WID_OP_SIGN);
	wid_sign_req_encode(b, req);
	if ((r = wid_conn_call(&wid_g.conn, &status)) != 0)
		goto out;
	b = &wid_g.conn.buf;
	if (status != WID_OK) {
		log_reason("sign", status, b);
		r = status;
		goto out;
	}
	if (wid_get_blob(b, &p, &n, WID_SIG_MAX) != 0 ||
	    wid_get_end(b) != 0 || n > *sig_len) {
		r = WID_E_PROTO;
		goto out;
	}
	memcpy(sig, p, n);
	*sig_len = n;
	r = 0;
out:
	if (r != 0 && (r == WID_E_IO || r == WID_E_UNAVAILABLE))
		wid_agent_drop_inlock();
	return r;
}
