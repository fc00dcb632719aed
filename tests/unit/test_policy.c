/* tests/unit/test_policy.c: the policy engine decides a table of issue,
 * approval and use requests as documented (deny by default, deny wins,
 * first allow rule with its limits), reports malformed files as exact
 * FILE:LINE:COL, keeps the old policy when a reload fails, and loads
 * conf/policy.example. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "wid/err.h"
#include "wid/proto.h"
#include "policy.h"

static char dir[64];
static char path[128];

static int
setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/wid-policy-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/policy.yaml", dir);
	return 0;
}

static int
teardown(void **state)
{
	unlink(path);
	return rmdir(dir);
}

static void
write_file(const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static struct policy *
load(const char *text)
{
	struct policy *p = NULL;
	char err[512];

	write_file(text);
	if (policy_load(path, &p, err, sizeof(err)) != WID_OK)
		fail_msg("load: %s", err);
	return p;
}

/* uid 0 is in Unix group root (gid 0); the file's own groups hold the
 * others.  2024-01-01 is a Monday. */
static const char good[] =
	"version: 1\n"
	"groups:\n"
	"  approvers: [1001, 1002]\n"
	"  deployers: [1000, 1001]\n"
	"  ci: [2000]\n"
	"issue:\n"
	"  - name: no-nobody\n"
	"    effect: deny\n"
	"    requesters: {users: [nobody]}\n"
	"  - name: no-rsa-ci\n"
	"    effect: deny\n"
	"    requesters: {groups: [ci]}\n"
	"    key_types: [rsa2048, rsa3072]\n"
	"  - name: deploy\n"
	"    requesters: {groups: [deployers, ci]}\n"
	"    scopes: [deploy]\n"
	"    key_types: [ec-p256]\n"
	"    max_ttl: 30m\n"
	"    approval: {group: approvers}\n"
	"    ssh_principals: [deploy, release]\n"
	"  - name: root-deploy\n"
	"    requesters: {uids: [0]}\n"
	"    scopes: [rootdeploy]\n"
	"    max_ttl: 10m\n"
	"    approval: {group: root}\n"
	"  - name: local-short\n"
	"    scopes: [default]\n"
	"    key_types: [ec-p256, ed25519, rsa2048]\n"
	"    max_ttl: 1h\n"
	"    approval: none\n"
	"use:\n"
	"  - name: no-sha1\n"
	"    effect: deny\n"
	"    mechanisms: [ECDSA_SHA1]\n"
	"  - name: freeze\n"
	"    effect: deny\n"
	"    tasks: {scopes: [deploy]}\n"
	"    window: {days: [sat, sun]}\n"
	"  - name: burst-cap\n"
	"    effect: deny\n"
	"    tasks: {ids: [\"burst-*\"]}\n"
	"    max_signatures: 100\n"
	"  - name: ci-tools\n"
	"    tasks: {scopes: [default]}\n"
	"    callers:\n"
	"      groups: [ci]\n"
	"      requester: true\n"
	"      exe: [/usr/bin/ssh, /usr/bin/git]\n"
	"      cgroup_prefix: [/system.slice/runner.service]\n"
	"    mechanisms: [ECDSA, ECDSA_SHA256, EDDSA]\n"
	"    max_signatures: 3\n"
	"  - name: office\n"
	"    tasks: {scopes: [office]}\n"
	"    window: {days: [mon, tue, wed, thu, fri], from: \"08:00\", to: \"18:00\", tz: UTC}\n"
	"  - name: night\n"
	"    tasks: {scopes: [night]}\n"
	"    window: {days: [mon], from: \"22:00\", to: \"06:00\"}\n"
	"  - name: deploy-sign\n"
	"    tasks: {scopes: [deploy]}\n"
	"    callers: {groups: [deployers]}\n"
	"  - name: root-any\n"
	"    callers: {groups: [root]}\n"
	"  - name: local-own\n"
	"    tasks: {scopes: [default]}\n"
	"    callers: {requester: true}\n";

#define MON0 ((time_t)1704067200)   /* Mon 2024-01-01 00:00:00 UTC */
#define H(h, m) ((time_t)((h) * 3600 + (m) * 60))
#define DAY ((time_t)86400)

static const uint32_t g_none[] = { 100 };
static const uint32_t g_root[] = { 0 };

