/* tests/unit/test_tasks.c: the agent's task table: indexes by id and
 * serial, id uniqueness, serials never repeat, deadlines in order on a
 * fake clock, signing checks the deadline itself, the visibility rule,
 * paging, the active and pending counts, and every key destroyed exactly
 * once. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wid/err.h"
#include "wid/proto.h"
#include "tools/agent/tasks.h"

#define SEC 1000000000ull

/* A fake backend that counts keys. */
static int live_keys, destroyed, signs;

static int
fake_open(const char *conf, void **ret)
{
	*ret = NULL;
	return 0;
}

static void
fake_close(void *s)
{
}

static int
fake_keygen(void *s, int type, uint32_t ttl, void **ret_key)
{
	int *k = malloc(sizeof(*k));

	if (k == NULL)
		return WID_E_NOMEM;
	*k = ++live_keys + destroyed;  /* distinct per key */
	*ret_key = k;
	return 0;
}

static int
fake_spki(void *s, void *key, uint8_t *out, size_t *ret_len)
{
	memcpy(out, key, sizeof(int));
	*ret_len = sizeof(int);
	return 0;
}

static int
fake_sign(void *s, void *key, const struct wid_sign_req *req, uint8_t *sig,
          size_t *ret_len)
{
	signs++;
	sig[0] = 0x5a;
	*ret_len = 1;
	return 0;
}

static void
fake_destroy(void *s, void *key)
{
	live_keys--;
	destroyed++;
	free(key);
}

static const struct wid_backend_ops fake_ops = {
	.name = "fake", .open = fake_open, .close = fake_close,
	.keygen = fake_keygen, .spki = fake_spki, .sign = fake_sign,
	.destroy = fake_destroy,
};

static int
setup(void **state)
{
	struct wid_tasks *t = calloc(1, sizeof(*t));

	live_keys = destroyed = signs = 0;
	assert_non_null(t);
	assert_int_equal(wid_tasks_init(t, &fake_ops, NULL, 0), 0);
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	wid_tasks_fini(*state);
	free(*state);
	assert_int_equal(live_keys, 0);
	return 0;
}

static const struct wid_caller alice = { .uid = 1000, .gid = 1000,
    .pid = 42, .exe = "/usr/bin/ssh", .cgroup = "/ci/job1" };
static const struct wid_caller bob = { .uid = 1001, .gid = 1001, .pid = 43 };

static int
start_flags(struct wid_tasks *t, const struct wid_caller *who, const char *id,
            uint32_t ttl, uint64_t now, uint8_t flags, struct wid_task *ret)
{
	struct wid_start_req req;
	char reason[WID_REASON_MAX + 1];

	memset(&req, 0, sizeof(req));
	snprintf(req.id, sizeof(req.id), "%s", id);
	req.key_type = WID_KEY_EC_P256;
	req.ttl = ttl;
	req.executor_uid = WID_UID_NONE;
	req.flags = flags;
	return wid_tasks_start(t, &req, who, -1, now, 1700000000, ret, reason,
	    sizeof(reason));
}

static int
start(struct wid_tasks *t, const struct wid_caller *who, const char *id,
      uint32_t ttl, uint64_t now, struct wid_task *ret)
{
	return start_flags(t, who, id, ttl, now, 0, ret);
}

static int
collect(void *ctx, const struct wid_task *task)
{
	struct wid_task *out = ctx;

	*out = *task;
	return 0;
}

/* Task `id` as uid sees it; 0 if found. */
static int
find(struct wid_tasks *t, uint32_t uid, const char *id, struct wid_task *ret)
{
	uint64_t next;

	memset(ret, 0, sizeof(*ret));
	wid_tasks_list(t, uid, id, 0, collect, ret, &next);
	return ret->serial != 0 ? 0 : -1;
}

static int
sign(struct wid_tasks *t, uint32_t uid, uint64_t serial, uint64_t now,
     char *reason, size_t rlen)
{
	struct wid_sign_req req = { .serial = serial, .alg = WID_SIG_ECDSA };
	uint8_t data[32] = { 1 }, sig[WID_SIG_MAX];
	char id[WID_TASK_ID_MAX + 1];
	size_t len;

	req.data = data;
	req.data_len = sizeof(data);
	return wid_tasks_sign(t, uid, &req, now, NULL, sig, &len, id, reason,
	    rlen);
}

