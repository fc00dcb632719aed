/* module/module.h: the internal interface of wid-pkcs11.so: the one global
 * state (guarded by one mutex), the cached key listing, the connection
 * pool, sessions, and the helpers each file in module/ provides.
 * Functions ending in _inlock expect the module mutex held.
 *
 * Concurrency: the mutex is never held across a round trip to the agent.
 * An entry point that talks to the agent marks its session busy (other
 * calls on that session wait on `cond`), takes a connection from the pool
 * (one per concurrent caller, kept for reuse), drops the mutex, makes the
 * call, and retakes the mutex to give the connection back and merge what
 * it learnt.  So two threads sign in parallel on two connections. */
#ifndef WID_MODULE_H
#define WID_MODULE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <openssl/evp.h>
#include <p11-kit/pkcs11.h>

#include "wid/client.h"
#include "wid/err.h"
#include "wid/proto.h"

/* Slots: always two, always present. */
#define WID_SLOT_EC 1UL      /* token "wid": EC and RSA keys */
#define WID_SLOT_ED 2UL      /* token "wid-ed25519" */

/* Object handle = serial * 4 + kind. */
#define WID_OBJ_PRIVATE 1UL
#define WID_OBJ_PUBLIC 2UL
#define WID_OBJ_CERT 3UL     /* X.509 certificate (cert.c) */

/* What the SPKI yields, computed once per key (lazily). */
struct wid_pub {
	int done;                    /* 1 when decomposed, -1 when it failed */
	uint8_t point[2 + 97];       /* DER OCTET STRING: EC point / Ed25519 */
	size_t point_len;
	uint8_t modulus[512];
	size_t modulus_len;
	uint8_t exponent[16];
	size_t exponent_len;
};

/* One visible task key from the agent's listing. */
struct wid_key {
	struct wid_task task;
	CK_SLOT_ID slot;
	struct wid_pub pub;
};

/* The cached listing: sorted by serial, reused across refreshes. */
struct wid_listing {
	struct wid_key *keys;
	size_t n;
	size_t cap;
};

struct wid_sign_op {
	int active;
	const uint8_t *di;           /* RSA PKCS#1 hash-and-sign: DigestInfo */
	size_t di_len;
	int updated;                 /* C_SignUpdate was called */
	CK_MECHANISM_TYPE mech;
	uint64_t serial;
	uint8_t alg;                 /* enum wid_sig_alg */
	uint8_t hash;                /* enum wid_hash (PSS) */
	uint32_t salt;
	const EVP_MD *md;            /* hash-and-sign: hashed here */
	size_t digest_len;           /* raw PSS: required input length */
	size_t max_data;             /* raw RSA PKCS#1: modulus - 11 */
	CK_ULONG sig_len;            /* exact signature length */
};

struct wid_find_op {
	int active;
	CK_OBJECT_HANDLE *h;
	size_t n, pos, cap;
};

struct wid_session {
	CK_SESSION_HANDLE handle;
	int busy;                    /* in a call that dropped the mutex */
	CK_SLOT_ID slot;
	CK_FLAGS flags;
	struct wid_sign_op sign;
	EVP_MD_CTX *mdctx;           /* reused by hash-and-sign */
	struct wid_find_op find;
};

/* A pooled connection to the agent. */
struct wid_pconn {
	struct wid_conn c;
	unsigned gen;                /* wid_g.gen when it was opened */
	struct wid_pconn *next;      /* idle list */
	struct wid_pconn *anext;     /* every connection, idle or in use */
};

/* The global state.  Everything below is guarded by `lock`. */
struct wid_state {
	pthread_mutex_t lock;
	pthread_cond_t cond;         /* a session stopped being busy */
	int initialized;
	unsigned forks;              /* forks (module.c) at C_Initialize */
	int debug;                   /* WID_DEBUG set at C_Initialize */
	char task_filter[WID_TASK_ID_MAX + 1]; /* WID_TASK, or "" */
	char sock_path[WID_PATH_MAX];
	unsigned gen;                /* bumped by C_Initialize/C_Finalize */
	struct wid_pconn *all;       /* every connection of this process */
	struct wid_pconn *idle;      /* connections nobody uses right now */
	size_t nidle;
	struct wid_listing list;
	struct wid_session **sessions;
	size_t nsessions, capsessions;
	CK_SESSION_HANDLE next_session;
	int logged_in[3];            /* per slot, application-wide */
	const EVP_MD *sha256, *sha384, *sha512, *sha1, *sha224;
};

extern struct wid_state wid_g;

#define wid_dbg(...) do { \
	if (wid_g.debug) { \
		fprintf(stderr, "wid-pkcs11: " __VA_ARGS__); \
		fputc('\n', stderr); \
	} \
} while (0)