struct issue_case {
	uint32_t uid;
	int root_group;
	const char *scope;
	int key_type;
	uint32_t ttl;
	int allow, approval;
	const char *rule;
	const char *reason;        /* substring, or NULL */
	const char *user;          /* the requester's name */
	const char *principals;    /* asked for an OpenSSH certificate */
};

static const struct issue_case issue_cases[] = {
	{ 1000, 0, "default", WID_KEY_EC_P256, 3600, 1, 0, "local-short", NULL, NULL, NULL },
	{ 1000, 0, NULL, WID_KEY_ED25519, 60, 1, 0, "local-short", NULL, NULL, NULL },
	{ 1000, 0, "default", WID_KEY_EC_P256, 3601, 0, 0, "local-short", "exceeds max_ttl", NULL, NULL },
	{ 1000, 0, "default", WID_KEY_RSA3072, 60, 0, 0, "local-short", "key type rsa3072", NULL, NULL },
	{ 1000, 0, "default", WID_KEY_EC_P256, 0, 0, 0, "local-short", "ttl 0s", NULL, NULL },
	{ 1000, 0, "other", WID_KEY_EC_P256, 60, 0, 0, "default-deny", NULL, NULL, NULL },
	{ 65534, 0, "default", WID_KEY_EC_P256, 60, 0, 0, "no-nobody", NULL, NULL, NULL },
	{ 1000, 0, "deploy", WID_KEY_EC_P256, 1800, 1, 1, "deploy", "approval", NULL, NULL },
	{ 1000, 0, "deploy", WID_KEY_EC_P256, 1801, 0, 0, "deploy", "max_ttl", NULL, NULL },
	{ 1000, 0, "deploy", WID_KEY_ED25519, 60, 0, 0, "deploy", "key type", NULL, NULL },
	{ 3000, 0, "deploy", WID_KEY_EC_P256, 60, 0, 0, "default-deny", NULL, NULL, NULL },
	{ 2000, 0, "deploy", WID_KEY_EC_P256, 60, 1, 1, "deploy", NULL, NULL, NULL },
	/* deny wins over a later allow */
	{ 2000, 0, "default", WID_KEY_RSA2048, 60, 0, 0, "no-rsa-ci", NULL, NULL, NULL },
	{ 2000, 0, "default", WID_KEY_EC_P256, 60, 1, 0, "local-short", NULL, NULL, NULL },
	{ 0, 1, "rootdeploy", WID_KEY_RSA3072, 600, 1, 1, "root-deploy", NULL, NULL, NULL },
	/* OpenSSH certificate principals: the rule's list, else own name */
	{ 1000, 0, "deploy", WID_KEY_EC_P256, 60, 1, 1, "deploy", NULL,
	  "alice", "deploy,release" },
	{ 1000, 0, "deploy", WID_KEY_EC_P256, 60, 0, 0, "deploy",
	  "principal 'root' not allowed (not in ssh_principals)", "alice",
	  "deploy,root" },
	{ 1000, 0, "deploy", WID_KEY_EC_P256, 60, 0, 0, "deploy",
	  "principal 'deplo' not allowed", "alice", "deplo" },
	{ 1000, 0, "default", WID_KEY_EC_P256, 60, 1, 0, "local-short", NULL,
	  "alice", "alice" },
	{ 1000, 0, "default", WID_KEY_EC_P256, 60, 0, 0, "local-short",
	  "principal 'bob' not allowed (without ssh_principals only the "
	  "requester's own user name)", "alice", "alice,bob" },
	{ 1000, 0, "default", WID_KEY_EC_P256, 60, 0, 0, "local-short",
	  "principal 'alice' not allowed", NULL, "alice" },
};

static void
test_issue_table(void **state)
{
	struct policy *p = load(good);
	struct policy_decision d;
	size_t i;

	for (i = 0; i < sizeof(issue_cases) / sizeof(issue_cases[0]); i++) {
		const struct issue_case *c = &issue_cases[i];
		struct policy_issue_req q = {
			.uid = c->uid, .gids = c->root_group ? g_root : g_none,
			.ngids = 1, .scope = c->scope, .key_type = c->key_type,
			.ttl = c->ttl, .user = c->user,
			.ssh_principals = c->principals,
		};

		assert_int_equal(policy_check_issue(p, &q, &d), WID_OK);
		if (d.allow != c->allow || d.needs_approval != c->approval ||
		    strcmp(d.rule, c->rule) != 0 ||
		    (c->reason && strstr(d.reason, c->reason) == NULL))
			fail_msg("issue case %zu: got allow=%d approval=%d "
			    "rule=%s reason=%s", i, d.allow, d.needs_approval,
			    d.rule, d.reason);
	}
	policy_unref(p);
}

