/* tools/agent/hardening.h: process hardening at start-up. */
#ifndef WID_AGENT_HARDENING_H
#define WID_AGENT_HARDENING_H

/* Non-dumpable, no core files, umask 077, more descriptors.  Before any
 * secret exists; 0 or WID_E_*. */
int wid_harden_process(void);
/* OpenSSL secure heap for private keys (mlock'd, MADV_DONTDUMP); after any
 * fork, since locks are not inherited.  Warns when mlock failed. */
int wid_harden_secure_heap(void);

#endif
