/* tools/agent/tasks.c: the task table (see tasks.h): hash indexes by id
 * and serial, a deadline min-heap behind one timerfd, process binding,
 * references so that signing runs outside the lock. */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "wid/err.h"
#include "log.h"
#include "tasks.h"

#define NSEC 1000000000ull
#define NBUCKETS_MIN 64

struct wid_atask {
	struct wid_task pub;          /* sign_count lives in `signs` */
	void *key;
	uint64_t deadline;            /* CLOCK_BOOTTIME ns */
	int pidfd;                    /* binding, -1 */
	atomic_uint refs;             /* the table holds one while linked */
	atomic_uint_fast64_t signs;
	size_t heap_idx;
	struct wid_atask *id_next, *serial_next;
	struct wid_atask *prev, *next;
	uint32_t requester_gid, requester_pid;
	char *exe, *cgroup;           /* the starter's, for the log */
	char *ssh_cert;               /* OpenSSH certificate line, or NULL */
	uint8_t *x509;                /* X.509 certificate DER, or NULL */
	size_t x509_len;
	uint8_t cert_wait;            /* pending: WID_START_SSH_CERT|X509 asked */
	char *cert_principals;        /* ... and the principals, or NULL */
};

void
wid_fmt_time(int64_t unix_secs, char out[32])
{
	struct tm tm;
	time_t tt = (time_t)unix_secs;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "@%lld", (long long)unix_secs);
}

int
wid_task_visible(const struct wid_task *task, uint32_t uid)
{
	uint32_t exec = task->executor_uid == WID_UID_NONE ?
	    task->requester_uid : task->executor_uid;

	return uid == exec;
}

/* Seeded FNV-1a with a final mix; ids are short and their number is
 * bounded by max_tasks. */
static size_t
id_hash(const struct wid_tasks *t, const char *id)
{
	uint64_t h = 0xcbf29ce484222325ull ^ t->seed;

	for (; *id != '\0'; id++)
		h = (h ^ (uint8_t)*id) * 0x100000001b3ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return (size_t)h & (t->nbuckets - 1);
}

static size_t
serial_hash(const struct wid_tasks *t, uint64_t serial)
{
	return (size_t)serial & (t->nbuckets - 1);  /* serials are sequential */
}

static struct wid_atask *
find_id_inlock(const struct wid_tasks *t, const char *id)
{
	struct wid_atask *a;

	for (a = t->by_id[id_hash(t, id)]; a != NULL; a = a->id_next)
		if (strcmp(a->pub.id, id) == 0)
			return a;
	return NULL;
}

static struct wid_atask *
find_serial_inlock(const struct wid_tasks *t, uint64_t serial)
{
	struct wid_atask *a;

	for (a = t->by_serial[serial_hash(t, serial)]; a != NULL;
	    a = a->serial_next)
		if (a->pub.serial == serial)
			return a;
	return NULL;
}

static int
grow_inlock(struct wid_tasks *t)
{
	struct wid_atask **ids, **serials, *a;
	size_t n = t->nbuckets * 2;

	ids = calloc(n, sizeof(*ids));
	serials = calloc(n, sizeof(*serials));
	if (ids == NULL || serials == NULL) {
		free(ids);
		free(serials);
		return WID_E_NOMEM;
	}
	free(t->by_id);
	free(t->by_serial);
	t->by_id = ids;
	t->by_serial = serials;
	t->nbuckets = n;
	for (a = t->head; a != NULL; a = a->next) {
		size_t i = id_hash(t, a->pub.id), s = serial_hash(t, a->pub.serial);

		a->id_next = t->by_id[i];
		t->by_id[i] = a;
		a->serial_next = t->by_serial[s];
		t->by_serial[s] = a;
	}
	return 0;
}

/* Deadline min-heap. */
static int
heap_less(const struct wid_atask *a, const struct wid_atask *b)
{
	return a->deadline < b->deadline ||
	    (a->deadline == b->deadline && a->pub.serial < b->pub.serial);
}