struct approve_case {
	uint32_t req_uid;
	const char *scope;
	uint32_t approver;
	int approver_root;
	int allow;
	const char *rule;
	const char *reason;
};

static const struct approve_case approve_cases[] = {
	{ 1000, "deploy", 1001, 0, 1, "deploy", "approved by uid 1001" },
	{ 1001, "deploy", 1001, 0, 0, "deploy", "own task" },       /* self */
	{ 1000, "deploy", 3000, 0, 0, "deploy", "not in the approval group" },
	{ 1000, "deploy", 0, 1, 0, "deploy", "not in the approval group" },
	{ 1000, "default", 3000, 0, 1, "local-short", "no approval needed" },
	{ 3000, "deploy", 1001, 0, 0, "default-deny", NULL },
	/* Unix group approvers (gid 0), by gid, not uid */
	{ 0, "rootdeploy", 5000, 1, 1, "root-deploy", NULL },
	{ 0, "rootdeploy", 5000, 0, 0, "root-deploy", "not in the approval group" },
	{ 0, "rootdeploy", 0, 1, 0, "root-deploy", "own task" },
};

static void
test_approve_table(void **state)
{
	struct policy *p = load(good);
	struct policy_decision d;
	size_t i;

	for (i = 0; i < sizeof(approve_cases) / sizeof(approve_cases[0]); i++) {
		const struct approve_case *c = &approve_cases[i];
		struct policy_issue_req q = {
			.uid = c->req_uid, .gids = c->req_uid == 0 ? g_root : g_none,
			.ngids = 1, .scope = c->scope,
			.key_type = WID_KEY_EC_P256, .ttl = 60,
		};
		struct policy_approver a = {
			.uid = c->approver, .gids = c->approver_root ? g_root :
			    g_none, .ngids = 1,
		};

		assert_int_equal(policy_check_approve(p, &q, &a, &d), WID_OK);
		if (d.allow != c->allow || strcmp(d.rule, c->rule) != 0 ||
		    (c->reason && strstr(d.reason, c->reason) == NULL))
			fail_msg("approve case %zu: got allow=%d rule=%s reason=%s",
			    i, d.allow, d.rule, d.reason);
	}
	policy_unref(p);
}

struct use_case {
	uint32_t uid;
	int root_group;
	const char *exe;
	const char *cgroup;
	const char *task;
	const char *scope;
	uint32_t requester;
	const char *mech;
	uint64_t count;
	time_t now;
	int allow;
	const char *rule;
	const char *reason;
};

