/* tests/faults/deadline.c: deadline stress.  NPROC processes x NTHR
 * threads sign in a loop through wid-pkcs11.so while this program's
 * driver starts NTASKS tasks with 1-3 s lifetimes, ends half of them
 * early and lets the rest expire.  Every signature attempt is recorded by
 * the client that made it: (task, time sent, time answered, CK_RV).
 *
 * Late signature: C_Sign returned CKR_OK although the request was sent
 * after the driver had the agent's reply to TASK_END, or after the task's
 * start + ttl (its deadline can only be earlier).  Both bounds are taken
 * on CLOCK_BOOTTIME, the agent's own deadline clock, so nothing here can
 * count a legitimate signature as late.  There must be none.
 *
 * usage: deadline MODULE OUTDIR [NTASKS [NPROC [NTHR]]]
 * The agent is the one $WID_AGENT_SOCK names.  Writes OUTDIR/tasks.txt
 * ("task ttl_s ended_early ok late") for the caller to compare with the
 * agent's log, and prints one summary line:
 *   attempted N completed N failed N late N tasks N
 * Exit 0 when late == 0 and both successes and refusals were seen. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#include "wid/buf.h"
#include "wid/client.h"
#include "wid/err.h"
#include "wid/proto.h"

#define MAX_TASKS 256
#define MAX_PROCS 16
#define MAX_THREADS 8
#define MAX_FOUND 64

struct rec {
	char task[WID_TASK_ID_MAX + 1];
	uint64_t sent, done;
	CK_RV rv;
};

struct thr {
	CK_FUNCTION_LIST_PTR f;
	CK_SLOT_ID slot;
	unsigned seed;
	struct rec *r;
	size_t n, cap;
};

/* Shared with the children (MAP_SHARED): the stop flag. */
static volatile int *stop_flag;

static uint64_t
now_boot(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int
record(struct thr *t, const char *task, uint64_t sent, uint64_t done,
    CK_RV rv)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 4096;
		struct rec *r = realloc(t->r, cap * sizeof(*r));

		if (r == NULL)
			return -1;
		t->r = r;
		t->cap = cap;
	}
	snprintf(t->r[t->n].task, sizeof(t->r[t->n].task), "%s", task);
	t->r[t->n].sent = sent;
	t->r[t->n].done = done;
	t->r[t->n].rv = rv;
	t->n++;
	return 0;
}

/* One signing thread: find the visible keys, pick one, sign with it until
 * the agent refuses, start over. */
static void *
signer(void *arg)
{
	struct thr *t = arg;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE q[] = { { CKA_CLASS, &cls, sizeof(cls) } };
	CK_MECHANISM mech = { CKM_ECDSA, NULL, 0 };
	CK_OBJECT_HANDLE found[MAX_FOUND];
	CK_SESSION_HANDLE s;
	CK_BYTE digest[32], sig[256];
	CK_ULONG nfound, siglen;
	CK_RV rv;

	memset(digest, 0x5a, sizeof(digest));
	if (t->f->C_OpenSession(t->slot, CKF_SERIAL_SESSION, NULL, NULL,
	    &s) != CKR_OK)
		return (void *)1;
	while (!*stop_flag) {
		char label[WID_TASK_ID_MAX + 1];
		CK_ATTRIBUTE la = { CKA_LABEL, label, sizeof(label) - 1 };
		CK_OBJECT_HANDLE h;
		int i;

		nfound = 0;
		if (t->f->C_FindObjectsInit(s, q, 1) == CKR_OK) {
			t->f->C_FindObjects(s, found, MAX_FOUND, &nfound);
			t->f->C_FindObjectsFinal(s);
		}
		if (nfound == 0) {
			sleep_ms(2);
			continue;
		}
		h = found[rand_r(&t->seed) % nfound];
		if (t->f->C_GetAttributeValue(s, h, &la, 1) != CKR_OK)
			continue;
		label[la.ulValueLen] = '\0';
		for (i = 0; i < 500 && !*stop_flag; i++) {
			uint64_t sent, done;

			siglen = sizeof(sig);
			sent = now_boot();
			rv = t->f->C_SignInit(s, &mech, h);
			if (rv == CKR_OK)
				rv = t->f->C_Sign(s, digest, sizeof(digest),
				    sig, &siglen);
			done = now_boot();
			if (record(t, label, sent, done, rv) != 0)
				return (void *)1;
			if (rv != CKR_OK)
				break;
		}
	}
	t->f->C_CloseSession(s);
	return NULL;
}