static void
test_insert_lookup_remove(void **state)
{
	struct wid_tasks *t = *state;
	struct wid_task a, b, got;
	char reason[WID_REASON_MAX + 1];

	assert_int_equal(start(t, &alice, "build-1", 60, 0, &a), 0);
	assert_string_equal(a.id, "build-1");
	assert_int_equal(a.state, WID_STATE_ACTIVE);
	assert_int_equal(a.requester_uid, 1000);
	assert_int_equal(a.expires, 1700000000 + 60);
	assert_int_equal(start(t, &alice, "", 60, 0, &b), 0);
	/* Generated ids: "t-" and 12 hex digits. */
	assert_int_equal(strlen(b.id), 14);
	assert_memory_equal(b.id, "t-", 2);
	assert_true(wid_task_id_valid(b.id));
	assert_int_not_equal(a.serial, b.serial);
	assert_int_equal(live_keys, 2);

	assert_int_equal(find(t, 1000, "build-1", &got), 0);
	assert_int_equal(got.serial, a.serial);
	assert_int_equal(sign(t, 1000, a.serial, 1, reason, sizeof(reason)),
	    0);
	assert_int_equal(find(t, 1000, "build-1", &got), 0);
	assert_int_equal(got.sign_count, 1);

	/* Duplicate id. */
	assert_int_equal(start(t, &bob, "build-1", 60, 0, &got),
	    WID_E_EXISTS);
	assert_int_equal(live_keys, 2);   /* the loser's key is gone */

	assert_int_equal(wid_tasks_end(t, "build-1", 1000, reason,
	    sizeof(reason)), 0);
	assert_int_equal(live_keys, 1);
	assert_int_not_equal(find(t, 1000, "build-1", &got), 0);
	assert_int_equal(sign(t, 1000, a.serial, 1, reason, sizeof(reason)),
	    WID_E_NOTASK);
	assert_int_equal(wid_tasks_end(t, "build-1", 1000, reason,
	    sizeof(reason)), WID_E_NOTASK);
	/* The id is free again, the serial is not reused. */
	assert_int_equal(start(t, &alice, "build-1", 60, 0, &got), 0);
	assert_true(got.serial > b.serial);
	assert_int_equal(signs, 1);
}

static void
test_many_tasks(void **state)
{
	struct wid_tasks *t = *state;
	struct wid_task task, got;
	char id[32], reason[WID_REASON_MAX + 1];
	uint64_t last = 0;
	int i;

	for (i = 0; i < 10000; i++) {
		snprintf(id, sizeof(id), "job-%d", i);
		assert_int_equal(start(t, &alice, id, 60 + (uint32_t)(i % 7),
		    0, &task), 0);
		assert_true(task.serial > last);
		last = task.serial;
	}
	assert_int_equal(live_keys, 10000);
	for (i = 0; i < 10000; i += 3) {
		snprintf(id, sizeof(id), "job-%d", i);
		assert_int_equal(find(t, 1000, id, &got), 0);
		assert_string_equal(got.id, id);
		assert_int_equal(sign(t, 1000, got.serial, 1, reason,
		    sizeof(reason)), 0);
	}
	for (i = 0; i < 10000; i += 2) {
		snprintf(id, sizeof(id), "job-%d", i);
		assert_int_equal(wid_tasks_end(t, id, 1000, reason,
		    sizeof(reason)), 0);
	}
	assert_int_equal(live_keys, 5000);
	for (i = 0; i < 10000; i++) {
		snprintf(id, sizeof(id), "job-%d", i);
		assert_int_equal(find(t, 1000, id, &got) == 0, i % 2 == 1);
	}
	/* A new task after deletions still gets a fresh serial. */
	assert_int_equal(start(t, &alice, "job-0", 60, 0, &task), 0);
	assert_true(task.serial > last);
}