#define CG "/system.slice/runner.service/job-1"
static const struct use_case use_cases[] = {
	/* CI: ssh allowed, openssl denied, same task */
	{ 2000, 0, "/usr/bin/ssh", CG, "ci-1", "default", 2000, "ECDSA", 0, MON0, 1, "ci-tools", NULL },
	{ 2000, 0, "/usr/bin/openssl", CG, "ci-1", "default", 2000, "ECDSA", 0, MON0, 0, "ci-tools", "executable /usr/bin/openssl" },
	{ 2000, 0, NULL, CG, "ci-1", "default", 2000, "ECDSA", 0, MON0, 0, "ci-tools", "executable" },
	{ 2000, 0, "/usr/bin/git", CG, "ci-1", "default", 2000, "EDDSA", 2, MON0, 1, "ci-tools", NULL },
	/* cgroup prefix by path components */
	{ 2000, 0, "/usr/bin/ssh", "/system.slice/runner.service", "ci-1", "default", 2000, "ECDSA", 0, MON0, 1, "ci-tools", NULL },
	{ 2000, 0, "/usr/bin/ssh", "/system.slice/runner.service2/x", "ci-1", "default", 2000, "ECDSA", 0, MON0, 0, "ci-tools", "cgroup" },
	{ 2000, 0, "/usr/bin/ssh", "/user.slice/user-2000.slice", "ci-1", "default", 2000, "ECDSA", 0, MON0, 0, "ci-tools", "cgroup" },
	{ 2000, 0, "/usr/bin/ssh", NULL, "ci-1", "default", 2000, "ECDSA", 0, MON0, 0, "ci-tools", "cgroup" },
	/* mechanisms, max_signatures */
	{ 2000, 0, "/usr/bin/ssh", CG, "ci-1", "default", 2000, "RSA_PKCS", 0, MON0, 0, "ci-tools", "mechanism RSA_PKCS" },
	{ 2000, 0, "/usr/bin/ssh", CG, "ci-1", "default", 2000, "ECDSA", 3, MON0, 0, "ci-tools", "max_signatures 3" },
	/* deny wins: SHA-1 even for root and for ci */
	{ 2000, 0, "/usr/bin/ssh", CG, "ci-1", "default", 2000, "ECDSA_SHA1", 0, MON0, 0, "no-sha1", NULL },
	{ 0, 1, "/usr/bin/ssh", NULL, "t", "default", 0, "ECDSA_SHA1", 0, MON0, 0, "no-sha1", NULL },
	/* ci uid on someone else's task: ci-tools does not select (requester),
	 * local-own neither: default deny */
	{ 2000, 0, "/usr/bin/ssh", CG, "t", "default", 1000, "ECDSA", 0, MON0, 0, "default-deny", NULL },
	/* local user, own task, any program */
	{ 1000, 0, "/usr/bin/python3", NULL, "t", "default", 1000, "RSA_PKCS_PSS", 99, MON0, 1, "local-own", NULL },
	{ 1000, 0, "/usr/bin/ssh", NULL, "t", NULL, 1000, "ECDSA", 0, MON0, 1, "local-own", NULL },
	{ 1001, 0, "/usr/bin/ssh", NULL, "t", "default", 1000, "ECDSA", 0, MON0, 0, "default-deny", NULL },
	{ 1000, 0, "/usr/bin/ssh", NULL, "t", "default", 1000, "NOT_A_MECH", 0, MON0, 1, "local-own", NULL },
	/* deny rule with max_signatures: a cap on matching tasks */
	{ 1000, 0, "/usr/bin/ssh", NULL, "burst-7", "default", 1000, "ECDSA", 99, MON0, 1, "local-own", NULL },
	{ 1000, 0, "/usr/bin/ssh", NULL, "burst-7", "default", 1000, "ECDSA", 100, MON0, 0, "burst-cap", NULL },
	/* time window edges, [08:00, 18:00) Mon-Fri UTC */
	{ 1000, 0, "/usr/bin/ssh", NULL, "o", "office", 1000, "ECDSA", 0, MON0 + H(8, 0), 1, "office", NULL },
	{ 1000, 0, "/usr/bin/ssh", NULL, "o", "office", 1000, "ECDSA", 0, MON0 + H(8, 0) - 1, 0, "office", "outside" },
	{ 1000, 0, "/usr/bin/ssh", NULL, "o", "office", 1000, "ECDSA", 0, MON0 + H(18, 0) - 1, 1, "office", NULL },
	{ 1000, 0, "/usr/bin/ssh", NULL, "o", "office", 1000, "ECDSA", 0, MON0 + H(18, 0), 0, "office", "outside" },
	{ 1000, 0, "/usr/bin/ssh", NULL, "o", "office", 1000, "ECDSA", 0, MON0 + 4 * DAY + H(12, 0), 1, "office", NULL },
	{ 1000, 0, "/usr/bin/ssh", NULL, "o", "office", 1000, "ECDSA", 0, MON0 + 5 * DAY + H(12, 0), 0, "office", "outside" },
	/* over midnight: Mon 22:00 - Tue 06:00 */
	{ 1000, 0, "/usr/bin/ssh", NULL, "n", "night", 1000, "ECDSA", 0, MON0 + H(23, 0), 1, "night", NULL },
	{ 1000, 0, "/usr/bin/ssh", NULL, "n", "night", 1000, "ECDSA", 0, MON0 + DAY + H(5, 59), 1, "night", NULL },
	{ 1000, 0, "/usr/bin/ssh", NULL, "n", "night", 1000, "ECDSA", 0, MON0 + DAY + H(6, 0), 0, "night", "outside" },
	{ 1000, 0, "/usr/bin/ssh", NULL, "n", "night", 1000, "ECDSA", 0, MON0 + H(5, 0), 0, "night", "outside" },
	{ 1000, 0, "/usr/bin/ssh", NULL, "n", "night", 1000, "ECDSA", 0, MON0 + DAY + H(23, 0), 0, "night", "outside" },
	/* deploy: freeze at weekends (deny wins over deploy-sign) */
	{ 1001, 0, "/usr/bin/ssh", NULL, "d", "deploy", 1000, "ECDSA", 0, MON0 + H(10, 0), 1, "deploy-sign", NULL },
	{ 1001, 0, "/usr/bin/ssh", NULL, "d", "deploy", 1000, "ECDSA", 0, MON0 + 5 * DAY + H(10, 0), 0, "freeze", NULL },
	{ 1001, 0, "/usr/bin/ssh", NULL, "d", "deploy", 1000, "ECDSA", 0, MON0 + 7 * DAY - 1, 0, "freeze", NULL },
	{ 1001, 0, "/usr/bin/ssh", NULL, "d", "deploy", 1000, "ECDSA", 0, MON0 + 7 * DAY, 1, "deploy-sign", NULL },
	{ 3000, 0, "/usr/bin/ssh", NULL, "d", "deploy", 1000, "ECDSA", 0, MON0 + H(10, 0), 0, "default-deny", NULL },
	/* Unix group by gid */
	{ 5000, 1, "/usr/bin/ssh", NULL, "d", "deploy", 1000, "ECDSA", 0, MON0 + H(10, 0), 1, "root-any", NULL },
};

