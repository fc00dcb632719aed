/* tests/unit/test_audit.c: the audit log chains, signs and verifies every
 * event type; the verifier names the first bad line for edits, deletions,
 * reordering, truncation and forged checkpoints (also when the attacker
 * recomputes the hash chain); restarts continue the chain; appends fail
 * closed and leave the file unchanged. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/bio.h>

#include "wid/err.h"
#include "audit.h"

static char dir[64];
static char logpath[256];

static int
setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/wid-audit-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(logpath, sizeof(logpath), "%s/audit.log", dir);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- file helpers ---- */

struct lines {
	char *v[512];
	size_t n;
};

static void
read_lines(const char *path, struct lines *l)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;

	assert_non_null(f);
	l->n = 0;
	while (getline(&line, &cap, f) > 0) {
		assert_true(l->n < 512);
		l->v[l->n++] = strdup(line);
	}
	free(line);
	fclose(f);
}

static void
write_lines(const char *path, struct lines *l)
{
	FILE *f = fopen(path, "w");
	size_t i;

	assert_non_null(f);
	for (i = 0; i < l->n; i++)
		fputs(l->v[i], f);
	fclose(f);
}

static void
free_lines(struct lines *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	l->n = 0;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* 1-based number of the first line with "event":"<ev>", from `from`. */
static size_t
find_event(struct lines *l, const char *ev, size_t from)
{
	char pat[64];
	size_t i;

	snprintf(pat, sizeof(pat), "\"event\":\"%s\"", ev);
	for (i = from - 1; i < l->n; i++)
		if (strstr(l->v[i], pat) != NULL)
			return i + 1;
	fail_msg("no %s event", ev);
	return 0;
}

static void
hexs(const uint8_t *in, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", in[i]);
}

/* What an attacker without the audit key can do: recompute prev and hash
 * of every line from `first` (1-based) on, so only signatures tell. */
static void
rechain(struct lines *l, size_t first)
{
	uint8_t prev[32] = { 0 }, h[32];
	char hex[65], *p, *line;
	size_t i, len, blen;
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	for (i = 0; i < l->n; i++) {
		line = l->v[i];
		len = strlen(line);
		blen = len - 1 - (9 + 64 + 2);
		if (i + 1 >= first) {
			hexs(prev, 32, hex);
			p = strstr(line, "\"prev\":\"");
			assert_non_null(p);
			memcpy(p + 8, hex, 64);
			assert_int_equal(EVP_DigestInit_ex(c, EVP_sha256(), NULL), 1);
			EVP_DigestUpdate(c, prev, 32);
			EVP_DigestUpdate(c, line, blen);
			EVP_DigestFinal_ex(c, h, NULL);
			hexs(h, 32, hex);
			memcpy(line + blen + 9, hex, 64);
		}
		/* the line's own hash is the next prev */
		for (size_t k = 0; k < 32; k++) {
			unsigned v;
			sscanf(line + blen + 9 + 2 * k, "%2x", &v);
			prev[k] = (uint8_t)v;
		}
	}
	EVP_MD_CTX_free(c);
}

/* ---- writing ---- */

static struct audit_log *
open_log(unsigned cp_every, char *pem, size_t pemlen)
{
	struct audit_config cfg = { .path = logpath, .sync = AUDIT_SYNC_EVERY,
	    .checkpoint_every = cp_every };
	struct audit_event start = AUDIT_EVENT_INIT(AUDIT_AGENT_START);
	struct audit_log *log = NULL;
	char err[256];

	start.executor.pid = getpid();
	start.reason = "unit test";
	assert_int_equal(audit_open(&cfg, &start, &log, err, sizeof(err)), WID_OK);
	assert_non_null(log);
	if (pem != NULL)
		assert_int_equal(audit_pubkey_pem(log, pem, pemlen), WID_OK);
	return log;
}

static const uint8_t secret_input[] = "SECRET-SIGNED-INPUT-1234";

static void
emit_all(struct audit_log *log, const char *task)
{
	static const int types[] = {
		AUDIT_POLICY_LOAD, AUDIT_TASK_REQUESTED, AUDIT_TASK_APPROVED,
		AUDIT_TASK_DENIED, AUDIT_TASK_STARTED, AUDIT_SIGN_ALLOWED,
		AUDIT_SIGN_DENIED, AUDIT_TASK_ENDED, AUDIT_TASK_EXPIRED,
		AUDIT_TASK_REVOKED, AUDIT_CERT_ISSUED,
	};
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct audit_event ev = AUDIT_EVENT_INIT(types[i]);

		ev.task = task;
		ev.requester.uid = 1000;
		ev.requester.user = "alice";
		ev.requester.claimed = "ci-bot \"quoted\"";
		if (types[i] == AUDIT_TASK_APPROVED) {
			ev.approver.uid = 1001;
			ev.approver.user = "bob";
		}
		ev.executor.uid = 1000;
		ev.executor.gid = 1000;
		ev.executor.pid = 4242;
		ev.executor.exe = "/usr/bin/ssh";
		ev.executor.cgroup = "/user.slice/user-1000.slice";
		if (types[i] == AUDIT_SIGN_ALLOWED || types[i] == AUDIT_SIGN_DENIED) {
			ev.key = "SHA256:abcd";
			ev.mech = "ECDSA";
			ev.input = secret_input;
			ev.input_len = sizeof(secret_input) - 1;
			ev.decision = types[i] == AUDIT_SIGN_ALLOWED ? "allow" : "deny";
			ev.rule = "ci-ssh";
		}
		if (types[i] == AUDIT_POLICY_LOAD)
			ev.policy_sha256 = "00ff";
		ev.reason = "test";
		assert_int_equal(audit_emit(log, &ev), WID_OK);
	}
}

