/* tests/fuzz/fuzz_audit.c: the audit verifier (JSON Lines, hash chain,
 * checkpoint signatures) on any file content, without and with a pinned
 * key.  Whatever it says, the result must be consistent: WID_OK names no
 * bad line, WID_E_AUDIT names one that was read, with a reason. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wid/err.h"
#include "tools/agent/audit.h"
#include "memfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A real Ed25519 public key (its private half is gone): a pinned key the
 * input cannot match, so the pinned checks run. */
static const char pinned[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEACq0kg6x47xGO2Yph1glWkEM7XVrhrRHatQLnTVPoD94=\n"
    "-----END PUBLIC KEY-----\n";

static void
check(const char *path, const char *pem)
{
	struct audit_verify_result res;
	int r;

	memset(&res, 0xa5, sizeof(res));
	r = audit_verify_file(path, pem, &res);
	if (r == WID_E_BADARG)
		abort();        /* the path and the pinned key are valid */
	if (r == WID_OK && res.bad_line != 0)
		abort();
	if (r == WID_E_AUDIT && (res.bad_line == 0 ||
	    res.bad_line > res.lines + 1 || res.reason[0] == '\0' ||
	    memchr(res.reason, '\0', sizeof(res.reason)) == NULL))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int fd;

	if ((fd = memfile_open(data, size, path, sizeof(path))) < 0)
		return 0;
	check(path, NULL);
	check(path, pinned);
	close(fd);
	return 0;
}