static void
heap_set(struct wid_tasks *t, size_t i, struct wid_atask *a)
{
	t->heap[i] = a;
	a->heap_idx = i;
}

static void
heap_up(struct wid_tasks *t, size_t i)
{
	struct wid_atask *a = t->heap[i];

	while (i > 0 && heap_less(a, t->heap[(i - 1) / 2])) {
		heap_set(t, i, t->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(t, i, a);
}

static void
heap_down(struct wid_tasks *t, size_t i)
{
	struct wid_atask *a = t->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= t->heap_len)
			break;
		if (c + 1 < t->heap_len && heap_less(t->heap[c + 1], t->heap[c]))
			c++;
		if (!heap_less(t->heap[c], a))
			break;
		heap_set(t, i, t->heap[c]);
		i = c;
	}
	heap_set(t, i, a);
}

static void
heap_remove(struct wid_tasks *t, struct wid_atask *a)
{
	size_t i = a->heap_idx;
	struct wid_atask *m;

	t->heap_len--;
	if (i == t->heap_len)
		return;
	m = t->heap[t->heap_len];
	heap_set(t, i, m);
	heap_up(t, i);
	heap_down(t, m->heap_idx);
}

/* Arms the timerfd at the nearest deadline (or disarms it). */
static void
arm_inlock(struct wid_tasks *t)
{
	struct itimerspec its;
	uint64_t d = t->heap_len > 0 ? t->heap[0]->deadline : 0;

	if (d == t->armed || t->timerfd < 0)
		return;
	memset(&its, 0, sizeof(its));
	if (d != 0) {
		its.it_value.tv_sec = (time_t)(d / NSEC);
		its.it_value.tv_nsec = (long)(d % NSEC);
		if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
			its.it_value.tv_nsec = 1;
	}
	if (timerfd_settime(t->timerfd, TFD_TIMER_ABSTIME, &its, NULL) != 0)
		wid_error("timerfd_settime: %s", strerror(errno));
	t->armed = d;
}

int
wid_tasks_init(struct wid_tasks *t, const struct wid_backend_ops *ops,
               void *bstate, uint8_t backend_id)
{
	memset(t, 0, sizeof(*t));
	t->timerfd = -1;
	t->epfd = -1;
	t->ops = ops;
	t->bstate = bstate;
	t->backend_id = backend_id;
	t->nbuckets = NBUCKETS_MIN;
	t->next_serial = 1;
	t->max_tasks = WID_TASKS_MAX;
	if (RAND_bytes((unsigned char *)&t->seed, sizeof(t->seed)) != 1)
		return WID_E_CRYPTO;
	t->by_id = calloc(t->nbuckets, sizeof(*t->by_id));
	t->by_serial = calloc(t->nbuckets, sizeof(*t->by_serial));
	t->timerfd = timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	if (t->by_id == NULL || t->by_serial == NULL || t->timerfd < 0 ||
	    pthread_rwlock_init(&t->lock, NULL) != 0) {
		free(t->by_id);
		free(t->by_serial);
		if (t->timerfd >= 0)
			close(t->timerfd);
		memset(t, 0, sizeof(*t));
		t->timerfd = -1;
		return WID_E_NOMEM;
	}
	return 0;
}

void
wid_tasks_set_epoll(struct wid_tasks *t, int epfd)
{
	t->epfd = epfd;
}

int
wid_tasks_timerfd(const struct wid_tasks *t)
{
	return t->timerfd;
}

static void
atask_free(struct wid_tasks *t, struct wid_atask *a)
{
	if (a->key != NULL)
		t->ops->destroy(t->bstate, a->key);
	if (a->pidfd >= 0)
		close(a->pidfd);  /* also leaves the epoll set */
	free(a->exe);
	free(a->cgroup);
	free(a->ssh_cert);
	free(a->x509);
	free(a->cert_principals);
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
}

static void
atask_put(struct wid_tasks *t, struct wid_atask *a)
{
	if (atomic_fetch_sub(&a->refs, 1) == 1)
		atask_free(t, a);
}

