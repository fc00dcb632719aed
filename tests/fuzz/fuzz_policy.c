/* tests/fuzz/fuzz_policy.c: the policy parser (libyaml + our schema
 * checks) on any file content; an accepted policy is then evaluated for
 * issuance, use and approval, which must not fail on valid arguments.  A
 * rejected file must come with a "FILE:LINE:COL: message" or "FILE: ..."
 * error naming the file. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wid/err.h"
#include "wid/proto.h"
#include "tools/agent/policy.h"
#include "memfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
evaluate(const struct policy *p)
{
	static const uint32_t gids[] = { 0, 100, 1000 };
	struct policy_issue_req iq = {
		.uid = 1000, .gids = gids, .ngids = 3, .scope = "deploy",
		.key_type = WID_KEY_EC_P256, .ttl = 600,
	};
	struct policy_approver ap = { .uid = 0, .gids = gids, .ngids = 1 };
	struct policy_use_req uq = {
		.uid = 1000, .gids = gids, .ngids = 3, .exe = "/usr/bin/ssh",
		.cgroup = "/user.slice/ci", .task = "t1", .scope = NULL,
		.requester_uid = 1000, .mech = "ECDSA", .sign_count = 5,
		.now = 1700000000,
	};
	struct policy_decision d;

	if (policy_check_issue(p, &iq, &d) != WID_OK ||
	    policy_check_use(p, &uq, &d) != WID_OK ||
	    policy_check_approve(p, &iq, &ap, &d) != WID_OK)
		abort();
	if (strlen(policy_hash(p)) != 64)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy *p = NULL;
	char path[64], err[512];
	int fd;

	if ((fd = memfile_open(data, size, path, sizeof(path))) < 0)
		return 0;
	err[0] = '\0';
	if (policy_load(path, &p, err, sizeof(err)) == WID_OK) {
		evaluate(p);
		policy_unref(p);
	} else if (p != NULL || strncmp(err, path, strlen(path)) != 0)
		abort();
	close(fd);
	return 0;
}
