/* tools/agent/audit.h: the tamper-evident audit log (one writer, the
 * agent), its verifier and its timeline printer.
 *
 * File format: JSON Lines, one event per line, '\n' terminated, written
 * with one write(2) on an O_APPEND fd.  Fields, in this order, absent ones
 * omitted:
 *   seq         1, 2, 3, ... over the whole file (continues across restarts)
 *   time        UTC RFC 3339 with milliseconds, "2024-05-01T12:00:00.123Z"
 *   event       agent-start, agent-stop, policy-load, task-requested,
 *               task-approved, task-denied, task-started, task-ended,
 *               task-expired, task-revoked, sign-allowed, sign-denied,
 *               checkpoint
 *   task        task id
 *   requester   {"uid", "user", "claimed"}: uid/user are the kernel's;
 *               "claimed" is the --requested-by text, never verified
 *   approver    {"uid", "user"}
 *   executor    {"uid", "gid", "pid", "exe", "cgroup"}
 *   key         key fingerprint (text chosen by the caller)
 *   mech        mechanism name
 *   input_sha256 hex SHA-256 of the signed input (never the input)
 *   decision    "allow" / "deny"
 *   rule        policy rule that decided
 *   reason      free text
 *   policy_sha256  (policy-load) hex SHA-256 of the policy file
 *   audit_key   (agent-start) base64 of the raw 32-byte Ed25519 public key
 *               that signs this session's checkpoints
 *   checkpoint  (checkpoint) {"seq", "head", "final", "sig"}
 *   prev        hex hash of the previous line; 64 '0' for seq 1
 *   hash        see below; always the last field
 *
 * Hash chain.  A line is exactly  B + ",\"hash\":\"" + H + "\"}\n"  where
 * B starts with '{' and ends just before ",\"hash\"", and H is 64 lowercase
 * hex digits:
 *     H = hex(SHA-256(P || B))
 * with P the 32 raw bytes of the previous line's hash (32 zero bytes for
 * seq 1).  B itself carries "prev" (P in hex), so the link is checked both
 * ways.  The verifier recomputes H from the raw bytes of the line, it never
 * re-serializes JSON.
 *
 * Checkpoints.  At start (right after agent-start), every N events and at
 * stop, the agent appends a "checkpoint" event.  Its "checkpoint" object
 * holds seq S and head H_S (the hash of line S, the line just before the
 * checkpoint), "final" (true only for the one written at stop), and "sig":
 * base64 Ed25519 over the ASCII text
 *     "wid-audit-checkpoint-v1 seq=S head=H_S final=0|1"
 * with the session's audit key.
 *
 * Trust in the audit key.  Each agent start introduces its key in the
 * agent-start event (the key is generated in memory and is gone after
 * stop, later it may be TPM-held and persistent).
 * - verify with a pinned key: every agent-start must carry exactly that key
 *   and every checkpoint must verify under it.  This is the strong mode; it
 *   needs a persistent audit key (audit_config.key, later the TPM).
 * - verify without a key: each checkpoint must verify under the key of the
 *   most recent agent-start (trust on first use for the first one).  A new
 *   key is accepted at an agent-start; if the previous session did not end
 *   with a final checkpoint the verifier warns (crash or truncation).  The
 *   result lists the number of keys; compare their fingerprints with the
 *   syslog mirror (each agent-start is sent there), which is the external
 *   anchor.
 * What is detected: any edited byte, deleted, inserted or reordered line
 * (hash/prev/seq), a bad or forged checkpoint signature, a partial last
 * line.  What cannot be detected from the file alone: removing the whole
 * tail after some line (including its checkpoints).  The verifier reports
 * how many events follow the last checkpoint and whether the file ends
 * with a final checkpoint (a clean stop); a file that does not is either
 * being written, from a crashed agent, or truncated: only an external
 * anchor (syslog copy of the checkpoints, a pinned key and a remote copy
 * of the last seq) tells these apart.
 *
 * Thread safety: audit_emit() may be called from several threads; the log
 * serializes internally.  Fail closed: when audit_emit() fails, the caller
 * must refuse the operation it was about to record.
 */
#ifndef WID_AGENT_AUDIT_H
#define WID_AGENT_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <openssl/evp.h>

enum audit_event_type {
	AUDIT_AGENT_START = 0,
	AUDIT_AGENT_STOP,
	AUDIT_POLICY_LOAD,
	AUDIT_TASK_REQUESTED,
	AUDIT_TASK_APPROVED,
	AUDIT_TASK_DENIED,
	AUDIT_TASK_STARTED,
	AUDIT_TASK_ENDED,
	AUDIT_TASK_EXPIRED,
	AUDIT_TASK_REVOKED,
	AUDIT_SIGN_ALLOWED,
	AUDIT_SIGN_DENIED,
	AUDIT_CHECKPOINT,
	AUDIT_CERT_ISSUED,      /* the agent's CA certified a task key */
	AUDIT__MAX
};