/* agent-start, checkpoint, 10 events with checkpoints every 4, agent-stop,
 * final checkpoint. */
static void
write_log(char *pem, size_t pemlen)
{
	struct audit_log *log = open_log(4, pem, pemlen);

	emit_all(log, "t1");
	assert_int_equal(audit_close(log, "done"), WID_OK);
}

static void
verify_ok(const char *pem, struct audit_verify_result *res)
{
	int r = audit_verify_file(logpath, pem, res);

	if (r != WID_OK)
		fail_msg("verify: line %lu: %s", (unsigned long)res->bad_line,
		    res->reason);
}

static void
verify_bad(size_t line, const char *why)
{
	struct audit_verify_result res;

	assert_int_equal(audit_verify_file(logpath, NULL, &res), WID_E_AUDIT);
	if (res.bad_line != line || strstr(res.reason, why) == NULL)
		fail_msg("expected line %zu (%s), got line %lu: %s", line, why,
		    (unsigned long)res.bad_line, res.reason);
}

/* ---- tests ---- */

static void
test_all_events_verify(void **state)
{
	struct audit_verify_result res;
	struct lines l;
	uint8_t md[32];
	char hex[65], *all;
	size_t len, i;
	int t;

	write_log(NULL, 0);
	verify_ok(NULL, &res);
	assert_string_equal(res.warning, "");
	assert_int_equal(res.closed, 1);
	assert_int_equal(res.sessions, 1);
	assert_int_equal(res.keys, 1);
	assert_int_equal(res.unsigned_tail, 0);
	read_lines(logpath, &l);
	assert_int_equal(res.lines, l.n);
	assert_int_equal(res.last_seq, l.n);
	/* start, cp, 4 ev, cp, 4 ev, cp, 3 ev, stop, final cp */
	assert_int_equal(l.n, 17);
	assert_int_equal(res.checkpoints, 4);
	for (t = 0; t < AUDIT__MAX; t++)
		find_event(&l, audit_event_name(t), 1);
	/* fixed order: seq first, prev right before hash, hash last */
	for (i = 0; i < l.n; i++) {
		assert_memory_equal(l.v[i], "{\"seq\":", 7);
		assert_non_null(strstr(l.v[i], ",\"prev\":\""));
		assert_int_equal(strstr(l.v[i], "\"prev\":\"") + 8 + 64 + 2 -
		    l.v[i], strstr(l.v[i], "\"hash\":\"") - l.v[i]);
	}
	assert_memory_equal(strstr(l.v[0], "\"prev\":\"") + 8,
	    "0000000000000000000000000000000000000000000000000000000000000000", 64);
	/* the input is hashed, never written */
	all = slurp(logpath, &len);
	assert_null(strstr(all, "SECRET-SIGNED-INPUT"));
	SHA256(secret_input, sizeof(secret_input) - 1, md);
	hexs(md, 32, hex);
	assert_non_null(strstr(all, hex));
	assert_non_null(strstr(all, "\"claimed\":\"ci-bot \\\"quoted\\\"\""));
	assert_non_null(strstr(all, "\"exe\":\"/usr/bin/ssh\""));
	free(all);
	free_lines(&l);
}

