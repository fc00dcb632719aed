/* tools/agent/audit.c: the audit log writer (hash chain, signed
 * checkpoints, fail-closed appends, syslog mirror), its verifier and its
 * timeline printer.  The format is defined in audit.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "wid/err.h"
#include "audit.h"

#define AUDIT_LINE_MAX (32u * 1024u)
#define HASH_LEN 32
#define HEX_LEN (2 * HASH_LEN)
#define ED25519_LEN 32
#define ED25519_SIG_LEN 64
#define HASH_SEP ",\"hash\":\""
#define HASH_SEP_LEN (sizeof(HASH_SEP) - 1)
/* suffix: ,"hash":"<64 hex>"} */
#define SUFFIX_LEN (HASH_SEP_LEN + HEX_LEN + 2)
#define CP_MAGIC "wid-audit-checkpoint-v1"

struct audit_log {
	pthread_mutex_t lock;
	int fd;
	char *path;
	dev_t dev;
	ino_t ino;
	off_t size;                 /* file size after our last append */
	uint64_t seq;               /* last seq written */
	uint8_t prev[HASH_LEN];     /* hash of the last line */
	uint64_t since_cp;          /* events since the last checkpoint */
	unsigned cp_every;
	enum audit_sync sync;
	unsigned batch;
	unsigned unsynced;
	bool failed;
	bool syslog;
	EVP_PKEY *key;
};

static const char *const event_names[AUDIT__MAX] = {
	[AUDIT_AGENT_START] = "agent-start",
	[AUDIT_AGENT_STOP] = "agent-stop",
	[AUDIT_POLICY_LOAD] = "policy-load",
	[AUDIT_TASK_REQUESTED] = "task-requested",
	[AUDIT_TASK_APPROVED] = "task-approved",
	[AUDIT_TASK_DENIED] = "task-denied",
	[AUDIT_TASK_STARTED] = "task-started",
	[AUDIT_TASK_ENDED] = "task-ended",
	[AUDIT_TASK_EXPIRED] = "task-expired",
	[AUDIT_TASK_REVOKED] = "task-revoked",
	[AUDIT_SIGN_ALLOWED] = "sign-allowed",
	[AUDIT_SIGN_DENIED] = "sign-denied",
	[AUDIT_CHECKPOINT] = "checkpoint",
	[AUDIT_CERT_ISSUED] = "cert-issued",
};

const char *
audit_event_name(int type)
{
	if (type < 0 || type >= AUDIT__MAX)
		return NULL;
	return event_names[type];
}

static int
event_parse(const char *name)
{
	int t;

	for (t = 0; t < AUDIT__MAX; t++)
		if (strcmp(name, event_names[t]) == 0)
			return t;
	return -1;
}

static void seterr(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (buf == NULL || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

static void
hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * len] = '\0';
}