/* rv.c */
CK_RV wid_rv(int err);

/* agent.c */
int wid_agent_present_inlock(void);          /* a connection, or connect */
struct wid_pconn *wid_pconn_get_inlock(int *ret_err);
void wid_pconn_put_inlock(struct wid_pconn *pc);
void wid_pconn_free_all_inlock(void);
/* LIST (paged) of one task (`task` non-empty) or of all visible ones into
 * a fresh listing; no lock held, `pc` owned by the caller. */
int wid_agent_list(struct wid_pconn *pc, const char *task,
    struct wid_listing *out);
/* Takes `nl` over: replaces the cached listing (task "") or just the entry
 * of `task`; keeps decomposed public keys of keys already listed. */
int wid_listing_merge_inlock(struct wid_listing *nl, const char *task);
/* One SIGN round trip; takes a pooled connection itself.  No lock held. */
int wid_agent_sign(const struct wid_sign_req *req, uint8_t *sig,
    size_t *sig_len);
void wid_listing_free(struct wid_listing *l);

/* object.c */
struct wid_key *wid_key_by_handle_inlock(CK_OBJECT_HANDLE h,
    CK_ULONG *ret_kind);
struct wid_key *wid_key_by_serial_inlock(uint64_t serial);
CK_RV wid_get_attrs_inlock(struct wid_key *k, CK_ULONG kind,
    CK_ATTRIBUTE_PTR templ, CK_ULONG count);
int wid_match_inlock(struct wid_key *k, CK_ULONG kind,
    CK_ATTRIBUTE_PTR templ, CK_ULONG count);
CK_RV wid_find_init_inlock(struct wid_session *s, CK_ATTRIBUTE_PTR templ,
    CK_ULONG count);
CK_SLOT_ID wid_key_slot(int key_type);
CK_KEY_TYPE wid_key_cktype(int key_type);

/* cert.c: the certificate object of a key with WID_TASK_HAS_X509. */
int wid_key_has_cert(const struct wid_key *k);
/* One attribute of the certificate object; the scalars are written into
 * the caller's scratch. */
CK_RV wid_cert_attr_inlock(struct wid_key *k, CK_ATTRIBUTE_TYPE type,
    CK_ULONG *ul, CK_BBOOL *b, CK_DATE *date, const void **ret_p,
    CK_ULONG *ret_len);
void wid_certs_free_inlock(void);
/* object.c: unix seconds to a CK_DATE (UTC). */
void wid_ck_date(int64_t when, CK_DATE *d);

/* sign.c */
CK_RV wid_sig_size(CK_ULONG need, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len,
    int *ret_done);
CK_RV wid_sign_init_inlock(struct wid_session *s, CK_MECHANISM_PTR m,
    CK_OBJECT_HANDLE key);
/* These three run on a busy session without the module mutex. */
CK_RV wid_sign_busy(struct wid_session *s, CK_BYTE_PTR data,
    CK_ULONG len, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len);
CK_RV wid_sign_update_busy(struct wid_session *s, CK_BYTE_PTR data,
    CK_ULONG len);
CK_RV wid_sign_final_busy(struct wid_session *s, CK_BYTE_PTR sig,
    CK_ULONG_PTR sig_len);
void wid_sign_end(struct wid_session *s);
void wid_md_free_inlock(void);

/* token.c */
CK_RV wid_get_slot_list_inlock(CK_BBOOL present, CK_SLOT_ID_PTR list,
    CK_ULONG_PTR count);
CK_RV wid_slot_info_inlock(CK_SLOT_ID slot, CK_SLOT_INFO_PTR info);
CK_RV wid_token_info_inlock(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info);
CK_RV wid_mech_list(CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR list,
    CK_ULONG_PTR count);
CK_RV wid_mech_info(CK_SLOT_ID slot, CK_MECHANISM_TYPE type,
    CK_MECHANISM_INFO_PTR info);
int wid_mech_allowed(int key_type, CK_MECHANISM_TYPE m);
CK_RV wid_allowed_mechs(int key_type, CK_MECHANISM_TYPE *out, size_t cap,
    size_t *ret_n);

/* session.c */
CK_RV wid_session_open_inlock(CK_SLOT_ID slot, CK_FLAGS flags,
    CK_SESSION_HANDLE_PTR ret);
CK_RV wid_session_close_inlock(CK_SESSION_HANDLE h);
void wid_session_close_all_inlock(CK_SLOT_ID slot);
struct wid_session *wid_session_get_inlock(CK_SESSION_HANDLE h);
CK_RV wid_session_info_inlock(struct wid_session *s, CK_SESSION_INFO_PTR info);
void wid_sessions_free_inlock(void);

#endif