/* Waits until a task that just left the table has no user but the table:
 * a signature that passed its checks before the end finishes (and is
 * counted) before the end is logged and answered, so none completes
 * after its task's end or deadline.  Signing takes micro- to milliseconds. */
static void
drain(struct wid_atask *a)
{
	const struct timespec ts = { 0, 20000 };

	while (atomic_load(&a->refs) > 1)
		nanosleep(&ts, NULL);
}

/* Takes a task out of every index; the caller drops the table's
 * reference after unlocking. */
static void
unlink_inlock(struct wid_tasks *t, struct wid_atask *a, int state)
{
	struct wid_atask **pp;

	for (pp = &t->by_id[id_hash(t, a->pub.id)]; *pp != a;
	    pp = &(*pp)->id_next)
		;
	*pp = a->id_next;
	for (pp = &t->by_serial[serial_hash(t, a->pub.serial)]; *pp != a;
	    pp = &(*pp)->serial_next)
		;
	*pp = a->serial_next;
	if (a->prev != NULL)
		a->prev->next = a->next;
	else
		t->head = a->next;
	if (a->next != NULL)
		a->next->prev = a->prev;
	else
		t->tail = a->prev;
	a->prev = a->next = a->id_next = a->serial_next = NULL;
	heap_remove(t, a);
	t->count--;
	if (a->pub.state == WID_STATE_PENDING)
		t->pending--;
	a->pub.state = (uint8_t)state;
	arm_inlock(t);
}

static void
snapshot(const struct wid_atask *a, struct wid_task *out)
{
	*out = a->pub;
	out->sign_count = atomic_load(&a->signs);
}

/* Tells the governance layer (audit) that a task left the table. */
static void
notify_gone(struct wid_tasks *t, const struct wid_atask *a, const char *why)
{
	struct wid_task snap;

	if (t->on_gone == NULL)
		return;
	snapshot(a, &snap);
	t->on_gone(t->on_gone_ctx, &snap, why);
}