static int
client(const char *module, const char *out, int nthr, unsigned seed)
{
	CK_C_GetFunctionList gfl;
	CK_C_INITIALIZE_ARGS ia = { .flags = CKF_OS_LOCKING_OK };
	CK_FUNCTION_LIST_PTR f;
	CK_SLOT_ID slots[8];
	CK_ULONG nslots = 8;
	struct thr th[MAX_THREADS];
	pthread_t tid[MAX_THREADS];
	char path[4096];
	FILE *fp;
	void *dl;
	int i, rc = 1;
	size_t k;

	memset(th, 0, sizeof(th));
	if ((dl = dlopen(module, RTLD_NOW | RTLD_LOCAL)) == NULL ||
	    (gfl = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList")) == NULL ||
	    gfl(&f) != CKR_OK || f->C_Initialize(&ia) != CKR_OK ||
	    f->C_GetSlotList(CK_TRUE, slots, &nslots) != CKR_OK || nslots == 0) {
		fprintf(stderr, "deadline: client %d: module set-up failed\n",
		    (int)getpid());
		return 1;
	}
	for (i = 0; i < nthr; i++) {
		th[i].f = f;
		th[i].slot = slots[0];   /* token "wid": EC and RSA keys */
		th[i].seed = seed * 31u + (unsigned)i;
		if (pthread_create(&tid[i], NULL, signer, &th[i]) != 0)
			goto out;
	}
	rc = 0;
	for (i = 0; i < nthr; i++) {
		void *r;

		pthread_join(tid[i], &r);
		if (r != NULL)
			rc = 1;
	}
	snprintf(path, sizeof(path), "%s/client.%d", out, (int)getpid());
	if ((fp = fopen(path, "w")) == NULL) {
		rc = 1;
		goto out;
	}
	for (i = 0; i < nthr; i++)
		for (k = 0; k < th[i].n; k++)
			fprintf(fp, "%s %llu %llu %lu\n", th[i].r[k].task,
			    (unsigned long long)th[i].r[k].sent,
			    (unsigned long long)th[i].r[k].done,
			    (unsigned long)th[i].r[k].rv);
	if (fclose(fp) != 0)
		rc = 1;
out:
	for (i = 0; i < nthr; i++)
		free(th[i].r);
	f->C_Finalize(NULL);
	return rc;
}

/* ---- the driver: starts and ends tasks over the protocol ---- */

struct dtask {
	char id[WID_TASK_ID_MAX + 1];
	uint32_t ttl;
	uint64_t started;   /* boot ns when TASK_START was answered */
	uint64_t end_at;    /* when to end it early (0: let it expire) */
	uint64_t ended;     /* boot ns when TASK_END was answered */
	uint64_t ok, late;
};

static int
drive_start(struct wid_conn *c, struct dtask *d)
{
	struct wid_start_req req;
	struct wid_buf *b;
	uint16_t st;
	int r;

	memset(&req, 0, sizeof(req));
	snprintf(req.id, sizeof(req.id), "%s", d->id);
	req.key_type = WID_KEY_EC_P256;
	req.ttl = d->ttl;
	req.executor_uid = WID_UID_NONE;
	snprintf(req.requested_by, sizeof(req.requested_by), "deadline");
	b = wid_conn_req(c, WID_OP_TASK_START);
	wid_start_req_encode(b, &req);
	if ((r = wid_conn_call(c, &st)) != 0 || st != WID_OK) {
		fprintf(stderr, "deadline: start %s: %s\n", d->id,
		    wid_strerror(r != 0 ? r : st));
		return -1;
	}
	d->started = now_boot();
	return 0;
}

static int
drive_end(struct wid_conn *c, struct dtask *d)
{
	struct wid_buf *b;
	uint16_t st;
	int r;

	b = wid_conn_req(c, WID_OP_TASK_END);
	wid_id_encode(b, d->id);
	r = wid_conn_call(c, &st);
	if (r == 0 && st == WID_E_NOTASK &&
	    now_boot() >= d->started + d->ttl * 1000000000ull) {
		d->end_at = 0;   /* a slow turn here: it expired first */
		return 0;
	}
	if (r != 0 || st != WID_OK) {
		fprintf(stderr, "deadline: end %s: %s\n", d->id,
		    wid_strerror(r != 0 ? r : st));
		return -1;
	}
	d->ended = now_boot();
	return 0;
}

static struct dtask *
find_task(struct dtask *d, int n, const char *id)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(d[i].id, id) == 0)
			return &d[i];
	return NULL;
}