static void
test_expiry_order(void **state)
{
	struct wid_tasks *t = *state;
	struct wid_task a, b, c, got;
	char reason[WID_REASON_MAX + 1];

	assert_int_equal(start(t, &alice, "late", 300, 0, &a), 0);
	assert_int_equal(start(t, &alice, "early", 100, 0, &b), 0);
	assert_int_equal(start(t, &alice, "mid", 200, 0, &c), 0);

	assert_int_equal(wid_tasks_expire(t, 99 * SEC), 0);
	assert_int_equal(wid_tasks_expire(t, 100 * SEC), 1);
	assert_int_not_equal(find(t, 1000, "early", &got), 0);
	assert_int_equal(find(t, 1000, "mid", &got), 0);
	assert_int_equal(live_keys, 2);

	/* Removing a task from the middle of the heap keeps the order. */
	assert_int_equal(wid_tasks_end(t, "mid", 1000, reason,
	    sizeof(reason)), 0);
	assert_int_equal(wid_tasks_expire(t, 299 * SEC), 0);
	assert_int_equal(find(t, 1000, "late", &got), 0);

	/* Past the deadline, signing fails before the timer runs. */
	assert_int_equal(sign(t, 1000, a.serial, 299 * SEC, reason,
	    sizeof(reason)), 0);
	assert_int_equal(sign(t, 1000, a.serial, 300 * SEC, reason,
	    sizeof(reason)), WID_E_EXPIRED);
	assert_non_null(strstr(reason, "task late expired at "));
	assert_non_null(strstr(reason, "2023-11-14T22:18:20Z"));
	assert_int_equal(wid_tasks_expire(t, 1000 * SEC), 1);
	assert_int_equal(live_keys, 0);
	assert_int_equal(sign(t, 1000, a.serial, 1000 * SEC, reason,
	    sizeof(reason)), WID_E_NOTASK);
}

static int
start_pending(struct wid_tasks *t, const char *id, uint32_t ttl,
              struct wid_task *ret)
{
	return start_flags(t, &alice, id, ttl, 0, WID_TASKS_START_PENDING, ret);
}

static void
assert_counts(struct wid_tasks *t, uint32_t active, uint32_t pending)
{
	uint32_t a = 99, p = 99;

	wid_tasks_counts(t, &a, &p);
	assert_int_equal(a, active);
	assert_int_equal(p, pending);
}

/* STATUS counts follow every way in and out of the pending state. */
static void
test_counts(void **state)
{
	struct wid_tasks *t = *state;
	struct wid_task got;
	char reason[WID_REASON_MAX + 1];

	assert_counts(t, 0, 0);
	assert_int_equal(start(t, &alice, "run", 100, 0, &got), 0);
	assert_int_equal(start_pending(t, "p-approve", 100, &got), 0);
	assert_int_equal(got.state, WID_STATE_PENDING);
	assert_int_equal(start_pending(t, "p-deny", 100, &got), 0);
	assert_int_equal(start_pending(t, "p-end", 100, &got), 0);
	assert_int_equal(start_pending(t, "p-expire", 50, &got), 0);
	assert_counts(t, 1, 4);

	assert_int_equal(wid_tasks_decide(t, "p-approve", 1, 1001, "bob",
	    &got, reason, sizeof(reason)), 0);
	assert_counts(t, 2, 3);
	/* Approving twice is refused and changes nothing. */
	assert_int_equal(wid_tasks_decide(t, "p-approve", 1, 1001, "bob",
	    &got, reason, sizeof(reason)), WID_E_BADARG);
	assert_counts(t, 2, 3);
	assert_int_equal(wid_tasks_decide(t, "p-deny", 0, 1001, "bob",
	    &got, reason, sizeof(reason)), 0);
	assert_counts(t, 2, 2);
	assert_int_equal(wid_tasks_end(t, "p-end", 1000, reason,
	    sizeof(reason)), 0);
	assert_counts(t, 2, 1);
	assert_int_equal(wid_tasks_expire(t, 50 * SEC), 1);
	assert_counts(t, 2, 0);
	assert_int_equal(wid_tasks_end(t, "p-approve", 1000, reason,
	    sizeof(reason)), 0);
	assert_int_equal(wid_tasks_expire(t, 100 * SEC), 1);
	assert_counts(t, 0, 0);
}

static void
test_expiry_random(void **state)
{
	struct wid_tasks *t = *state;
	struct wid_task task;
	char id[32];
	uint64_t now;
	int i;

	srand(7);
	for (i = 0; i < 2000; i++) {
		snprintf(id, sizeof(id), "r%d", i);
		assert_int_equal(start(t, &alice, id,
		    1 + (uint32_t)(rand() % 500), 0, &task), 0);
	}
	/* Each step expires exactly the tasks due, checked by counting the
	 * ones still visible. */
	for (now = 0; now < 540 * SEC; now += 37 * SEC) {
		size_t left = 0;

		wid_tasks_expire(t, now);
		for (i = 0; i < 2000; i++) {
			struct wid_task got;

			snprintf(id, sizeof(id), "r%d", i);
			if (find(t, 1000, id, &got) == 0) {
				left++;
				/* Nothing still listed is due. */
				assert_true((uint64_t)(got.expires -
				    1700000000) * SEC > now);
			}
		}
		assert_int_equal(left, (size_t)live_keys);
	}
	assert_int_equal(live_keys, 0);
}