#define AUDIT_ID_NONE (-1)   /* uid/gid/pid not given */

/* One event.  Pointers may be NULL (field omitted); ids AUDIT_ID_NONE.
 * Initialize with AUDIT_EVENT_INIT(type). */
struct audit_event {
	enum audit_event_type type;
	const char *task;
	struct {
		int64_t uid;
		const char *user;
		const char *claimed;
	} requester;
	struct {
		int64_t uid;
		const char *user;
	} approver;
	struct {
		int64_t uid, gid, pid;
		const char *exe;
		const char *cgroup;
	} executor;
	const char *key;
	const char *mech;
	const uint8_t *input;        /* hashed here, never stored */
	size_t input_len;
	const char *decision;
	const char *rule;
	const char *reason;
	const char *policy_sha256;
};

#define AUDIT_EVENT_INIT(t) { .type = (t), \
	.requester = { AUDIT_ID_NONE, NULL, NULL }, \
	.approver = { AUDIT_ID_NONE, NULL }, \
	.executor = { AUDIT_ID_NONE, AUDIT_ID_NONE, AUDIT_ID_NONE, NULL, NULL } }

enum audit_sync {
	AUDIT_SYNC_EVERY = 0,   /* fdatasync after every event (default) */
	AUDIT_SYNC_BATCH = 1,   /* sign events: every `batch` events; others: each */
	AUDIT_SYNC_NONE = 2,    /* tests and benchmarks only */
};

struct audit_config {
	const char *path;
	enum audit_sync sync;
	unsigned batch;              /* AUDIT_SYNC_BATCH; 0 means 32 */
	unsigned checkpoint_every;   /* 0 means 100 */
	int syslog;                  /* mirror one line per event to LOG_AUTHPRIV */
	EVP_PKEY *key;               /* Ed25519 audit key (up-ref'd); NULL: generate */
};

struct audit_log;

/* Opens or creates the log (mode 0600, O_APPEND, no symlinks), continues
 * seq and prev from the last line (refuses a bad or partial last line,
 * naming it in `err`), then appends agent-start (with the audit key) and
 * a checkpoint.  `start` may be NULL or give executor/reason for
 * agent-start.  err: human text on failure (may be NULL). */
int audit_open(const struct audit_config *cfg, const struct audit_event *start,
               struct audit_log **ret_log, char *err, size_t errlen);
/* Appends one event (one write, then fdatasync per the sync mode); writes a
 * checkpoint first when one is due.  WID_E_AUDIT on any failure (write,
 * sync, log removed or replaced); a partial line is truncated away.  After
 * a sync or truncate failure the log stays failed (every emit fails). */
int audit_emit(struct audit_log *log, const struct audit_event *ev);
/* Forces a checkpoint now (final = 0). */
int audit_checkpoint(struct audit_log *log);
/* Appends agent-stop (reason may be NULL) and a final checkpoint, then
 * frees the log.  Frees even on error.  NULL is a no-op. */
int audit_close(struct audit_log *log, const char *reason);
/* Public key in PEM into buf. */
int audit_pubkey_pem(struct audit_log *log, char *buf, size_t len);
/* Last seq written. */
uint64_t audit_seq(struct audit_log *log);

const char *audit_event_name(int type);   /* NULL if bad */

struct audit_verify_result {
	uint64_t lines;              /* lines read (up to the first bad one) */
	uint64_t last_seq;
	uint64_t checkpoints;
	uint64_t last_checkpoint_line;
	uint64_t unsigned_tail;      /* events after the last checkpoint */
	unsigned sessions;           /* agent-start events */
	unsigned keys;               /* distinct audit keys seen */
	unsigned unclean;            /* sessions not ended by a final checkpoint */
	int closed;                  /* file ends with a final checkpoint */
	uint64_t bad_line;           /* 1-based; 0: none */
	char reason[256];            /* why bad_line is bad */
	char warning[256];           /* first warning, "" if none */
};

/* Verifies the whole file.  pinned_pem: PEM public key text or NULL (see
 * above).  WID_OK: chain valid (ret->warning may still be set);
 * WID_E_AUDIT: ret->bad_line and ret->reason name the first bad line;
 * WID_E_IO/WID_E_NOMEM/WID_E_BADARG: could not check. */
int audit_verify_file(const char *path, const char *pinned_pem,
                      struct audit_verify_result *ret);

/* Prints the timeline (`wid-tool audit show`).  task: only events of this
 * task (NULL: all); since: RFC 3339 prefix, events with time >= since
 * ("2024-05-01", "2024-05-01T12:00"; NULL: all); json: raw lines instead of
 * text.  Does not verify (use audit_verify_file).  WID_E_IO if unreadable,
 * WID_E_AUDIT if a line does not parse. */
int audit_show_file(const char *path, const char *task, const char *since,
                    int json, FILE *out);

#endif