int
main(int argc, char **argv)
{
	static struct dtask d[MAX_TASKS];
	struct wid_conn c;
	char path[WID_PATH_MAX], line[256], file[4096];
	pid_t kids[MAX_PROCS];
	int ntasks = 50, nproc = 4, nthr = 2, i, started = 0, rc = 1;
	uint64_t attempted = 0, completed = 0, failed = 0, late = 0, last = 0;
	uint64_t next_start = 0;
	unsigned seed = (unsigned)getpid();
	FILE *fp;

	if (argc < 3 || argc > 6) {
		fprintf(stderr, "usage: deadline MODULE OUTDIR [NTASKS [NPROC "
		    "[NTHR]]]\n");
		return 2;
	}
	if (argc > 3)
		ntasks = atoi(argv[3]);
	if (argc > 4)
		nproc = atoi(argv[4]);
	if (argc > 5)
		nthr = atoi(argv[5]);
	if (ntasks < 1 || ntasks > MAX_TASKS || nproc < 1 ||
	    nproc > MAX_PROCS || nthr < 1 || nthr > MAX_THREADS)
		return 2;
	stop_flag = mmap(NULL, sizeof(int), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (stop_flag == MAP_FAILED)
		return 1;
	*stop_flag = 0;
	for (i = 0; i < nproc; i++) {
		if ((kids[i] = fork()) < 0)
			return 1;
		if (kids[i] == 0)
			_exit(client(argv[1], argv[2], nthr, seed + (unsigned)i));
	}

	wid_conn_init(&c);
	if (wid_sock_path(NULL, path) != 0 || wid_conn_open(&c, path) != 0) {
		fprintf(stderr, "deadline: cannot reach the agent\n");
		*stop_flag = 1;
		goto reap;
	}
	/* One task every 200 ms; even ones are ended early, 200-800 ms in
	 * (before the shortest lifetime, 1 s). */
	for (i = 0; i < ntasks; i++) {
		snprintf(d[i].id, sizeof(d[i].id), "dl-%d", i);
		d[i].ttl = 1 + (uint32_t)(i % 3);
	}
	while (started < ntasks || now_boot() < last) {
		uint64_t now = now_boot();

		if (started < ntasks && now >= next_start) {
			struct dtask *t = &d[started];

			if (drive_start(&c, t) != 0)
				goto stop;
			if (started % 2 == 0)
				t->end_at = t->started + (200u +
				    (unsigned)rand_r(&seed) % 600u) * 1000000u;
			if (t->started + t->ttl * 1000000000ull + 500000000u > last)
				last = t->started + t->ttl * 1000000000ull +
				    500000000u;
			next_start = t->started + 200000000u;
			started++;
		}
		for (i = 0; i < started; i++)
			if (d[i].end_at != 0 && d[i].ended == 0 &&
			    now >= d[i].end_at && drive_end(&c, &d[i]) != 0)
				goto stop;
		sleep_ms(10);
	}
	rc = 0;
stop:
	wid_conn_close(&c);
	*stop_flag = 1;
reap:
	for (i = 0; i < nproc; i++) {
		int st;

		if (waitpid(kids[i], &st, 0) != kids[i] || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0) {
			fprintf(stderr, "deadline: client %d failed\n", i);
			rc = 1;
		}
	}
	if (rc != 0 || started < ntasks)
		return 1;

	for (i = 0; i < nproc; i++) {
		snprintf(file, sizeof(file), "%s/client.%d", argv[2],
		    (int)kids[i]);
		if ((fp = fopen(file, "r")) == NULL)
			return 1;
		while (fgets(line, sizeof(line), fp) != NULL) {
			char id[WID_TASK_ID_MAX + 1];
			unsigned long long sent, done;
			unsigned long rv;
			struct dtask *t;

			if (sscanf(line, "%64s %llu %llu %lu", id, &sent, &done,
			    &rv) != 4 || (t = find_task(d, ntasks, id)) == NULL)
				continue;
			attempted++;
			if (rv != CKR_OK) {
				failed++;
				continue;
			}
			completed++;
			t->ok++;
			if ((t->ended != 0 && sent > t->ended) ||
			    sent > t->started + t->ttl * 1000000000ull) {
				t->late++;
				late++;
				printf("late: task %s sent %+.3f s after its "
				    "%s\n", id, (double)(sent - (t->ended ?
				    t->ended : t->started + t->ttl *
				    1000000000ull)) / 1e9,
				    t->ended ? "end" : "deadline");
			}
		}
		fclose(fp);
	}
	snprintf(file, sizeof(file), "%s/tasks.txt", argv[2]);
	if ((fp = fopen(file, "w")) == NULL)
		return 1;
	for (i = 0; i < ntasks; i++)
		fprintf(fp, "%s %u %d %llu %llu\n", d[i].id, d[i].ttl,
		    d[i].ended != 0, (unsigned long long)d[i].ok,
		    (unsigned long long)d[i].late);
	fclose(fp);
	printf("attempted %llu completed %llu failed %llu late %llu tasks %d\n",
	    (unsigned long long)attempted, (unsigned long long)completed,
	    (unsigned long long)failed, (unsigned long long)late, ntasks);
	return (late == 0 && completed > 0 && failed > 0) ? 0 : 1;
}