static int
gen_id(char out[WID_TASK_ID_MAX + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[6];
	size_t i;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return WID_E_CRYPTO;
	out[0] = 't';
	out[1] = '-';
	for (i = 0; i < sizeof(rnd); i++) {
		out[2 + 2 * i] = hex[rnd[i] >> 4];
		out[3 + 2 * i] = hex[rnd[i] & 15];
	}
	out[2 + 2 * sizeof(rnd)] = '\0';
	return 0;
}

static void
log_task(const char *event, const struct wid_atask *a, const char *extra)
{
	char exp[32];

	wid_fmt_time(a->pub.expires, exp);
	wid_info("task %s %s: serial=%llu key=%s requester_uid=%u "
	    "executor_uid=%d pid=%u exe=%s expires=%s signatures=%llu%s%s",
	    a->pub.id, event, (unsigned long long)a->pub.serial,
	    wid_key_type_name(a->pub.key_type), a->pub.requester_uid,
	    a->pub.executor_uid == WID_UID_NONE ? -1 :
	    (int)a->pub.executor_uid, a->requester_pid,
	    a->exe != NULL ? a->exe : "?", exp,
	    (unsigned long long)atomic_load(&a->signs),
	    extra != NULL ? " " : "", extra != NULL ? extra : "");
}

int
wid_tasks_start(struct wid_tasks *t, const struct wid_start_req *req,
                const struct wid_caller *who, int bind_pidfd,
                uint64_t now_boot, int64_t now_wall,
                struct wid_task *ret_task, char *reason, size_t rlen)
{
	struct wid_atask *a;
	size_t spki_len = 0;
	uint8_t md[SHA256_DIGEST_LENGTH];
	int r, tries, locked = 0;

	memset(ret_task, 0, sizeof(*ret_task));
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		if (bind_pidfd >= 0)
			close(bind_pidfd);
		return WID_E_NOMEM;
	}
	a->pidfd = bind_pidfd;
	atomic_init(&a->refs, 1);
	atomic_init(&a->signs, 0);
	a->pub.state = (req->flags & WID_TASKS_START_PENDING) != 0 ?
	    WID_STATE_PENDING : WID_STATE_ACTIVE;
	a->pub.approver_uid = WID_UID_NONE;
	snprintf(a->pub.scope, sizeof(a->pub.scope), "%s",
	    req->scope[0] != '\0' ? req->scope : "default");
	a->pub.key_type = req->key_type;
	a->pub.backend = t->backend_id;
	a->pub.requester_uid = who->uid;
	a->pub.executor_uid = req->executor_uid;
	a->pub.bound_pid = bind_pidfd >= 0 ? who->pid : 0;
	memcpy(a->pub.requested_by, req->requested_by,
	    sizeof(a->pub.requested_by));
	memcpy(a->pub.intent, req->intent, sizeof(a->pub.intent));
	a->pub.created = now_wall;
	a->pub.expires = now_wall + (int64_t)req->ttl;
	a->deadline = now_boot + (uint64_t)req->ttl * NSEC;
	a->requester_gid = who->gid;
	a->requester_pid = who->pid;
	if ((who->exe != NULL && (a->exe = strdup(who->exe)) == NULL) ||
	    (who->cgroup != NULL &&
	    (a->cgroup = strdup(who->cgroup)) == NULL)) {
		r = WID_E_NOMEM;
		goto fail;
	}

	/* Key generation (slow for RSA) runs outside the lock. */
	if ((r = t->ops->keygen(t->bstate, req->key_type, req->ttl,
	    &a->key)) != 0) {
		snprintf(reason, rlen, "%s key generation failed: %s",
		    wid_key_type_name(req->key_type), wid_strerror(r));
		goto fail;
	}
	if ((r = t->ops->spki(t->bstate, a->key, a->pub.spki,
	    &spki_len)) != 0 || spki_len == 0 || spki_len > WID_SPKI_MAX) {
		r = WID_E_CRYPTO;
		goto fail;
	}
	a->pub.spki_len = (uint16_t)spki_len;
	SHA256(a->pub.spki, spki_len, md);
	memcpy(a->pub.key_id, md, WID_KEY_ID_LEN);

	pthread_rwlock_wrlock(&t->lock);
	locked = 1;
	if (t->count >= t->max_tasks) {
		snprintf(reason, rlen, "too many tasks (at most %zu)",
		    t->max_tasks);
		r = WID_E_LIMIT;
		goto fail;
	}
	if (req->id[0] != '\0') {
		memcpy(a->pub.id, req->id, sizeof(a->pub.id));
		if (find_id_inlock(t, a->pub.id) != NULL) {
			snprintf(reason, rlen, "task id %s already in use",
			    req->id);
			r = WID_E_EXISTS;
			goto fail;
		}
	} else {
		for (tries = 0;; tries++) {
			if (tries == 16) {
				r = WID_E_INTERNAL;
				goto fail;
			}
			if ((r = gen_id(a->pub.id)) != 0)
				goto fail;
			if (find_id_inlock(t, a->pub.id) == NULL)
				break;
		}
	}
	if (t->count + 1 > t->nbuckets && (r = grow_inlock(t)) != 0)
		goto fail;
	if (t->heap_len == t->heap_cap) {
		size_t n = t->heap_cap == 0 ? 64 : 2 * t->heap_cap;
		struct wid_atask **h = realloc(t->heap, n * sizeof(*h));

		if (h == NULL) {
			r = WID_E_NOMEM;
			goto fail;
		}
		t->heap = h;
		t->heap_cap = n;
	}
	a->pub.serial = t->next_serial++;  /* never reused */
	{
		size_t i = id_hash(t, a->pub.id);
		size_t s = serial_hash(t, a->pub.serial);

		a->id_next = t->by_id[i];
		t->by_id[i] = a;
		a->serial_next = t->by_serial[s];
		t->by_serial[s] = a;
	}
	a->prev = t->tail;
	if (t->tail != NULL)
		t->tail->next = a;
	else
		t->head = a;
	t->tail = a;
	heap_set(t, t->heap_len++, a);
	heap_up(t, a->heap_idx);
	t->count++;
	if (a->pub.state == WID_STATE_PENDING)
		t->pending++;
	if (a->pidfd >= 0 && t->epfd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT };

		ev.data.u64 = a->pub.serial << WID_EV_SHIFT | WID_EV_BIND;
		if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, a->pidfd, &ev) != 0) {
			r = WID_E_INTERNAL;
			unlink_inlock(t, a, WID_STATE_ENDED);
			goto fail;
		}
	}
	arm_inlock(t);
	snapshot(a, ret_task);
	pthread_rwlock_unlock(&t->lock);
	log_task("started", a, NULL);
	return 0;

