/* tools/agent/backend.h: the key backends behind one ops table.  A backend
 * creates a task key, reports its public key, signs with it and destroys
 * it.  Keys never leave the backend: no operation returns private bytes.
 *
 * Thread safety: sign() may be called from several worker threads at once,
 * also on the same key; a backend that cannot do that (the TPM) serializes
 * inside.  keygen() and destroy() may run concurrently with sign() on other
 * keys, never on the same key (the task table holds a reference). */
#ifndef WID_AGENT_BACKEND_H
#define WID_AGENT_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "wid/proto.h"

enum wid_backend_id {
	WID_BACKEND_SOFT = 0,
	WID_BACKEND_TPM = 1,
};

struct wid_backend_ops {
	const char *name;                 /* "soft", "tpm" */
	/* 1: sign() computes in this process in microseconds (no device,
	 * no disk); the server then serves a signature without waking a
	 * second worker to watch the sockets meanwhile. */
	int sign_in_memory;
	/* conf: backend-specific string (the TPM's TCTI), may be NULL. */
	int (*open)(const char *conf, void **ret_state);
	void (*close)(void *state);
	/* ttl: seconds from now; a backend that can enforce the deadline
	 * itself (TPM clock policy) binds the key to it. */
	int (*keygen)(void *state, int key_type, uint32_t ttl, void **ret_key);
	/* DER SubjectPublicKeyInfo into out (WID_SPKI_MAX bytes). */
	int (*spki)(void *state, void *key, uint8_t *out, size_t *ret_len);
	/* Computes req->alg over req->data into sig (WID_SIG_MAX bytes), in
	 * PKCS#11 format (ECDSA: r||s, each the order's width). */
	int (*sign)(void *state, void *key, const struct wid_sign_req *req,
	            uint8_t *sig, size_t *ret_len);
	/* Wipes and frees the key; a TPM task key is revoked as well, a CA
	 * key (below) only forgotten by the agent. */
	void (*destroy)(void *state, void *key);
	/* The long-lived CA key for `which` (WID_CA_SSH or WID_CA_X509):
	 * the one the backend keeps, else, when `create` is set, a new one.
	 * *ret_key is NULL (and 0 returned) when there is none and create
	 * is not set.  Soft: an Ed25519 (SSH) or P-256 (X.509) key in agent
	 * memory, never kept across restarts.  TPM: a P-256 key persistent
	 * in the TPM, kept across agent restarts and reboots.  Used with
	 * spki(), sign() and destroy() like a task key.  NULL: the backend
	 * holds no CA keys (CA_INIT is refused). */
	int (*ca_key)(void *state, unsigned which, int create, void **ret_key);
	/* Optional (NULL: nothing is kept): stores / loads the X.509 CA
	 * certificate (DER) next to the CA key, so that it survives like
	 * the key.  load: *ret_len 0 when none is stored. */
	int (*ca_cert_store)(void *state, const uint8_t *der, size_t len);
	int (*ca_cert_load)(void *state, uint8_t *der, size_t size,
	                    size_t *ret_len);
};

extern const struct wid_backend_ops wid_backend_soft;
#ifdef WID_HAVE_TPM
extern const struct wid_backend_ops wid_backend_tpm;
#endif

#endif