static void
test_edit_one_byte(void **state)
{
	struct lines l;
	size_t n;
	char *p;

	write_log(NULL, 0);
	read_lines(logpath, &l);
	n = find_event(&l, "sign-allowed", 1);
	p = strstr(l.v[n - 1], "\"t1\"");
	assert_non_null(p);
	p[2] = '2';
	write_lines(logpath, &l);
	verify_bad(n, "hash does not match");
	free_lines(&l);
}

static void
test_edit_and_rechain(void **state)
{
	struct lines l;
	size_t n, cp;
	char *p;

	/* the attacker recomputes every hash after the edit: the next
	 * checkpoint no longer covers the chain */
	write_log(NULL, 0);
	read_lines(logpath, &l);
	n = find_event(&l, "sign-denied", 1);
	p = strstr(l.v[n - 1], "\"deny\"");
	assert_non_null(p);
	memcpy(p + 1, "DENY", 4);
	rechain(&l, n);
	write_lines(logpath, &l);
	cp = find_event(&l, "checkpoint", n);
	verify_bad(cp, "checkpoint does not cover");
	free_lines(&l);
}

static void
test_delete_line(void **state)
{
	struct lines l;

	write_log(NULL, 0);
	read_lines(logpath, &l);
	free(l.v[4]);
	memmove(&l.v[4], &l.v[5], (l.n - 5) * sizeof(char *));
	l.n--;
	write_lines(logpath, &l);
	verify_bad(5, "seq 6 where 5 was expected");
	free_lines(&l);
}

static void
test_delete_line_rechained(void **state)
{
	struct lines l;
	size_t cp;

	/* even with seq fixed and the chain recomputed, the checkpoint
	 * signature catches it */
	write_log(NULL, 0);
	read_lines(logpath, &l);
	free(l.v[3]);
	memmove(&l.v[3], &l.v[4], (l.n - 4) * sizeof(char *));
	l.n--;
	for (size_t i = 3; i < l.n; i++) {
		char buf[4096];
		unsigned long seq;
		char *rest;

		seq = strtoul(l.v[i] + 7, &rest, 10);
		snprintf(buf, sizeof(buf), "{\"seq\":%lu%s", seq - 1, rest);
		free(l.v[i]);
		l.v[i] = strdup(buf);
	}
	rechain(&l, 4);
	write_lines(logpath, &l);
	cp = find_event(&l, "checkpoint", 4);
	verify_bad(cp, "checkpoint");
	free_lines(&l);
}

static void
test_swap_lines(void **state)
{
	struct lines l;
	char *t;

	write_log(NULL, 0);
	read_lines(logpath, &l);
	t = l.v[6];
	l.v[6] = l.v[7];
	l.v[7] = t;
	write_lines(logpath, &l);
	verify_bad(7, "expected");
	free_lines(&l);
}