fail:
	if (locked)
		pthread_rwlock_unlock(&t->lock);
	atask_free(t, a);
	return r;
}

int
wid_tasks_end(struct wid_tasks *t, const char *id, uint32_t uid,
              char *reason, size_t rlen)
{
	struct wid_atask *a;

	pthread_rwlock_wrlock(&t->lock);
	a = find_id_inlock(t, id);
	if (a == NULL || (uid != a->pub.requester_uid &&
	    !wid_task_visible(&a->pub, uid))) {
		pthread_rwlock_unlock(&t->lock);
		snprintf(reason, rlen, "no task %s", id);
		return WID_E_NOTASK;
	}
	unlink_inlock(t, a, WID_STATE_ENDED);
	pthread_rwlock_unlock(&t->lock);
	drain(a);
	{
		char by[48];

		snprintf(by, sizeof(by), "by_uid=%u", uid);
		log_task("ended", a, by);
		notify_gone(t, a, by);
	}
	atask_put(t, a);
	return 0;
}

int
wid_tasks_end_serial(struct wid_tasks *t, uint64_t serial, int state,
                     const char *why)
{
	struct wid_atask *a;

	pthread_rwlock_wrlock(&t->lock);
	if ((a = find_serial_inlock(t, serial)) == NULL) {
		pthread_rwlock_unlock(&t->lock);
		return WID_E_NOTASK;
	}
	unlink_inlock(t, a, state);
	pthread_rwlock_unlock(&t->lock);
	drain(a);
	log_task(state == WID_STATE_EXPIRED ? "expired" : "ended", a, why);
	notify_gone(t, a, why);
	atask_put(t, a);
	return 0;
}

size_t
wid_tasks_expire(struct wid_tasks *t, uint64_t now_boot)
{
	struct wid_atask *due = NULL, *a;
	size_t n = 0;

	pthread_rwlock_wrlock(&t->lock);
	while (t->heap_len > 0 && t->heap[0]->deadline <= now_boot) {
		a = t->heap[0];
		unlink_inlock(t, a, WID_STATE_EXPIRED);
		a->next = due;    /* reuse the list link, now free */
		due = a;
		n++;
	}
	t->armed = UINT64_MAX;  /* force re-arming: the fd has fired */
	arm_inlock(t);
	pthread_rwlock_unlock(&t->lock);
	while ((a = due) != NULL) {
		due = a->next;
		a->next = NULL;
		drain(a);
		log_task("expired", a, NULL);
		notify_gone(t, a, "deadline reached");
		atask_put(t, a);
	}
	return n;
}

