/* tools/agent/ca.h: the agent's local certificate authority.  Two
 * independent CA keys, created on request (CA_INIT) in the agent's key
 * backend and signing through it like task keys:
 *   - the OpenSSH CA, which signs user certificates for task keys
 *     (PROTOCOL.certkeys), verified by sshd's TrustedUserCAKeys;
 *   - the X.509 CA with a self-signed CA certificate, which issues
 *     end-entity certificates for task keys (TLS client auth).
 * Soft backend: Ed25519 (SSH) and P-256 (X.509) keys in agent memory, gone
 * when the agent stops (verifiers then need the new CA).  TPM backend:
 * P-256 keys persistent in the TPM (and the CA certificate in its NV), so
 * verifiers keep trusting the CA across agent restarts and reboots.
 * A certificate is valid exactly from the task's start to its deadline.
 *
 * Thread safety: every function may be called from several threads; the
 * CA keys are created once and never replaced, so issuing needs no lock
 * beyond the one that publishes them. */
#ifndef WID_AGENT_CA_H
#define WID_AGENT_CA_H

#include <stddef.h>
#include <stdint.h>

#include "wid/proto.h"

/* Validity of the self-signed X.509 CA certificate. */
#define WID_CA_X509_DAYS 3650
/* Largest OpenSSH certificate line we produce (RSA-3072 subject key). */
#define WID_SSH_CERT_LINE_MAX 4096

struct wid_ca;

struct wid_backend_ops;

/* The URI SAN of X.509 task certificates: a template where {id}, {scope}
 * and {host} stand for the task id, its scope and the agent's host name
 * (config x509_uri; e.g. "spiffe://example.org/ci/{scope}/{id}"). */
#define WID_CA_URI_DEFAULT "wid://{host}/task/{id}"

/* 0 when tmpl is a usable template: it starts with a URI scheme and
 * "://", has only printable ASCII without spaces, uses only the
 * placeholders above, and {id} (each certificate names its task); else
 * WID_E_BADARG and why. */
int wid_ca_uri_check(const char *tmpl, char *why, size_t whylen);

/* The CA of the agent whose key backend is ops/bstate; host names the CA
 * and goes into URIs; uri: the URI SAN template (NULL or "": the
 * default), already checked.  CA keys the backend kept from before (TPM)
 * are loaded now (a failure to load them is logged, the CA then has
 * none); now: the X.509 CA certificate's notBefore if one must be made. */
int wid_ca_new(const char *host, const char *uri,
               const struct wid_backend_ops *ops, void *bstate, int64_t now,
               struct wid_ca **ret_ca);
void wid_ca_free(struct wid_ca *ca);

/* Creates the CA keys named by `bits` (WID_CA_SSH, WID_CA_X509) that do
 * not exist yet; existing ones are kept.  *ret_created: the bits created
 * now. */
int wid_ca_init(struct wid_ca *ca, unsigned bits, int64_t now,
                unsigned *ret_created);
/* The WID_CA_* bits whose keys exist. */
unsigned wid_ca_bits(struct wid_ca *ca);
/* The refusal for a missing CA key (bits: the WID_CA_* missing; the
 * OpenSSH one named first): WID_E_UNSUPPORTED, and in reason the
 * `ca init` to run. */
int wid_ca_missing(unsigned bits, char *reason, size_t rlen);

/* "ssh-ed25519 BASE64 wid-ca@HOST", for TrustedUserCAKeys. */
int wid_ca_ssh_pubkey(struct wid_ca *ca, char *out, size_t size);
/* The CA certificate, DER. */
int wid_ca_x509_der(struct wid_ca *ca, uint8_t *out, size_t size,
                    size_t *ret_len);

/* An OpenSSH user certificate line ("TYPE-cert-v01@openssh.com BASE64
 * ID") for the task's key: serial = task serial, key id = task id,
 * principals from the comma-separated list (at least one), valid from
 * task->created to task->expires, the standard permit-* extensions and
 * intent@wid / requester@wid carrying the task's intent and requester. */
int wid_ca_issue_ssh(struct wid_ca *ca, const struct wid_task *task,
                     const char *principals, char *out, size_t size,
                     char *reason, size_t rlen);
/* An X.509 end-entity certificate (DER) for the task's key: subject
 * CN=ID, O=wid; SAN URI from the template (default wid://HOST/task/ID);
 * notBefore = created, notAfter = expires; digitalSignature, clientAuth. */
int wid_ca_issue_x509(struct wid_ca *ca, const struct wid_task *task,
                      uint8_t *out, size_t size, size_t *ret_len,
                      char *reason, size_t rlen);

#endif