static void
test_use_table(void **state)
{
	struct policy *p = load(good);
	struct policy_decision d;
	size_t i, n = sizeof(use_cases) / sizeof(use_cases[0]);

	assert_true(n >= 30);
	for (i = 0; i < n; i++) {
		const struct use_case *c = &use_cases[i];
		struct policy_use_req q = {
			.uid = c->uid, .gids = c->root_group ? g_root : g_none,
			.ngids = 1, .exe = c->exe, .cgroup = c->cgroup,
			.task = c->task, .scope = c->scope,
			.requester_uid = c->requester, .mech = c->mech,
			.sign_count = c->count, .now = c->now,
		};

		assert_int_equal(policy_check_use(p, &q, &d), WID_OK);
		if (d.allow != c->allow || strcmp(d.rule, c->rule) != 0 ||
		    (c->reason && strstr(d.reason, c->reason) == NULL))
			fail_msg("use case %zu: got allow=%d rule=%s reason=%s",
			    i, d.allow, d.rule, d.reason);
	}
	policy_unref(p);
}

static void
test_empty_policy_denies(void **state)
{
	struct policy *p = load("version: 1\n");
	struct policy_issue_req iq = { .uid = 0, .key_type = WID_KEY_EC_P256, .ttl = 1 };
	struct policy_use_req uq = { .uid = 0, .mech = "ECDSA", .task = "t" };
	struct policy_decision d;

	assert_int_equal(policy_check_issue(p, &iq, &d), WID_OK);
	assert_false(d.allow);
	assert_string_equal(d.rule, "default-deny");
	assert_int_equal(policy_check_use(p, &uq, &d), WID_OK);
	assert_false(d.allow);
	assert_string_equal(d.rule, "default-deny");
	assert_int_equal(policy_check_use(p, NULL, &d), WID_E_BADARG);
	assert_int_equal(strlen(policy_hash(p)), 64);
	policy_unref(p);
}

struct bad_case {
	const char *text;
	const char *err;            /* expected after "PATH:" */
};