int
wid_tasks_sign(struct wid_tasks *t, uint32_t uid,
               const struct wid_sign_req *req, uint64_t now_boot,
               const struct wid_sign_record *rec,
               uint8_t *sig, size_t *ret_len,
               char ret_id[WID_TASK_ID_MAX + 1], char *reason, size_t rlen)
{
	struct wid_atask *a;
	char when[32];
	int r;

	*ret_len = 0;
	ret_id[0] = '\0';
	pthread_rwlock_rdlock(&t->lock);
	a = find_serial_inlock(t, req->serial);
	if (a == NULL || !wid_task_visible(&a->pub, uid)) {
		pthread_rwlock_unlock(&t->lock);
		snprintf(reason, rlen, "no key with serial %llu",
		    (unsigned long long)req->serial);
		return WID_E_NOTASK;
	}
	atomic_fetch_add(&a->refs, 1);
	pthread_rwlock_unlock(&t->lock);

	memcpy(ret_id, a->pub.id, WID_TASK_ID_MAX + 1);
	if (a->pub.state == WID_STATE_PENDING) {
		snprintf(reason, rlen, "task %s waits for approval", a->pub.id);
		r = WID_E_PENDING;
	} else if (a->pub.state != WID_STATE_ACTIVE) {
		snprintf(reason, rlen, "task %s has %s", a->pub.id,
		    wid_state_name(a->pub.state));
		r = WID_E_ENDED;
	} else if (now_boot >= a->deadline) {
		wid_fmt_time(a->pub.expires, when);
		snprintf(reason, rlen, "task %s expired at %s", a->pub.id,
		    when);
		r = WID_E_EXPIRED;
	} else if ((r = t->ops->sign(t->bstate, a->key, req, sig,
	    ret_len)) != 0) {
		snprintf(reason, rlen, "task %s: %s for %s key", a->pub.id,
		    r == WID_E_MECH ? "mechanism not valid" :
		    r == WID_E_BADARG ? "bad input length" :
		    r == WID_E_EXPIRED ? "the TPM refused the key: past its "
		    "deadline" : r == WID_E_ENDED ? "the TPM refused the key: "
		    "revoked" : "signing failed",
		    wid_key_type_name(a->pub.key_type));
		*ret_len = 0;
	} else if (rec != NULL &&
	    (r = rec->fn(rec->ctx, reason, rlen)) != 0) {
		OPENSSL_cleanse(sig, *ret_len);
		*ret_len = 0;
	} else
		atomic_fetch_add(&a->signs, 1);
	atask_put(t, a);
	return r;
}

int
wid_tasks_set_certs(struct wid_tasks *t, uint64_t serial,
                    const char *ssh_cert, const uint8_t *x509,
                    size_t x509_len)
{
	struct wid_atask *a;
	char *line = NULL;
	uint8_t *der = NULL;

	if ((ssh_cert != NULL && (line = strdup(ssh_cert)) == NULL) ||
	    (x509 != NULL && (der = malloc(x509_len)) == NULL)) {
		free(line);
		return WID_E_NOMEM;
	}
	if (der != NULL)
		memcpy(der, x509, x509_len);
	pthread_rwlock_wrlock(&t->lock);
	if ((a = find_serial_inlock(t, serial)) == NULL) {
		pthread_rwlock_unlock(&t->lock);
		free(line);
		free(der);
		return WID_E_NOTASK;
	}
	if (line != NULL) {
		free(a->ssh_cert);
		a->ssh_cert = line;
		a->pub.flags |= WID_TASK_HAS_SSH_CERT;
	}
	if (der != NULL) {
		free(a->x509);
		a->x509 = der;
		a->x509_len = x509_len;
		a->pub.flags |= WID_TASK_HAS_X509;
	}
	pthread_rwlock_unlock(&t->lock);
	return 0;
}

int
wid_tasks_defer_certs(struct wid_tasks *t, uint64_t serial, uint8_t flags,
                      const char *principals)
{
	struct wid_atask *a;
	char *p;

	if ((p = strdup(principals)) == NULL)
		return WID_E_NOMEM;
	pthread_rwlock_wrlock(&t->lock);
	if ((a = find_serial_inlock(t, serial)) == NULL) {
		pthread_rwlock_unlock(&t->lock);
		free(p);
		return WID_E_NOTASK;
	}
	free(a->cert_principals);
	a->cert_principals = p;
	a->cert_wait = flags;
	pthread_rwlock_unlock(&t->lock);
	return 0;
}

int
wid_tasks_take_certs(struct wid_tasks *t, uint64_t serial, uint8_t *ret_flags,
                     char principals[WID_PRINCIPALS_MAX + 1])
{
	struct wid_atask *a;

	*ret_flags = 0;
	principals[0] = '\0';
	pthread_rwlock_wrlock(&t->lock);
	if ((a = find_serial_inlock(t, serial)) == NULL) {
		pthread_rwlock_unlock(&t->lock);
		return WID_E_NOTASK;
	}
	*ret_flags = a->cert_wait;
	if (a->cert_principals != NULL)
		snprintf(principals, WID_PRINCIPALS_MAX + 1, "%s",
		    a->cert_principals);
	free(a->cert_principals);
	a->cert_principals = NULL;
	a->cert_wait = 0;
	pthread_rwlock_unlock(&t->lock);
	return 0;
}