static void
test_truncate_after_checkpoint(void **state)
{
	struct audit_verify_result res;
	struct lines l;
	char want[64];
	size_t cp, all;

	write_log(NULL, 0);
	read_lines(logpath, &l);
	all = l.n;
	cp = find_event(&l, "checkpoint", 3);  /* a periodic one */
	assert_true(cp < all - 2);
	while (l.n > cp)
		free(l.v[--l.n]);
	write_lines(logpath, &l);
	verify_ok(NULL, &res);
	assert_int_equal(res.closed, 0);
	assert_int_equal(res.unsigned_tail, 0);
	snprintf(want, sizeof(want), "truncated after line %zu", cp);
	if (strstr(res.warning, want) == NULL)
		fail_msg("warning: %s", res.warning);

	/* one more line gone: still a warning, naming the unsigned tail */
	free(l.v[--l.n]);
	write_lines(logpath, &l);
	verify_ok(NULL, &res);
	assert_int_equal(res.unsigned_tail, 4);
	assert_non_null(strstr(res.warning, "4 events after the last checkpoint"));
	free_lines(&l);
}

static void
test_truncate_mid_line(void **state)
{
	size_t len;
	char *all = slurp((write_log(NULL, 0), logpath), &len);

	assert_int_equal(truncate(logpath, (off_t)len - 10), 0);
	verify_bad(17, "truncated");
	free(all);
}

static void
test_forged_checkpoint(void **state)
{
	struct lines l;
	EVP_PKEY *evil;
	EVP_MD_CTX *ctx;
	uint8_t sig[64];
	size_t siglen = sizeof(sig), cp;
	char b64[100], msg[200], head[65], *p, *q;
	unsigned long seq;

	write_log(NULL, 0);
	read_lines(logpath, &l);
	cp = find_event(&l, "checkpoint", 3);
	/* sign the right message with another key, then fix the chain */
	p = strstr(l.v[cp - 1], "\"checkpoint\":{\"seq\":");
	assert_non_null(p);
	seq = strtoul(p + 20, NULL, 10);
	q = strstr(p, "\"head\":\"");
	memcpy(head, q + 8, 64);
	head[64] = '\0';
	snprintf(msg, sizeof(msg), "wid-audit-checkpoint-v1 seq=%lu head=%s final=0",
	    seq, head);
	evil = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	ctx = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, evil), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &siglen, (uint8_t *)msg,
	    strlen(msg)), 1);
	EVP_EncodeBlock((unsigned char *)b64, sig, 64);
	q = strstr(p, "\"sig\":\"");
	assert_non_null(q);
	memcpy(q + 7, b64, 88);
	rechain(&l, cp);
	write_lines(logpath, &l);
	verify_bad(cp, "signature does not verify");
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(evil);
	free_lines(&l);
}

static void
test_pinned_key(void **state)
{
	struct audit_verify_result res;
	char pem[512], other[512];
	EVP_PKEY *k;
	BIO *b;
	long n;
	char *p;

	write_log(pem, sizeof(pem));
	verify_ok(pem, &res);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	b = BIO_new(BIO_s_mem());
	PEM_write_bio_PUBKEY(b, k);
	n = BIO_get_mem_data(b, &p);
	memcpy(other, p, (size_t)n);
	other[n] = '\0';
	assert_int_equal(audit_verify_file(logpath, other, &res), WID_E_AUDIT);
	assert_int_equal(res.bad_line, 1);
	assert_non_null(strstr(res.reason, "pinned"));
	assert_int_equal(audit_verify_file(logpath, "garbage", &res), WID_E_BADARG);
	BIO_free(b);
	EVP_PKEY_free(k);
}

static void
test_persistent_key_pinned_across_restarts(void **state)
{
	struct audit_config cfg = { .path = logpath, .sync = AUDIT_SYNC_NONE };
	struct audit_verify_result res;
	struct audit_log *log;
	char pem[512];
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	int i;

	cfg.key = k;
	for (i = 0; i < 2; i++) {
		assert_int_equal(audit_open(&cfg, NULL, &log, NULL, 0), WID_OK);
		assert_int_equal(audit_pubkey_pem(log, pem, sizeof(pem)), WID_OK);
		emit_all(log, "t");
		assert_int_equal(audit_close(log, NULL), WID_OK);
	}
	verify_ok(pem, &res);
	assert_int_equal(res.sessions, 2);
	assert_int_equal(res.keys, 1);
	EVP_PKEY_free(k);
}