static void
test_visibility(void **state)
{
	struct wid_tasks *t = *state;
	struct wid_start_req req;
	struct wid_task a, got;
	char reason[WID_REASON_MAX + 1];
	const struct wid_caller root = { .uid = 0, .pid = 1 };

	assert_int_equal(start(t, &alice, "mine", 60, 0, &a), 0);
	assert_int_equal(find(t, 1000, "mine", &got), 0);
	/* Other uids, root included, see nothing and can do nothing. */
	assert_int_not_equal(find(t, 1001, "mine", &got), 0);
	assert_int_not_equal(find(t, 0, "mine", &got), 0);
	assert_int_equal(sign(t, 1001, a.serial, 1, reason, sizeof(reason)),
	    WID_E_NOTASK);
	assert_int_equal(sign(t, 0, a.serial, 1, reason, sizeof(reason)),
	    WID_E_NOTASK);
	assert_int_equal(wid_tasks_end(t, "mine", 1001, reason,
	    sizeof(reason)), WID_E_NOTASK);
	assert_int_equal(wid_tasks_end(t, "mine", 0, reason, sizeof(reason)),
	    WID_E_NOTASK);
	/* Same message as for a task that does not exist. */
	assert_int_equal(sign(t, 1001, 9999, 1, reason, sizeof(reason)),
	    WID_E_NOTASK);
	assert_string_equal(reason, "no key with serial 9999");

	/* Root starts a task for uid 1001: 1001 sees and uses it, root
	 * does not, both may end it. */
	memset(&req, 0, sizeof(req));
	snprintf(req.id, sizeof(req.id), "for-bob");
	req.key_type = WID_KEY_EC_P256;
	req.ttl = 60;
	req.executor_uid = 1001;
	assert_int_equal(wid_tasks_start(t, &req, &root, -1, 0, 0, &a, reason,
	    sizeof(reason)), 0);
	assert_int_equal(find(t, 1001, "for-bob", &got), 0);
	assert_int_not_equal(find(t, 0, "for-bob", &got), 0);
	assert_int_equal(sign(t, 1001, a.serial, 1, reason, sizeof(reason)),
	    0);
	assert_int_equal(sign(t, 0, a.serial, 1, reason, sizeof(reason)),
	    WID_E_NOTASK);
	assert_int_equal(wid_tasks_end(t, "for-bob", 1000, reason,
	    sizeof(reason)), WID_E_NOTASK);
	assert_int_equal(wid_tasks_end(t, "for-bob", 0, reason,
	    sizeof(reason)), 0);
	assert_int_equal(wid_tasks_end(t, "mine", 1000, reason,
	    sizeof(reason)), 0);
	assert_int_equal(live_keys, 0);
}

struct page {
	int n, max;
	uint64_t serials[64];
};

static int
page_cb(void *ctx, const struct wid_task *task)
{
	struct page *p = ctx;

	if (p->n == p->max)
		return 1;
	p->serials[p->n++] = task->serial;
	return 0;
}

static void
test_list_paging(void **state)
{
	struct wid_tasks *t = *state;
	struct wid_task task;
	char id[32], reason[WID_REASON_MAX + 1];
	uint64_t cursor = 0, prev = 0;
	int i, total = 0;

	for (i = 0; i < 30; i++) {
		snprintf(id, sizeof(id), "p%d", i);
		assert_int_equal(start(t, i % 3 == 0 ? &bob : &alice, id, 60,
		    0, &task), 0);
	}
	do {
		struct page p = { .max = 4 };

		assert_int_equal(wid_tasks_list(t, 1000, NULL, cursor, page_cb,
		    &p, &cursor), 0);
		for (i = 0; i < p.n; i++) {
			assert_true(p.serials[i] > prev);
			prev = p.serials[i];
		}
		total += p.n;
		/* The task at the cursor going away must not break paging. */
		if (cursor != 0 && total == 8) {
			snprintf(id, sizeof(id), "p%d", (int)cursor - 1);
			assert_int_equal(wid_tasks_end(t, id, 1000, reason,
			    sizeof(reason)), 0);
		}
	} while (cursor != 0);
	assert_int_equal(total, 19);   /* 20 of alice's, one ended */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_insert_lookup_remove,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_tasks, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_expiry_order, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_counts, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_expiry_random, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_visibility, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_list_paging, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