int
wid_tasks_cert(struct wid_tasks *t, uint32_t uid, const char *id, int kind,
               uint8_t *out, size_t size, size_t *ret_len, char *reason,
               size_t rlen)
{
	struct wid_atask *a;
	const void *p = NULL;
	size_t n = 0;
	int r;

	*ret_len = 0;
	pthread_rwlock_rdlock(&t->lock);
	a = find_id_inlock(t, id);
	if (a == NULL || (uid != a->pub.requester_uid &&
	    !wid_task_visible(&a->pub, uid))) {
		snprintf(reason, rlen, "no task %s", id);
		r = WID_E_NOTASK;
		goto out;
	}
	if (kind == WID_CERT_SSH && a->ssh_cert != NULL) {
		p = a->ssh_cert;
		n = strlen(a->ssh_cert);
	} else if (kind == WID_CERT_X509_DER && a->x509 != NULL) {
		p = a->x509;
		n = a->x509_len;
	}
	if (p == NULL) {
		snprintf(reason, rlen, "task %s has no %s certificate", id,
		    kind == WID_CERT_SSH ? "OpenSSH" : "X.509");
		r = WID_E_NOTASK;
		goto out;
	}
	if (n > size) {
		r = WID_E_LIMIT;
		goto out;
	}
	memcpy(out, p, n);
	*ret_len = n;
	r = 0;
out:
	pthread_rwlock_unlock(&t->lock);
	return r;
}

int
wid_tasks_list(struct wid_tasks *t, uint32_t uid, const char *id,
               uint64_t cursor, wid_tasks_cb cb, void *ctx,
               uint64_t *ret_next)
{
	struct wid_atask *a;
	struct wid_task snap;

	*ret_next = 0;
	pthread_rwlock_rdlock(&t->lock);
	if (id != NULL && id[0] != '\0') {
		a = find_id_inlock(t, id);
		if (a != NULL && wid_task_visible(&a->pub, uid) &&
		    a->pub.serial >= cursor) {
			snapshot(a, &snap);
			if (cb(ctx, &snap) != 0)
				*ret_next = a->pub.serial;
		}
		goto out;
	}
	if (cursor <= 1 || (a = find_serial_inlock(t, cursor)) == NULL)
		for (a = t->head; a != NULL && a->pub.serial < cursor;
		    a = a->next)
			;
	for (; a != NULL; a = a->next) {
		if (!wid_task_visible(&a->pub, uid))
			continue;
		snapshot(a, &snap);
		if (cb(ctx, &snap) != 0) {
			*ret_next = a->pub.serial;
			break;
		}
	}
out:
	pthread_rwlock_unlock(&t->lock);
	return 0;
}

void
wid_tasks_counts(struct wid_tasks *t, uint32_t *ret_active,
                 uint32_t *ret_pending)
{
	pthread_rwlock_rdlock(&t->lock);
	*ret_active = (uint32_t)(t->count - t->pending);
	*ret_pending = (uint32_t)t->pending;
	pthread_rwlock_unlock(&t->lock);
}

int
wid_tasks_get(struct wid_tasks *t, uint32_t uid, uint64_t serial,
              const char *id, struct wid_task *ret_task)
{
	struct wid_atask *a;
	int r = WID_E_NOTASK;

	pthread_rwlock_rdlock(&t->lock);
	a = id != NULL ? find_id_inlock(t, id) : find_serial_inlock(t, serial);
	if (a != NULL && (uid == WID_UID_NONE ||
	    wid_task_visible(&a->pub, uid))) {
		snapshot(a, ret_task);
		r = 0;
	}
	pthread_rwlock_unlock(&t->lock);
	return r;
}

