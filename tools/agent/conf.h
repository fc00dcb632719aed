/* tools/agent/conf.h: the agent's configuration file (YAML mapping) and
 * its defaults. */
#ifndef WID_AGENT_CONF_H
#define WID_AGENT_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "wid/client.h"

#define WID_CONF_MAX_TTL_DEFAULT (24u * 3600u)
#define WID_CONF_DEFAULT_TTL_DEFAULT (3600u)
#define WID_CONF_ALLOW_UIDS_MAX 64
#define WID_CONF_URI_MAX 256

struct wid_config {
	char socket[WID_PATH_MAX];   /* "" when not set */
	char ssh_agent_socket[WID_PATH_MAX]; /* "" default, "none" off */
	char backend[16];            /* "soft", "tpm" */
	char *tpm_tcti;              /* NULL when not set */
	char tpm_srk_name[2 * 66 + 1]; /* pinned storage key Name (hex), or "" */
	uint32_t default_ttl;        /* seconds */
	uint32_t max_ttl;            /* seconds */
	uint32_t key_types;          /* bit (1 << enum wid_key_type) per allowed type */
	uint32_t allow_uids[WID_CONF_ALLOW_UIDS_MAX];
	size_t n_allow_uids;
	/* Governance (gov.c): "" when not set. */
	char audit[WID_PATH_MAX];    /* audit log file */
	int audit_sync;              /* enum audit_sync: every (default), batch */
	uint32_t audit_checkpoint_every; /* 0: the audit default (100) */
	char audit_key[WID_PATH_MAX]; /* PEM Ed25519 key signing checkpoints */
	int syslog;                  /* mirror audit events to syslog */
	char policy[WID_PATH_MAX];   /* policy file */
	/* The X.509 certificates' URI SAN, a template (ca.h); "": default. */
	char x509_uri[WID_CONF_URI_MAX];
};

void wid_config_defaults(struct wid_config *c);
/* Loads `path` over the defaults.  On error returns WID_E_BADARG and writes
 * "FILE:LINE:COL: message" (or "FILE: message") into err. */
int wid_config_load(struct wid_config *c, const char *path, char *err,
                    size_t errlen);
void wid_config_free(struct wid_config *c);

int wid_config_key_type_allowed(const struct wid_config *c, int key_type);

#endif