static void
test_restart_continues(void **state)
{
	struct audit_verify_result res;
	struct audit_log *log;
	struct lines l;

	write_log(NULL, 0);
	log = open_log(100, NULL, 0);
	assert_int_equal(audit_seq(log), 19);  /* 17 + start + checkpoint */
	emit_all(log, "t2");
	assert_int_equal(audit_close(log, NULL), WID_OK);
	verify_ok(NULL, &res);
	assert_int_equal(res.sessions, 2);
	assert_int_equal(res.keys, 2);
	assert_int_equal(res.unclean, 0);
	assert_int_equal(res.closed, 1);
	read_lines(logpath, &l);
	assert_int_equal(res.last_seq, l.n);
	free_lines(&l);
}

static void
test_restart_after_crash(void **state)
{
	struct audit_verify_result res;
	struct audit_log *log;
	pid_t pid;
	int st;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		log = open_log(100, NULL, 0);
		emit_all(log, "t1");
		_exit(0);               /* no agent-stop, no final checkpoint */
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	verify_ok(NULL, &res);
	assert_int_equal(res.unsigned_tail, 11);
	log = open_log(100, NULL, 0);
	assert_int_equal(audit_close(log, NULL), WID_OK);
	verify_ok(NULL, &res);
	assert_int_equal(res.unclean, 1);
	assert_non_null(strstr(res.warning, "line 14: agent restarted without"));
}

static void
test_restart_refuses_bad_tail(void **state)
{
	struct audit_config cfg = { .path = logpath };
	struct audit_log *log = NULL;
	char err[256];
	size_t len;
	char *all;
	int fd;

	write_log(NULL, 0);
	all = slurp(logpath, &len);
	/* partial last line */
	fd = open(logpath, O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, "{\"seq\":19,", 10), 10);
	close(fd);
	assert_int_equal(audit_open(&cfg, NULL, &log, err, sizeof(err)), WID_E_AUDIT);
	assert_null(log);
	assert_non_null(strstr(err, "audit.log:18: last line is incomplete"));
	/* edited last line */
	all[len - 5] = all[len - 5] == 'a' ? 'b' : 'a';
	fd = open(logpath, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, all, len), (ssize_t)len);
	close(fd);
	assert_int_equal(audit_open(&cfg, NULL, &log, err, sizeof(err)), WID_E_AUDIT);
	assert_non_null(strstr(err, "audit.log:17: last line is bad"));
	free(all);
}

static void
test_fail_closed_partial_write(void **state)
{
	struct audit_event ev = AUDIT_EVENT_INIT(AUDIT_SIGN_ALLOWED);
	struct audit_verify_result res;
	struct audit_log *log;
	struct rlimit old, lim;
	char *before, *after;
	size_t blen, alen;
	struct stat st;

	log = open_log(100, NULL, 0);
	ev.task = "t1";
	assert_int_equal(audit_emit(log, &ev), WID_OK);
	before = slurp(logpath, &blen);
	assert_int_equal(stat(logpath, &st), 0);
	/* the kernel lets 20 bytes through, then EFBIG */
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)st.st_size + 20;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(audit_emit(log, &ev), WID_E_AUDIT);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	after = slurp(logpath, &alen);
	assert_int_equal(alen, blen);
	assert_memory_equal(before, after, blen);
	/* not sticky: the file is consistent, the next event goes in */
	assert_int_equal(audit_emit(log, &ev), WID_OK);
	assert_int_equal(audit_close(log, NULL), WID_OK);
	verify_ok(NULL, &res);
	free(before);
	free(after);
}