static const struct bad_case bad_cases[] = {
	/* bad YAML */
	{ "version: 1\nuse: [a, b\n", "3:1: did not find expected ',' or ']'" },
	{ "version: 1\n  bad: indent\n", "2:6: mapping values are not allowed in this context" },
	/* unknown key */
	{ "version: 1\nissue:\n  - name: a\n    max_ttl: 1h\n    colour: red\n",
	  "5:5: issue rule: unknown key 'colour'" },
	{ "version: 1\nusers: []\n", "2:1: policy: unknown key 'users'" },
	/* wrong type */
	{ "version: 1\nuse: {name: a}\n", "2:6: use: expected a list" },
	{ "version: 1\nuse:\n  - name: a\n    mechanisms: ECDSA\n",
	  "4:17: mechanisms: expected a list" },
	{ "version: 1\nuse:\n  - name: [a]\n", "3:11: name: expected a scalar" },
	/* bad duration */
	{ "version: 1\nissue:\n  - name: a\n    max_ttl: 1x\n",
	  "4:14: max_ttl: bad duration '1x'" },
	{ "version: 1\nissue:\n  - name: a\n    max_ttl: 0\n",
	  "4:14: max_ttl: bad duration '0'" },
	{ "version: 1\nissue:\n  - name: a\n", "3:5: issue rule 'a': max_ttl is required" },
	/* unknown mechanism */
	{ "version: 1\nuse:\n  - name: a\n    mechanisms: [ECDSA, MD5_RSA]\n",
	  "4:25: unknown mechanism 'MD5_RSA'" },
	/* unknown effect */
	{ "version: 1\nuse:\n  - name: a\n    effect: permit\n",
	  "4:13: effect: expected allow or deny, not 'permit'" },
	/* duplicate rule name, also across issue and use */
	{ "version: 1\nuse:\n  - name: a\n  - name: a\n",
	  "4:11: duplicate rule name 'a'" },
	{ "version: 1\nissue:\n  - {name: x, max_ttl: 1h}\nuse:\n  - name: x\n",
	  "5:11: duplicate rule name 'x'" },
	/* bad time */
	{ "version: 1\nuse:\n  - name: a\n    window: {from: \"25:00\"}\n",
	  "4:20: from: bad time '25:00' (HH:MM)" },
	{ "version: 1\nuse:\n  - name: a\n    window: {to: \"8:00\"}\n",
	  "4:18: to: bad time '8:00' (HH:MM)" },
	{ "version: 1\nuse:\n  - name: a\n    window: {days: [mon, fun]}\n",
	  "4:26: unknown day 'fun'" },
	/* others */
	{ "version: 2\n", "1:10: unsupported version '2'" },
	{ "", "1:1: empty policy" },
	{ "issue: []\n", "1:1: version is required" },
	{ "version: 1\nversion: 1\n", "2:1: policy: duplicate key 'version'" },
	{ "version: 1\nissue:\n  - name: a\n    max_ttl: 1h\n    key_types: [ec-p521]\n",
	  "5:17: unknown key type 'ec-p521'" },
	{ "version: 1\nissue:\n  - name: a\n    max_ttl: 1h\n    requesters: {users: [no-such-user-x]}\n",
	  "5:26: unknown user 'no-such-user-x'" },
	{ "version: 1\nissue:\n  - name: a\n    max_ttl: 1h\n    approval: {group: no-such-group-x}\n",
	  "5:23: unknown group 'no-such-group-x'" },
	{ "version: 1\ngroups:\n  g: &x [1]\nuse:\n  - name: a\n    callers: {groups: *x}\n",
	  "6:23: aliases are not allowed" },
	{ "version: 1\nuse:\n  - name: a\n    callers: {exe: [ssh]}\n",
	  "4:21: exe: 'ssh' is not an absolute path" },
	{ "version: 1\nuse:\n  - name: default-deny\n", "3:11: bad rule name 'default-deny'" },
	{ "version: 1\nuse:\n  - name: a\n    max_signatures: -1\n",
	  "4:21: max_signatures: expected a number, not '-1'" },
	{ "version: 1\nissue:\n  - name: a\n    max_ttl: 1h\n    ssh_principals: [\"a,b\"]\n",
	  "5:22: ssh_principals: 'a,b' is not a principal" },
};

static void
test_malformed(void **state)
{
	char err[512], want[512];
	struct policy *p;
	size_t i;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		write_file(bad_cases[i].text);
		p = (struct policy *)1;
		assert_int_equal(policy_load(path, &p, err, sizeof(err)), WID_E_BADARG);
		assert_null(p);
		snprintf(want, sizeof(want), "%s:%s", path, bad_cases[i].err);
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("bad case %zu:\n  want %s\n  got  %s", i, want, err);
	}
	assert_int_equal(policy_load("/nonexistent/policy", &p, err, sizeof(err)),
	    WID_E_IO);
	assert_non_null(strstr(err, "/nonexistent/policy: "));
}

