/* tools/agent/hardening.c: make the agent's memory hard to read: no core
 * dumps, no ptrace by same-uid processes, keys in the secure heap. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "wid/err.h"
#include "hardening.h"
#include "log.h"

#define SECURE_HEAP_SIZE (4u * 1024u * 1024u)
#define SECURE_HEAP_MINSIZE 32
#define NOFILE_WANT 16384

int
wid_harden_process(void)
{
	struct rlimit rl = { 0, 0 };

	umask(077);
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		wid_error("prctl(PR_SET_DUMPABLE): %s", strerror(errno));
		return WID_E_INTERNAL;
	}
	if (setrlimit(RLIMIT_CORE, &rl) != 0) {
		wid_error("setrlimit(RLIMIT_CORE): %s", strerror(errno));
		return WID_E_INTERNAL;
	}
	/* Room for WID_MAX_CONNS connections plus bound pidfds. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < NOFILE_WANT) {
		rl.rlim_cur = rl.rlim_max < NOFILE_WANT ? rl.rlim_max :
		    NOFILE_WANT;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	return 0;
}

int
wid_harden_secure_heap(void)
{
	int r;

	if (CRYPTO_secure_malloc_initialized())
		return 0;
	r = CRYPTO_secure_malloc_init(SECURE_HEAP_SIZE, SECURE_HEAP_MINSIZE);
	if (r == 0 || !CRYPTO_secure_malloc_initialized()) {
		wid_error("cannot set up the OpenSSL secure heap");
		return WID_E_NOMEM;
	}
	if (r == 2)
		wid_warn("secure heap is not locked in memory (mlock failed; "
		    "raise RLIMIT_MEMLOCK): keys may be swapped out");
	return 0;
}