static void
test_fail_closed_enospc(void **state)
{
	struct audit_event ev = AUDIT_EVENT_INIT(AUDIT_SIGN_ALLOWED);
	struct audit_verify_result res;
	struct audit_log *log;
	char mnt[96], filler[160], buf[4096], *before, *after;
	size_t blen, alen;
	int fd, fails = 0, i;

	/* a real full filesystem: a small tmpfs in a private mount ns */
	if (unshare(CLONE_NEWNS) != 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		skip();
	snprintf(mnt, sizeof(mnt), "%s/mnt", dir);
	assert_int_equal(mkdir(mnt, 0700), 0);
	assert_int_equal(mount("tmpfs", mnt, "tmpfs", 0, "size=64k"), 0);
	snprintf(logpath, sizeof(logpath), "%s/audit.log", mnt);
	log = open_log(100, NULL, 0);
	snprintf(filler, sizeof(filler), "%s/filler", mnt);
	fd = open(filler, O_WRONLY | O_CREAT, 0600);
	memset(buf, 'x', sizeof(buf));
	while (write(fd, buf, sizeof(buf)) > 0)
		;
	while (write(fd, buf, 1) > 0)
		;
	close(fd);
	ev.task = "t1";
	/* fills the log's last page (the failing write may be partial),
	 * then fails and leaves the file as it was */
	for (i = 0; i < 200 && fails == 0; i++) {
		before = slurp(logpath, &blen);
		if (audit_emit(log, &ev) != WID_OK) {
			fails++;
			after = slurp(logpath, &alen);
			assert_int_equal(alen, blen);
			assert_memory_equal(before, after, blen);
			free(after);
		}
		free(before);
	}
	assert_int_equal(fails, 1);
	before = slurp(logpath, &blen);
	assert_int_equal(audit_emit(log, &ev), WID_E_AUDIT);
	after = slurp(logpath, &alen);
	assert_int_equal(alen, blen);
	assert_memory_equal(before, after, blen);
	unlink(filler);
	assert_int_equal(audit_emit(log, &ev), WID_OK);
	assert_int_equal(audit_close(log, NULL), WID_OK);
	verify_ok(NULL, &res);
	assert_int_equal(res.closed, 1);
	assert_int_equal(umount(mnt), 0);
	snprintf(logpath, sizeof(logpath), "%s/audit.log", dir);
	free(before);
	free(after);
}

static void
test_removed_or_replaced(void **state)
{
	struct audit_event ev = AUDIT_EVENT_INIT(AUDIT_TASK_STARTED);
	struct audit_log *log;
	char other[160];
	int fd;

	log = open_log(100, NULL, 0);
	assert_int_equal(unlink(logpath), 0);
	assert_int_equal(audit_emit(log, &ev), WID_E_AUDIT);
	audit_close(log, NULL);

	log = open_log(100, NULL, 0);
	snprintf(other, sizeof(other), "%s/other", dir);
	fd = open(other, O_WRONLY | O_CREAT, 0600);
	close(fd);
	assert_int_equal(rename(other, logpath), 0);
	assert_int_equal(audit_emit(log, &ev), WID_E_AUDIT);
	audit_close(log, NULL);

	/* someone else truncates it while we run */
	unlink(logpath);
	log = open_log(100, NULL, 0);
	assert_int_equal(truncate(logpath, 10), 0);
	assert_int_equal(audit_emit(log, &ev), WID_E_AUDIT);
	audit_close(log, NULL);
}

static void
test_dev_full_refused(void **state)
{
	struct audit_config cfg = { .path = "/dev/full" };
	struct audit_log *log = NULL;
	char err[256];

	assert_int_equal(audit_open(&cfg, NULL, &log, err, sizeof(err)), WID_E_AUDIT);
	assert_null(log);
	assert_non_null(strstr(err, "not a regular file"));
}

static void
test_emit_bad_args(void **state)
{
	struct audit_event ev = AUDIT_EVENT_INIT(AUDIT_CHECKPOINT);
	struct audit_event big = AUDIT_EVENT_INIT(AUDIT_TASK_STARTED);
	struct audit_log *log = open_log(100, NULL, 0);
	char *huge = malloc(40000);

	assert_int_equal(audit_emit(log, &ev), WID_E_BADARG);
	ev.type = AUDIT_AGENT_START;
	assert_int_equal(audit_emit(log, &ev), WID_E_BADARG);
	memset(huge, 'a', 39999);
	huge[39999] = '\0';
	big.reason = huge;
	assert_int_equal(audit_emit(log, &big), WID_E_BADARG);
	assert_int_equal(audit_close(log, NULL), WID_OK);
	free(huge);
}

struct thr {
	struct audit_log *log;
	int failed;
};

static void *
thr_main(void *arg)
{
	struct thr *t = arg;
	int i;

	for (i = 0; i < 300; i++) {
		struct audit_event ev = AUDIT_EVENT_INIT(AUDIT_SIGN_ALLOWED);

		ev.task = "t";
		ev.input = (const uint8_t *)&i;
		ev.input_len = sizeof(i);
		if (audit_emit(t->log, &ev) != WID_OK)
			t->failed++;
	}
	return NULL;
}

static void
test_threads(void **state)
{
	struct audit_config cfg = { .path = logpath, .sync = AUDIT_SYNC_BATCH,
	    .batch = 16, .checkpoint_every = 50 };
	struct audit_verify_result res;
	struct thr t[2];
	pthread_t th[2];
	int i;

	memset(t, 0, sizeof(t));
	assert_int_equal(audit_open(&cfg, NULL, &t[0].log, NULL, 0), WID_OK);
	t[1].log = t[0].log;
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, thr_main, &t[i]), 0);
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	assert_int_equal(t[0].failed + t[1].failed, 0);
	assert_int_equal(audit_close(t[0].log, NULL), WID_OK);
	verify_ok(NULL, &res);
	/* 600 events, start, stop; first, 11 periodic and final checkpoints */
	assert_int_equal(res.last_seq, 600 + 2 + 1 + 11 + 1);
}