static void
test_reload_keeps_old(void **state)
{
	struct policy *cur, *next = NULL, *worker;
	struct policy_issue_req q = { .uid = 1000, .scope = "default",
	    .key_type = WID_KEY_EC_P256, .ttl = 60 };
	struct policy_decision d;
	char err[512], hash[65];

	cur = load(good);
	snprintf(hash, sizeof(hash), "%s", policy_hash(cur));
	/* a worker holds the current policy while a reload happens */
	worker = policy_ref(cur);
	write_file("version: 1\nissue:\n  - name: broken\n    max_ttl: soon\n");
	assert_int_equal(policy_load(path, &next, err, sizeof(err)), WID_E_BADARG);
	assert_null(next);
	assert_non_null(strstr(err, ":4:14: max_ttl: bad duration"));
	/* the caller keeps cur */
	assert_int_equal(policy_check_issue(cur, &q, &d), WID_OK);
	assert_true(d.allow);
	/* a good reload replaces it; the worker's reference stays valid */
	write_file("version: 1\n");
	assert_int_equal(policy_load(path, &next, err, sizeof(err)), WID_OK);
	assert_string_not_equal(policy_hash(next), hash);
	policy_unref(cur);
	cur = next;
	assert_int_equal(policy_check_issue(worker, &q, &d), WID_OK);
	assert_true(d.allow);
	assert_string_equal(d.rule, "local-short");
	policy_unref(worker);
	assert_int_equal(policy_check_issue(cur, &q, &d), WID_OK);
	assert_false(d.allow);
	policy_unref(cur);
}

static void
test_mech_names(void **state)
{
	assert_string_equal(policy_mech_name(0x1041), "ECDSA");
	assert_string_equal(policy_mech_name(0x1044), "ECDSA_SHA256");
	assert_string_equal(policy_mech_name(0x1057), "EDDSA");
	assert_string_equal(policy_mech_name(0x0001), "RSA_PKCS");
	assert_string_equal(policy_mech_name(0x000d), "RSA_PKCS_PSS");
	assert_string_equal(policy_mech_name(0x0043), "SHA256_RSA_PKCS_PSS");
	assert_null(policy_mech_name(0x0003));
}

static void
test_example_loads(void **state)
{
	const char *src = getenv("WID_SRCDIR");
	struct policy *p = NULL;
	struct policy_decision d;
	char file[512], err[512];
	const uint32_t ci[] = { 1100 };
	struct policy_use_req q = { .uid = 1100, .gids = ci, .ngids = 1,
	    .exe = "/usr/bin/ssh-agent",
	    .cgroup = "/system.slice/gitlab-runner.service",
	    .task = "job-1", .scope = "default", .requester_uid = 1100,
	    .mech = "ECDSA", .now = MON0 };
	struct policy_issue_req iq = { .uid = 1000, .gids = g_none, .ngids = 1,
	    .scope = "deploy", .key_type = WID_KEY_EC_P256, .ttl = 600 };

	if (src == NULL)
		skip();
	snprintf(file, sizeof(file), "%s/conf/policy.example", src);
	if (policy_load(file, &p, err, sizeof(err)) != WID_OK)
		fail_msg("%s", err);
	assert_int_equal(policy_check_use(p, &q, &d), WID_OK);
	assert_true(d.allow);
	assert_string_equal(d.rule, "ci-runner-tools");
	q.exe = "/usr/bin/python3";
	assert_int_equal(policy_check_use(p, &q, &d), WID_OK);
	assert_false(d.allow);
	assert_string_equal(d.rule, "ci-runner-tools");
	assert_int_equal(policy_check_issue(p, &iq, &d), WID_OK);
	assert_true(d.allow);
	assert_true(d.needs_approval);
	assert_string_equal(d.approver_group, "approvers");
	iq.scope = NULL;
	iq.ttl = 7200;
	assert_int_equal(policy_check_issue(p, &iq, &d), WID_OK);
	assert_false(d.allow);
	assert_string_equal(d.rule, "local-short");
	policy_unref(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_issue_table),
		T(test_approve_table),
		T(test_use_table),
		T(test_empty_policy_denies),
		T(test_malformed),
		T(test_reload_keeps_old),
		T(test_mech_names),
		T(test_example_loads),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