/* Lowercase hex only, exactly 2*len digits. */
static int
hex_decode(const char *in, size_t inlen, uint8_t *out, size_t len)
{
	size_t i;
	int hi, lo;

	if (inlen != 2 * len)
		return -1;
	for (i = 0; i < len; i++) {
		hi = in[2 * i];
		lo = in[2 * i + 1];
		hi = (hi >= '0' && hi <= '9') ? hi - '0' :
		    (hi >= 'a' && hi <= 'f') ? hi - 'a' + 10 : -1;
		lo = (lo >= '0' && lo <= '9') ? lo - '0' :
		    (lo >= 'a' && lo <= 'f') ? lo - 'a' + 10 : -1;
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void
sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *
sha256(void)
{
	pthread_once(&sha256_once, sha256_fetch);
	return sha256_md;
}

/* H = SHA-256(prev || B); the digest is fetched once. */
static int
chain_hash(const uint8_t prev[HASH_LEN], const char *b, size_t blen,
    uint8_t out[HASH_LEN])
{
	EVP_MD_CTX *ctx;
	int ok;

	if (sha256() == NULL || (ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestInit_ex(ctx, sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, prev, HASH_LEN) == 1 &&
	    EVP_DigestUpdate(ctx, b, blen) == 1 &&
	    EVP_DigestFinal_ex(ctx, out, NULL) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

static void
cp_message(char *buf, size_t len, uint64_t seq, const char *head_hex, int final)
{
	snprintf(buf, len, CP_MAGIC " seq=%" PRIu64 " head=%s final=%d",
	    seq, head_hex, final ? 1 : 0);
}

static void
now_rfc3339(char buf[32])
{
	struct timespec ts;
	struct tm tm;
	char base[24];
	int ms;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	ms = (int)(ts.tv_nsec / 1000000L) % 1000;
	snprintf(buf, 32, "%.19s.%03dZ", base, ms);
}

static int
add_str(json_object *o, const char *k, const char *v)
{
	json_object *s;

	if (v == NULL)
		return 0;
	if ((s = json_object_new_string(v)) == NULL)
		return -1;
	if (json_object_object_add(o, k, s) != 0) {
		json_object_put(s);
		return -1;
	}
	return 0;
}

static int
add_int(json_object *o, const char *k, int64_t v)
{
	json_object *i;

	if (v == AUDIT_ID_NONE)
		return 0;
	if ((i = json_object_new_int64(v)) == NULL)
		return -1;
	if (json_object_object_add(o, k, i) != 0) {
		json_object_put(i);
		return -1;
	}
	return 0;
}

/* Adds an empty sub-object `k` owned by o (see drop_empty). */
static json_object *
new_sub(json_object *o, const char *k)
{
	json_object *sub;

	if ((sub = json_object_new_object()) == NULL)
		return NULL;
	if (json_object_object_add(o, k, sub) != 0) {
		json_object_put(sub);
		return NULL;
	}
	return sub;
}

static void
drop_empty(json_object *o, const char *k, json_object *sub)
{
	if (json_object_object_length(sub) == 0)
		json_object_object_del(o, k);
}

/* The fields before the type-specific ones and before prev. */
static int
build_event(const struct audit_log *log, const struct audit_event *ev,
    json_object **ret_obj)
{
	json_object *o = NULL, *sub;
	char tbuf[32], hex[HEX_LEN + 1];
	uint8_t md[HASH_LEN];
	int r = WID_E_NOMEM;

	*ret_obj = NULL;
	if ((o = json_object_new_object()) == NULL)
		goto out;
	now_rfc3339(tbuf);
	if (json_object_object_add(o, "seq",
	    json_object_new_uint64(log->seq + 1)) != 0 ||
	    add_str(o, "time", tbuf) != 0 ||
	    add_str(o, "event", event_names[ev->type]) != 0 ||
	    add_str(o, "task", ev->task) != 0)
		goto out;
	if ((sub = new_sub(o, "requester")) == NULL ||
	    add_int(sub, "uid", ev->requester.uid) != 0 ||
	    add_str(sub, "user", ev->requester.user) != 0 ||
	    add_str(sub, "claimed", ev->requester.claimed) != 0)
		goto out;
	drop_empty(o, "requester", sub);
	if ((sub = new_sub(o, "approver")) == NULL ||
	    add_int(sub, "uid", ev->approver.uid) != 0 ||
	    add_str(sub, "user", ev->approver.user) != 0)
		goto out;
	drop_empty(o, "approver", sub);
	if ((sub = new_sub(o, "executor")) == NULL ||
	    add_int(sub, "uid", ev->executor.uid) != 0 ||
	    add_int(sub, "gid", ev->executor.gid) != 0 ||
	    add_int(sub, "pid", ev->executor.pid) != 0 ||
	    add_str(sub, "exe", ev->executor.exe) != 0 ||
	    add_str(sub, "cgroup", ev->executor.cgroup) != 0)
		goto out;
	drop_empty(o, "executor", sub);
	if (add_str(o, "key", ev->key) != 0 ||
	    add_str(o, "mech", ev->mech) != 0)
		goto out;
	if (ev->input != NULL) {
		if (sha256() == NULL || EVP_Digest(ev->input, ev->input_len,
		    md, NULL, sha256(), NULL) != 1)
			goto out;
		hex_encode(md, HASH_LEN, hex);
		if (add_str(o, "input_sha256", hex) != 0)
			goto out;
	}
	if (add_str(o, "decision", ev->decision) != 0 ||
	    add_str(o, "rule", ev->rule) != 0 ||
	    add_str(o, "reason", ev->reason) != 0 ||
	    add_str(o, "policy_sha256", ev->policy_sha256) != 0)
		goto out;
	*ret_obj = o;
	o = NULL;
	r = WID_OK;
 out:
	json_object_put(o);
	return r;
}

static void
mirror(const struct audit_log *log, const struct audit_event *ev)
{
	if (!log->syslog)
		return;
	syslog(LOG_AUTHPRIV | LOG_INFO,
	    "seq=%" PRIu64 " event=%s task=%s uid=%" PRId64 " pid=%" PRId64
	    " exe=%s mech=%s decision=%s rule=%s",
	    log->seq, event_names[ev->type],
	    ev->task ? ev->task : "-",
	    ev->executor.uid != AUDIT_ID_NONE ? ev->executor.uid :
	    ev->requester.uid,
	    ev->executor.pid, ev->executor.exe ? ev->executor.exe : "-",
	    ev->mech ? ev->mech : "-", ev->decision ? ev->decision : "-",
	    ev->rule ? ev->rule : "-");
}

/* Is the fd still the file at path, unchanged by anyone else? */
static int
check_file_inlock(struct audit_log *log)
{
	struct stat st, sp;

	if (fstat(log->fd, &st) != 0 || st.st_nlink == 0)
		return -1;  /* removed */
	if (stat(log->path, &sp) != 0 || sp.st_ino != log->ino ||
	    sp.st_dev != log->dev)
		return -1;  /* replaced or renamed away */
	if (st.st_size != log->size)
		return -1;  /* another writer or a truncation */
	return 0;
}

/* Adds prev, serializes, hashes, writes one line, syncs.  Consumes obj. */
static int
append_inlock(struct audit_log *log, json_object *obj, bool is_sign)
{
	char prevhex[HEX_LEN + 1], hashhex[HEX_LEN + 1];
	const char *s;
	char *line = NULL;
	uint8_t h[HASH_LEN];
	size_t slen, blen, len;
	ssize_t n;
	bool sync_now;
	int r = WID_E_AUDIT;

	if (log->failed || check_file_inlock(log) != 0)
		goto out;
	hex_encode(log->prev, HASH_LEN, prevhex);
	if (add_str(obj, "prev", prevhex) != 0) {
		r = WID_E_NOMEM;
		goto out;
	}
	s = json_object_to_json_string_ext(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s == NULL || (slen = strlen(s)) < 2 || s[slen - 1] != '}') {
		r = WID_E_INTERNAL;
		goto out;
	}
	blen = slen - 1;
	len = blen + SUFFIX_LEN + 1;
	if (len > AUDIT_LINE_MAX) {
		r = WID_E_BADARG;
		goto out;
	}
	if ((line = malloc(len + 1)) == NULL) {
		r = WID_E_NOMEM;
		goto out;
	}
	if (chain_hash(log->prev, s, blen, h) != 0) {
		r = WID_E_INTERNAL;
		goto out;
	}
	hex_encode(h, HASH_LEN, hashhex);
	memcpy(line, s, blen);
	snprintf(line + blen, len + 1 - blen, HASH_SEP "%s\"}\n", hashhex);

	do {
		n = write(log->fd, line, len);
	} while (n < 0 && errno == EINTR);
	if (n != (ssize_t)len) {
		/* Put the file back as it was so it stays verifiable. */
		if (ftruncate(log->fd, log->size) != 0)
			log->failed = true;
		goto out;
	}
	sync_now = log->sync == AUDIT_SYNC_EVERY ||
	    (log->sync == AUDIT_SYNC_BATCH &&
	    (!is_sign || log->unsynced + 1 >= log->batch));
	if (sync_now) {
		if (fdatasync(log->fd) != 0) {
			/* Unknown what reached the disk: never trust it again. */
			log->failed = true;
			(void)ftruncate(log->fd, log->size);
			goto out;
		}
		log->unsynced = 0;
	} else
		log->unsynced++;
	log->size += (off_t)len;
	log->seq++;
	memcpy(log->prev, h, HASH_LEN);
	r = WID_OK;
 out:
	json_object_put(obj);
	free(line);
	return r;
}

static int
emit_inlock(struct audit_log *log, const struct audit_event *ev)
{
	json_object *o;
	int r;

	if ((r = build_event(log, ev, &o)) != WID_OK)
		return r;
	if ((r = append_inlock(log, o, ev->type == AUDIT_SIGN_ALLOWED ||
	    ev->type == AUDIT_SIGN_DENIED)) != WID_OK)
		return r == WID_E_BADARG ? r : WID_E_AUDIT;
	log->since_cp++;
	mirror(log, ev);
	return WID_OK;
}

static int
checkpoint_inlock(struct audit_log *log, int final)
{
	struct audit_event ev = AUDIT_EVENT_INIT(AUDIT_CHECKPOINT);
	json_object *o = NULL, *cp = NULL;
	EVP_MD_CTX *ctx = NULL;
	char head[HEX_LEN + 1], msg[160], b64[4 * ((ED25519_SIG_LEN + 2) / 3) + 1];
	uint8_t sig[ED25519_SIG_LEN];
	size_t siglen = sizeof(sig);
	int r = WID_E_AUDIT;

	hex_encode(log->prev, HASH_LEN, head);
	cp_message(msg, sizeof(msg), log->seq, head, final);
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(ctx, NULL, NULL, NULL, log->key) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, (const uint8_t *)msg,
	    strlen(msg)) != 1 || siglen != ED25519_SIG_LEN)
		goto out;
	EVP_EncodeBlock((unsigned char *)b64, sig, (int)siglen);
	if (build_event(log, &ev, &o) != WID_OK ||
	    (cp = json_object_new_object()) == NULL ||
	    json_object_object_add(cp, "seq", json_object_new_uint64(log->seq)) ||
	    add_str(cp, "head", head) != 0 ||
	    json_object_object_add(cp, "final", json_object_new_boolean(final)) ||
	    add_str(cp, "sig", b64) != 0 ||
	    json_object_object_add(o, "checkpoint", cp) != 0) {
		json_object_put(cp);
		goto out;
	}
	r = append_inlock(log, o, false);
	o = NULL;
	if (r != WID_OK) {
		r = WID_E_AUDIT;
		goto out;
	}
	log->since_cp = 0;
	mirror(log, &ev);
 out:
	json_object_put(o);
	EVP_MD_CTX_free(ctx);
	return r;
}

/* ---- reading lines (shared by open, verify and show) ---- */

struct line_info {
	json_object *obj;
	uint64_t seq;
	int type;
	uint8_t prev[HASH_LEN];
	uint8_t hash[HASH_LEN];
};

static json_object *
get(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static const char *
get_str(json_object *o, const char *k)
{
	json_object *v = get(o, k);

	return (v != NULL && json_object_is_type(v, json_type_string)) ?
	    json_object_get_string(v) : NULL;
}

/* Parses the JSON object of one line (len excludes '\n'). */
static json_object *
parse_json(const char *line, size_t len)
{
	json_tokener *tok;
	json_object *o;

	if ((tok = json_tokener_new()) == NULL)
		return NULL;
	o = json_tokener_parse_ex(tok, line, (int)len);
	if (o != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len ||
	    !json_object_is_type(o, json_type_object))) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/* Checks one line on its own: JSON, fields, hash recomputed from the raw
 * bytes with the line's own prev.  Caller frees li->obj. */
static int
parse_line(const char *line, size_t len, struct line_info *li,
    char *why, size_t whylen)
{
	json_object *v;
	const char *s, *hx;
	uint8_t h[HASH_LEN];
	int64_t seq;

	memset(li, 0, sizeof(*li));
	if (len > AUDIT_LINE_MAX) {
		seterr(why, whylen, "line too long");
		return -1;
	}
	if ((li->obj = parse_json(line, len)) == NULL) {
		seterr(why, whylen, "not a JSON object (line edited or truncated)");
		return -1;
	}
	hx = line + len - 2 - HEX_LEN;
	if (len < SUFFIX_LEN + 2 || memcmp(line + len - 2, "\"}", 2) != 0 ||
	    memcmp(hx - HASH_SEP_LEN, HASH_SEP, HASH_SEP_LEN) != 0 ||
	    hex_decode(hx, HEX_LEN, li->hash, HASH_LEN) != 0) {
		seterr(why, whylen, "no \"hash\" as the last field");
		return -1;
	}
	if ((v = get(li->obj, "seq")) == NULL ||
	    !json_object_is_type(v, json_type_int) ||
	    (seq = json_object_get_int64(v)) < 1) {
		seterr(why, whylen, "bad or missing \"seq\"");
		return -1;
	}
	li->seq = (uint64_t)seq;
	if ((s = get_str(li->obj, "event")) == NULL ||
	    (li->type = event_parse(s)) < 0) {
		seterr(why, whylen, "bad or missing \"event\"");
		return -1;
	}
	if ((s = get_str(li->obj, "prev")) == NULL ||
	    hex_decode(s, strlen(s), li->prev, HASH_LEN) != 0) {
		seterr(why, whylen, "bad or missing \"prev\"");
		return -1;
	}
	if (chain_hash(li->prev, line, len - SUFFIX_LEN, h) != 0 ||
	    CRYPTO_memcmp(h, li->hash, HASH_LEN) != 0) {
		seterr(why, whylen, "hash does not match its content (line edited)");
		return -1;
	}
	return 0;
}

/* Reads the last line of a non-empty file for restart. */
static int
read_tail(int fd, const char *path, off_t size, uint64_t *ret_seq,
    uint8_t ret_prev[HASH_LEN], char *err, size_t errlen)
{
	struct line_info li = { 0 };
	char buf[65536], why[128];
	uint64_t nlines = 0;
	off_t off = 0, start;
	ssize_t n = 0, i;
	size_t want;
	char *tail = NULL;
	int r = WID_E_AUDIT;

	/* Count lines so errors name them; remember the last byte. */
	while (off < size) {
		want = (size_t)(size - off) < sizeof(buf) ?
		    (size_t)(size - off) : sizeof(buf);
		if ((n = pread(fd, buf, want, off)) <= 0) {
			seterr(err, errlen, "%s: read: %s", path,
			    n < 0 ? strerror(errno) : "short read");
			r = WID_E_IO;
			goto out;
		}
		for (i = 0; i < n; i++)
			if (buf[i] == '\n')
				nlines++;
		off += n;
	}
	if (n <= 0 || buf[n - 1] != '\n') {
		seterr(err, errlen, "%s:%" PRIu64 ": last line is incomplete "
		    "(no newline); refusing to append", path, nlines + 1);
		goto out;
	}
	want = (size_t)size < AUDIT_LINE_MAX + 1 ? (size_t)size :
	    AUDIT_LINE_MAX + 1;
	start = size - (off_t)want;
	if ((tail = malloc(want)) == NULL) {
		r = WID_E_NOMEM;
		goto out;
	}
	if (pread(fd, tail, want, start) != (ssize_t)want) {
		seterr(err, errlen, "%s: read failed", path);
		r = WID_E_IO;
		goto out;
	}
	for (i = (ssize_t)want - 2; i >= 0 && tail[i] != '\n'; i--)
		;
	if (i < 0 && start != 0) {
		seterr(err, errlen, "%s:%" PRIu64 ": last line too long",
		    path, nlines);
		goto out;
	}
	if (parse_line(tail + i + 1, want - (size_t)i - 2, &li, why,
	    sizeof(why)) != 0) {
		seterr(err, errlen, "%s:%" PRIu64 ": last line is bad: %s; "
		    "refusing to append (run verify)", path, nlines, why);
		goto out;
	}
	*ret_seq = li.seq;
	memcpy(ret_prev, li.hash, HASH_LEN);
	r = WID_OK;
 out:
	json_object_put(li.obj);
	free(tail);
	return r;
}

/* ---- writer API ---- */

static void
log_free(struct audit_log *log)
{
	if (log == NULL)
		return;
	if (log->fd >= 0)
		close(log->fd);
	EVP_PKEY_free(log->key);
	free(log->path);
	pthread_mutex_destroy(&log->lock);
	free(log);
}

int
audit_open(const struct audit_config *cfg, const struct audit_event *start,
    struct audit_log **ret_log, char *err, size_t errlen)
{
	struct audit_event ev = AUDIT_EVENT_INIT(AUDIT_AGENT_START);
	struct audit_log *log = NULL;
	json_object *o = NULL;
	struct stat st;
	uint8_t raw[ED25519_LEN];
	char b64[4 * ((ED25519_LEN + 2) / 3) + 1];
	size_t rawlen = sizeof(raw);
	int r = WID_E_NOMEM;

	*ret_log = NULL;
	seterr(err, errlen, "%s", "");
	if (cfg == NULL || cfg->path == NULL) {
		r = WID_E_BADARG;
		goto out;
	}
	if ((log = calloc(1, sizeof(*log))) == NULL)
		goto out;
	log->fd = -1;
	pthread_mutex_init(&log->lock, NULL);
	if ((log->path = strdup(cfg->path)) == NULL)
		goto out;
	log->sync = cfg->sync;
	log->batch = cfg->batch ? cfg->batch : 32;
	log->cp_every = cfg->checkpoint_every ? cfg->checkpoint_every : 100;
	log->syslog = cfg->syslog != 0;
	if (cfg->key != NULL) {
		if (EVP_PKEY_get_base_id(cfg->key) != EVP_PKEY_ED25519 ||
		    !EVP_PKEY_up_ref(cfg->key)) {
			seterr(err, errlen, "audit key is not Ed25519");
			r = WID_E_BADARG;
			goto out;
		}
		log->key = cfg->key;
	} else if ((log->key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL) {
		seterr(err, errlen, "cannot generate the audit key");
		r = WID_E_CRYPTO;
		goto out;
	}
	if (EVP_PKEY_get_raw_public_key(log->key, raw, &rawlen) != 1 ||
	    rawlen != ED25519_LEN) {
		r = WID_E_CRYPTO;
		goto out;
	}
	EVP_EncodeBlock((unsigned char *)b64, raw, ED25519_LEN);

	log->fd = open(cfg->path, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (log->fd < 0 || fstat(log->fd, &st) != 0) {
		seterr(err, errlen, "%s: %s", cfg->path, strerror(errno));
		r = WID_E_AUDIT;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		seterr(err, errlen, "%s: not a regular file", cfg->path);
		r = WID_E_AUDIT;
		goto out;
	}
	log->dev = st.st_dev;
	log->ino = st.st_ino;
	log->size = st.st_size;
	if (st.st_size > 0 && (r = read_tail(log->fd, cfg->path, st.st_size,
	    &log->seq, log->prev, err, errlen)) != WID_OK)
		goto out;

	if (start != NULL) {
		ev = *start;
		ev.type = AUDIT_AGENT_START;
	}
	if (log->syslog)
		openlog("wid-agent", LOG_PID, LOG_AUTHPRIV);
	if ((r = build_event(log, &ev, &o)) != WID_OK)
		goto out;
	if (add_str(o, "audit_key", b64) != 0) {
		r = WID_E_NOMEM;
		goto out;
	}
	r = append_inlock(log, o, false);
	o = NULL;
	if (r != WID_OK) {
		seterr(err, errlen, "%s: cannot append: %s", cfg->path,
		    strerror(errno));
		r = WID_E_AUDIT;
		goto out;
	}
	mirror(log, &ev);
	if ((r = checkpoint_inlock(log, 0)) != WID_OK) {
		seterr(err, errlen, "%s: cannot append a checkpoint", cfg->path);
		goto out;
	}
	*ret_log = log;
	log = NULL;
	r = WID_OK;
 out:
	json_object_put(o);
	log_free(log);
	return r;
}

int
audit_emit(struct audit_log *log, const struct audit_event *ev)
{
	int r;

	if (log == NULL || ev == NULL || ev->type < 0 ||
	    ev->type >= AUDIT__MAX || ev->type == AUDIT_CHECKPOINT ||
	    ev->type == AUDIT_AGENT_START)
		return WID_E_BADARG;
	pthread_mutex_lock(&log->lock);
	r = WID_OK;
	if (log->since_cp >= log->cp_every)
		r = checkpoint_inlock(log, 0);
	if (r == WID_OK)
		r = emit_inlock(log, ev);
	pthread_mutex_unlock(&log->lock);
	return r;
}

int
audit_checkpoint(struct audit_log *log)
{
	int r;

	if (log == NULL)
		return WID_E_BADARG;
	pthread_mutex_lock(&log->lock);
	r = checkpoint_inlock(log, 0);
	pthread_mutex_unlock(&log->lock);
	return r;
}

int
audit_close(struct audit_log *log, const char *reason)
{
	struct audit_event ev = AUDIT_EVENT_INIT(AUDIT_AGENT_STOP);
	int r;

	if (log == NULL)
		return WID_OK;
	ev.reason = reason;
	ev.executor.pid = getpid();
	pthread_mutex_lock(&log->lock);
	if ((r = emit_inlock(log, &ev)) == WID_OK)
		r = checkpoint_inlock(log, 1);
	if (r == WID_OK && log->sync != AUDIT_SYNC_NONE && log->unsynced &&
	    fdatasync(log->fd) != 0)
		r = WID_E_AUDIT;
	pthread_mutex_unlock(&log->lock);
	if (log->syslog)
		closelog();
	log_free(log);
	return r;
}

int
audit_pubkey_pem(struct audit_log *log, char *buf, size_t len)
{
	BIO *b = NULL;
	char *p;
	long n;
	int r = WID_E_INTERNAL;

	if (log == NULL || buf == NULL || len == 0)
		return WID_E_BADARG;
	if ((b = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PUBKEY(b, log->key) != 1)
		goto out;
	n = BIO_get_mem_data(b, &p);
	if (n <= 0 || (size_t)n >= len) {
		r = WID_E_LIMIT;
		goto out;
	}
	memcpy(buf, p, (size_t)n);
	buf[n] = '\0';
	r = WID_OK;
 out:
	BIO_free(b);
	return r;
}

uint64_t
audit_seq(struct audit_log *log)
{
	uint64_t s;

	pthread_mutex_lock(&log->lock);
	s = log->seq;
	pthread_mutex_unlock(&log->lock);
	return s;
}

/* ---- verifier ---- */

static int
b64_decode(const char *in, uint8_t *out, size_t outlen)
{
	uint8_t tmp[128];
	size_t inlen = strlen(in), pad = 0;
	int n;

	if (inlen == 0 || inlen % 4 != 0 || inlen / 4 * 3 > sizeof(tmp))
		return -1;
	if (in[inlen - 1] == '=')
		pad++;
	if (in[inlen - 2] == '=')
		pad++;
	if ((n = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)inlen)) < 0 ||
	    (size_t)n - pad != outlen)
		return -1;
	memcpy(out, tmp, outlen);
	return 0;
}

static int
raw_pub(EVP_PKEY *k, uint8_t raw[ED25519_LEN])
{
	size_t len = ED25519_LEN;

	return (EVP_PKEY_get_raw_public_key(k, raw, &len) == 1 &&
	    len == ED25519_LEN) ? 0 : -1;
}

static int
check_checkpoint(json_object *o, uint64_t seq, const uint8_t head[HASH_LEN],
    EVP_PKEY *key, int *ret_final, char *why, size_t whylen)
{
	json_object *cp, *v;
	EVP_MD_CTX *ctx = NULL;
	const char *hx, *sigb64;
	char headhex[HEX_LEN + 1], msg[160];
	uint8_t sig[ED25519_SIG_LEN];
	int final, r = -1;

	if ((cp = get(o, "checkpoint")) == NULL ||
	    !json_object_is_type(cp, json_type_object) ||
	    (v = get(cp, "seq")) == NULL || !json_object_is_type(v, json_type_int) ||
	    (hx = get_str(cp, "head")) == NULL ||
	    (sigb64 = get_str(cp, "sig")) == NULL ||
	    get(cp, "final") == NULL ||
	    !json_object_is_type(get(cp, "final"), json_type_boolean)) {
		seterr(why, whylen, "malformed checkpoint");
		goto out;
	}
	final = json_object_get_boolean(get(cp, "final"));
	hex_encode(head, HASH_LEN, headhex);
	if ((uint64_t)json_object_get_int64(v) != seq ||
	    strcmp(hx, headhex) != 0) {
		seterr(why, whylen, "checkpoint does not cover the line before it");
		goto out;
	}
	if (key == NULL) {
		seterr(why, whylen, "checkpoint before any agent-start key");
		goto out;
	}
	cp_message(msg, sizeof(msg), seq, headhex, final);
	if (b64_decode(sigb64, sig, sizeof(sig)) != 0 ||
	    (ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) != 1 ||
	    EVP_DigestVerify(ctx, sig, sizeof(sig), (const uint8_t *)msg,
	    strlen(msg)) != 1) {
		seterr(why, whylen, "checkpoint signature does not verify");
		goto out;
	}
	*ret_final = final;
	r = 0;
 out:
	EVP_MD_CTX_free(ctx);
	return r;
}

int
audit_verify_file(const char *path, const char *pinned_pem,
    struct audit_verify_result *ret)
{
	struct audit_verify_result res;
	struct line_info li = { 0 };
	FILE *f = NULL;
	BIO *bio = NULL;
	EVP_PKEY *pinned = NULL, *cur = NULL;
	uint8_t expect_prev[HASH_LEN] = { 0 }, raw[ED25519_LEN], pinraw[ED25519_LEN];
	uint8_t curraw[ED25519_LEN];
	char *line = NULL, why[200];
	const char *s;
	size_t cap = 0, len;
	ssize_t n;
	bool session_open = false, session_closed = false;
	int final, r = WID_E_IO;

	memset(&res, 0, sizeof(res));
	if (path == NULL || ret == NULL)
		return WID_E_BADARG;
	if (pinned_pem != NULL) {
		if ((bio = BIO_new_mem_buf(pinned_pem, -1)) == NULL ||
		    (pinned = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) == NULL ||
		    EVP_PKEY_get_base_id(pinned) != EVP_PKEY_ED25519 ||
		    raw_pub(pinned, pinraw) != 0) {
			r = WID_E_BADARG;
			goto out;
		}
	}
	if ((f = fopen(path, "re")) == NULL)
		goto out;

#define BAD(...) do { seterr(res.reason, sizeof(res.reason), __VA_ARGS__); \
	res.bad_line = res.lines; r = WID_E_AUDIT; goto out; } while (0)

	while ((n = getline(&line, &cap, f)) > 0) {
		res.lines++;
		json_object_put(li.obj);
		li.obj = NULL;
		if (line[n - 1] != '\n')
			BAD("line is truncated (no newline at "
			    "the end of the file)");
		len = (size_t)n - 1;
		if (parse_line(line, len, &li, why, sizeof(why)) != 0)
			BAD("%s", why);
		if (li.seq != res.last_seq + 1)
			BAD("seq %" PRIu64 " where %" PRIu64 " was expected "
			    "(lines deleted, inserted or reordered)",
			    li.seq, res.last_seq + 1);
		if (memcmp(li.prev, expect_prev, HASH_LEN) != 0)
			BAD("prev does not match the hash of the line before "
			    "(lines deleted, inserted or reordered)");
		if (res.lines == 1 && li.type != AUDIT_AGENT_START)
			BAD("the first line is not agent-start");

		switch (li.type) {
		case AUDIT_AGENT_START:
			if ((s = get_str(li.obj, "audit_key")) == NULL ||
			    b64_decode(s, raw, sizeof(raw)) != 0)
				BAD("agent-start without a valid audit_key");
			if (pinned != NULL &&
			    memcmp(raw, pinraw, ED25519_LEN) != 0)
				BAD("audit key is not the pinned key");
			if (session_open && !session_closed) {
				res.unclean++;
				if (res.warning[0] == '\0')
					seterr(res.warning, sizeof(res.warning),
					    "line %" PRIu64 ": agent restarted "
					    "without a final checkpoint before "
					    "it (crash or truncation)",
					    res.lines);
			}
			if (cur == NULL || memcmp(raw, curraw, ED25519_LEN) != 0) {
				EVP_PKEY_free(cur);
				if ((cur = EVP_PKEY_new_raw_public_key_ex(NULL,
				    "ED25519", NULL, raw, ED25519_LEN)) == NULL)
					BAD("bad audit_key");
				memcpy(curraw, raw, ED25519_LEN);
				res.keys++;
			}
			res.sessions++;
			session_open = true;
			session_closed = false;
			res.closed = 0;
			res.unsigned_tail++;
			break;
		case AUDIT_CHECKPOINT:
			if (check_checkpoint(li.obj, li.seq - 1, expect_prev,
			    cur, &final, why, sizeof(why)) != 0)
				BAD("%s", why);
			res.checkpoints++;
			res.last_checkpoint_line = res.lines;
			res.unsigned_tail = 0;
			res.closed = final;
			if (final)
				session_closed = true;
			break;
		default:
			if (session_closed)
				BAD("event after the final checkpoint of its session");
			res.closed = 0;
			res.unsigned_tail++;
			break;
		}
		res.last_seq = li.seq;
		memcpy(expect_prev, li.hash, HASH_LEN);
	}
#undef BAD
	if (ferror(f)) {
		r = WID_E_IO;
		goto out;
	}
	if (res.lines == 0)
		seterr(res.warning, sizeof(res.warning), "empty log");
	else if (!res.closed && res.warning[0] == '\0')
		seterr(res.warning, sizeof(res.warning),
		    "log ends at line %" PRIu64 " without a final checkpoint; "
		    "%" PRIu64 " events after the last checkpoint (line %" PRIu64
		    ") are unsigned (agent running or crashed, or the file was "
		    "truncated after line %" PRIu64 ")", res.lines,
		    res.unsigned_tail, res.last_checkpoint_line, res.lines);
	r = WID_OK;
 out:
	if (r == WID_OK || r == WID_E_AUDIT)
		*ret = res;
	json_object_put(li.obj);
	free(line);
	if (f != NULL)
		fclose(f);
	BIO_free(bio);
	EVP_PKEY_free(pinned);
	EVP_PKEY_free(cur);
	return r;
}

/* ---- timeline ---- */

static void
show_text(json_object *o, FILE *out)
{
	json_object *sub;
	const char *s;

	fprintf(out, "%s %6" PRId64 " %-14s", get_str(o, "time") ?
	    get_str(o, "time") : "?", json_object_get_int64(get(o, "seq")),
	    get_str(o, "event"));
	if ((s = get_str(o, "task")) != NULL)
		fprintf(out, " task=%s", s);
	if ((sub = get(o, "requester")) != NULL) {
		if (get(sub, "uid") != NULL)
			fprintf(out, " requester=%" PRId64,
			    json_object_get_int64(get(sub, "uid")));
		if ((s = get_str(sub, "user")) != NULL)
			fprintf(out, "(%s)", s);
		if ((s = get_str(sub, "claimed")) != NULL)
			fprintf(out, " claimed=\"%s\"", s);
	}
	if ((sub = get(o, "approver")) != NULL && get(sub, "uid") != NULL)
		fprintf(out, " approver=%" PRId64,
		    json_object_get_int64(get(sub, "uid")));
	if ((sub = get(o, "executor")) != NULL) {
		if (get(sub, "uid") != NULL)
			fprintf(out, " uid=%" PRId64,
			    json_object_get_int64(get(sub, "uid")));
		if (get(sub, "pid") != NULL)
			fprintf(out, " pid=%" PRId64,
			    json_object_get_int64(get(sub, "pid")));
		if ((s = get_str(sub, "exe")) != NULL)
			fprintf(out, " exe=%s", s);
	}
	if ((s = get_str(o, "mech")) != NULL)
		fprintf(out, " mech=%s", s);
	if ((s = get_str(o, "decision")) != NULL)
		fprintf(out, " %s", s);
	if ((s = get_str(o, "rule")) != NULL)
		fprintf(out, " rule=%s", s);
	if ((s = get_str(o, "reason")) != NULL)
		fprintf(out, " reason=\"%s\"", s);
	fputc('\n', out);
}

int
audit_show_file(const char *path, const char *task, const char *since,
    int json, FILE *out)
{
	json_object *o = NULL;
	FILE *f;
	char *line = NULL;
	const char *s;
	size_t cap = 0;
	ssize_t n;
	int r = WID_OK;

	if (path == NULL || out == NULL)
		return WID_E_BADARG;
	if ((f = fopen(path, "re")) == NULL)
		return WID_E_IO;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			n--;
		json_object_put(o);
		if ((o = parse_json(line, (size_t)n)) == NULL ||
		    get_str(o, "event") == NULL || get(o, "seq") == NULL) {
			r = WID_E_AUDIT;
			break;
		}
		if (task != NULL && ((s = get_str(o, "task")) == NULL ||
		    strcmp(s, task) != 0))
			continue;
		if (since != NULL && ((s = get_str(o, "time")) == NULL ||
		    strcmp(s, since) < 0))
			continue;
		if (json)
			fprintf(out, "%.*s\n", (int)n, line);
		else
			show_text(o, out);
	}
	if (r == WID_OK && ferror(f))
		r = WID_E_IO;
	json_object_put(o);
	free(line);
	fclose(f);
	return r;
}