static void
test_show(void **state)
{
	struct audit_log *log;
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	log = open_log(100, NULL, 0);
	emit_all(log, "alpha");
	emit_all(log, "beta");
	assert_int_equal(audit_close(log, NULL), WID_OK);

	f = open_memstream(&out, &len);
	assert_int_equal(audit_show_file(logpath, "beta", NULL, 0, f), WID_OK);
	fclose(f);
	assert_non_null(strstr(out, "task=beta"));
	assert_null(strstr(out, "task=alpha"));
	assert_non_null(strstr(out, "sign-allowed"));
	assert_non_null(strstr(out, "exe=/usr/bin/ssh"));
	free(out);

	f = open_memstream(&out, &len);
	assert_int_equal(audit_show_file(logpath, "alpha", NULL, 1, f), WID_OK);
	fclose(f);
	assert_memory_equal(out, "{\"seq\":3,", 9);
	free(out);

	f = open_memstream(&out, &len);
	assert_int_equal(audit_show_file(logpath, NULL, "2999-01-01", 0, f), WID_OK);
	fclose(f);
	assert_int_equal(len, 0);
	free(out);

	f = open_memstream(&out, &len);
	assert_int_equal(audit_show_file(logpath, NULL, "2000-01-01", 0, f), WID_OK);
	fclose(f);
	assert_non_null(strstr(out, "agent-stop"));
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_all_events_verify),
		T(test_edit_one_byte),
		T(test_edit_and_rechain),
		T(test_delete_line),
		T(test_delete_line_rechained),
		T(test_swap_lines),
		T(test_truncate_after_checkpoint),
		T(test_truncate_mid_line),
		T(test_forged_checkpoint),
		T(test_pinned_key),
		T(test_persistent_key_pinned_across_restarts),
		T(test_restart_continues),
		T(test_restart_after_crash),
		T(test_restart_refuses_bad_tail),
		T(test_fail_closed_partial_write),
		T(test_fail_closed_enospc),
		T(test_removed_or_replaced),
		T(test_dev_full_refused),
		T(test_emit_bad_args),
		T(test_threads),
		T(test_show),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