int
wid_tasks_decide(struct wid_tasks *t, const char *id, int approve,
                 uint32_t approver_uid, const char *approver,
                 struct wid_task *ret_task, char *reason, size_t rlen)
{
	struct wid_atask *a;
	char by[48];

	pthread_rwlock_wrlock(&t->lock);
	if ((a = find_id_inlock(t, id)) == NULL) {
		pthread_rwlock_unlock(&t->lock);
		snprintf(reason, rlen, "no task %s", id);
		return WID_E_NOTASK;
	}
	if (a->pub.state != WID_STATE_PENDING) {
		pthread_rwlock_unlock(&t->lock);
		snprintf(reason, rlen, "task %s is %s, not pending", id,
		    wid_state_name(a->pub.state));
		return WID_E_BADARG;
	}
	a->pub.approver_uid = approver_uid;
	snprintf(a->pub.approver, sizeof(a->pub.approver), "%s", approver);
	if (approve) {
		a->pub.state = WID_STATE_ACTIVE;
		t->pending--;
		snapshot(a, ret_task);
		pthread_rwlock_unlock(&t->lock);
		snprintf(by, sizeof(by), "by_uid=%u", approver_uid);
		log_task("approved", a, by);
		return 0;
	}
	unlink_inlock(t, a, WID_STATE_REVOKED);
	snapshot(a, ret_task);
	pthread_rwlock_unlock(&t->lock);
	snprintf(by, sizeof(by), "denied by_uid=%u", approver_uid);
	log_task("revoked", a, by);
	notify_gone(t, a, by);
	atask_put(t, a);
	return 0;
}

/* While a task is pending, `approver` names who may approve it. */
void
wid_tasks_set_approver_hint(struct wid_tasks *t, const char *id,
                            const char *text)
{
	struct wid_atask *a;

	pthread_rwlock_wrlock(&t->lock);
	if ((a = find_id_inlock(t, id)) != NULL &&
	    a->pub.state == WID_STATE_PENDING)
		snprintf(a->pub.approver, sizeof(a->pub.approver), "%s", text);
	pthread_rwlock_unlock(&t->lock);
}

void
wid_tasks_fini(struct wid_tasks *t)
{
	struct wid_atask *a;

	if (t->by_id == NULL)
		return;
	for (;;) {
		pthread_rwlock_wrlock(&t->lock);
		if ((a = t->head) != NULL)
			unlink_inlock(t, a, WID_STATE_ENDED);
		pthread_rwlock_unlock(&t->lock);
		if (a == NULL)
			break;
		log_task("ended", a, "(agent shutdown)");
		notify_gone(t, a, "agent shutdown");
		atask_put(t, a);
	}
	pthread_rwlock_destroy(&t->lock);
	free(t->by_id);
	free(t->by_serial);
	free(t->heap);
	if (t->timerfd >= 0)
		close(t->timerfd);
	memset(t, 0, sizeof(*t));
	t->timerfd = -1;
	t->epfd = -1;
}

int
wid_tasks_with_key(struct wid_tasks *t, uint32_t uid, const char *id,
                   wid_tasks_key_fn fn, void *ctx, char *reason, size_t rlen)
{
	struct wid_atask *a;
	struct wid_task snap;
	int r;

	pthread_rwlock_rdlock(&t->lock);
	a = find_id_inlock(t, id);
	if (a == NULL || !wid_task_visible(&a->pub, uid)) {
		pthread_rwlock_unlock(&t->lock);
		snprintf(reason, rlen, "no task %s", id);
		return WID_E_NOTASK;
	}
	atomic_fetch_add(&a->refs, 1);
	snapshot(a, &snap);
	pthread_rwlock_unlock(&t->lock);
	if (snap.state != WID_STATE_ACTIVE) {
		snprintf(reason, rlen, "task %s is %s", id,
		    wid_state_name(snap.state));
		r = WID_E_ENDED;
	} else
		r = fn(ctx, a->key, &snap);
	atask_put(t, a);
	return r;
}
