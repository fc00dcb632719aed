/* module/module.h: the internal interface of wid-pkcs11.so: the one global
 * state (guarded by one mutex), the cached key listing, sessions, and the
 * helpers each file in module/ provides.  Functions ending in _inlock
 * expect the module mutex held. */
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
#define WID_OBJ_CERT 3UL     /* reserved */

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
	CK_SLOT_ID slot;
	CK_FLAGS flags;
	struct wid_sign_op sign;
	EVP_MD_CTX *mdctx;           /* reused by hash-and-sign */
	struct wid_find_op find;
};

/* The global state.  Everything below is guarded by `lock`. */
struct wid_state {
	pthread_mutex_t lock;
	int initialized;
	pid_t pid;                   /* getpid() at C_Initialize */
	int debug;                   /* WID_DEBUG set at C_Initialize */
	char task_filter[WID_TASK_ID_MAX + 1]; /* WID_TASK, or "" */
	char sock_path[WID_PATH_MAX];
	struct wid_conn conn;        /* one per process; fd -1 when absent */
	struct wid_listing list;
	struct wid_listing spare;    /* refresh target, swapped in */
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
int wid_agent_connect_inlock(void);          /* connect + list if absent */
int wid_agent_present_inlock(void);          /* try to connect; 1 if up */
int wid_agent_refresh_inlock(void);          /* one LIST (paged) */
int wid_agent_sign_inlock(const struct wid_sign_req *req, uint8_t *sig,
    size_t *sig_len);
void wid_agent_drop_inlock(void);
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

/* sign.c */
CK_RV wid_sig_size(CK_ULONG need, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len,
    int *ret_done);
CK_RV wid_sign_init_inlock(struct wid_session *s, CK_MECHANISM_PTR m,
    CK_OBJECT_HANDLE key);
CK_RV wid_sign_inlock(struct wid_session *s, CK_BYTE_PTR data,
    CK_ULONG len, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len);
CK_RV wid_sign_update_inlock(struct wid_session *s, CK_BYTE_PTR data,
    CK_ULONG len);
CK_RV wid_sign_final_inlock(struct wid_session *s, CK_BYTE_PTR sig,
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
