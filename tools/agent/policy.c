/* tools/agent/policy.c: loads the policy file with libyaml into an
 * immutable, reference-counted object and evaluates issuance, approval and
 * use requests against it.  Semantics in policy.h and conf/policy.example. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <grp.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/sha.h>
#include <yaml.h>

#include "wid/err.h"
#include "wid/proto.h"
#include "policy.h"

#define DEFAULT_SCOPE "default"

struct idset {
	bool any;                    /* key absent: everyone */
	uint32_t *uids;
	size_t nuids;
	uint32_t *gids;
	size_t ngids;
};

struct strlist {
	char **v;
	size_t n;
};

struct window {
	bool set;
	unsigned days;               /* bit tm_wday */
	int from, to;                /* minutes of the day, [from, to) */
	bool utc;
};

struct issue_rule {
	const char *name;
	bool deny;
	struct idset requesters;
	struct strlist scopes;       /* n == 0: any */
	unsigned key_types;          /* bit per enum wid_key_type; 0: any */
	uint32_t max_ttl;
	bool approval;
	const char *approval_group;
	struct idset approvers;
	bool ssh_principals_set;     /* false: the requester's name only */
	struct strlist ssh_principals;
};

struct use_rule {
	const char *name;
	bool deny;
	struct strlist scopes, ids;  /* tasks */
	struct idset callers;
	bool requester_only;
	struct strlist exe, cgroup_prefix;
	unsigned mechs;              /* bit per mechs[] index; 0: any */
	bool has_max;
	uint64_t max_signatures;
	struct window window;
};

struct named_group {
	const char *name;
	uint32_t *uids;
	size_t nuids;
};

struct alloc {
	struct alloc *next;
	max_align_t data[];
};

struct policy {
	atomic_uint refs;
	char hash[2 * SHA256_DIGEST_LENGTH + 1];
	struct named_group *groups;
	size_t ngroups;
	struct issue_rule *issue;
	size_t nissue;
	struct use_rule *use;
	size_t nuse;
	struct alloc *mem;           /* everything above lives here */
};

static const struct {
	const char *name;
	unsigned long ckm;
} mechs[] = {
	/* PKCS#11 2.40 values */
	{ "RSA_PKCS", 0x00000001UL },
	{ "RSA_PKCS_PSS", 0x0000000dUL },
	{ "SHA256_RSA_PKCS", 0x00000040UL },
	{ "SHA384_RSA_PKCS", 0x00000041UL },
	{ "SHA512_RSA_PKCS", 0x00000042UL },
	{ "SHA256_RSA_PKCS_PSS", 0x00000043UL },
	{ "SHA384_RSA_PKCS_PSS", 0x00000044UL },
	{ "SHA512_RSA_PKCS_PSS", 0x00000045UL },
	{ "ECDSA", 0x00001041UL },
	{ "ECDSA_SHA1", 0x00001042UL },
	{ "ECDSA_SHA224", 0x00001043UL },
	{ "ECDSA_SHA256", 0x00001044UL },
	{ "ECDSA_SHA384", 0x00001045UL },
	{ "ECDSA_SHA512", 0x00001046UL },
	{ "EDDSA", 0x00001057UL },
};
#define NMECHS (sizeof(mechs) / sizeof(mechs[0]))

static const char *const day_names[7] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat"
};

const char *
policy_mech_name(unsigned long ckm)
{
	size_t i;

	for (i = 0; i < NMECHS; i++)
		if (mechs[i].ckm == ckm)
			return mechs[i].name;
	return NULL;
}

static int
mech_index(const char *name)
{
	size_t i;

	if (name == NULL)
		return -1;
	for (i = 0; i < NMECHS; i++)
		if (strcmp(mechs[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* ---- loading ---- */

struct ctx {
	const char *file;
	yaml_document_t *doc;
	struct policy *p;
	char *err;
	size_t errlen;
	int rc;                      /* first error (WID_E_BADARG or NOMEM) */
};

static void *
palloc(struct ctx *c, size_t size)
{
	struct alloc *a;

	if ((a = calloc(1, sizeof(*a) + size)) == NULL) {
		c->rc = WID_E_NOMEM;
		return NULL;
	}
	a->next = c->p->mem;
	c->p->mem = a;
	return a->data;
}

static int perr(struct ctx *, const yaml_mark_t *, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static int
perr(struct ctx *c, const yaml_mark_t *m, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->err != NULL && c->errlen > 0)
		snprintf(c->err, c->errlen, "%s:%zu:%zu: %s", c->file,
		    m->line + 1, m->column + 1, msg);
	if (c->rc == WID_OK)
		c->rc = WID_E_BADARG;
	return -1;
}

static yaml_node_t *
node(struct ctx *c, yaml_node_item_t i)
{
	return yaml_document_get_node(c->doc, i);
}

static int
want(struct ctx *c, yaml_node_t *n, yaml_node_type_t t, const char *what)
{
	static const char *const names[] = {
		[YAML_SCALAR_NODE] = "a scalar",
		[YAML_SEQUENCE_NODE] = "a list",
		[YAML_MAPPING_NODE] = "a mapping",
	};

	if (n->type != t)
		return perr(c, &n->start_mark, "%s: expected %s", what, names[t]);
	return 0;
}

/* NUL-terminated copy of a scalar; embedded NULs are refused. */
static const char *
scalar(struct ctx *c, yaml_node_t *n, const char *what)
{
	char *s;
	size_t len = n->data.scalar.length;

	if (want(c, n, YAML_SCALAR_NODE, what) != 0)
		return NULL;
	if (memchr(n->data.scalar.value, '\0', len) != NULL) {
		perr(c, &n->start_mark, "%s: NUL byte", what);
		return NULL;
	}
	if ((s = palloc(c, len + 1)) == NULL)
		return NULL;
	memcpy(s, n->data.scalar.value, len);
	return s;
}

static int
parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (max - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*ret = v;
	return 0;
}

/* "90", "30s", "15m", "1h30m", "2d": seconds, > 0. */
static int
parse_duration(const char *s, uint32_t *ret)
{
	uint64_t total = 0, v, unit;
	const char *p = s;
	char *end;

	if (parse_u64(s, UINT32_MAX, &v) == 0) {
		total = v;
		goto done;
	}
	while (*p) {
		if (*p < '0' || *p > '9')
			return -1;
		errno = 0;
		v = strtoull(p, &end, 10);
		if (errno != 0 || v > UINT32_MAX)
			return -1;
		switch (*end) {
		case 'd': unit = 86400; break;
		case 'h': unit = 3600; break;
		case 'm': unit = 60; break;
		case 's': unit = 1; break;
		default: return -1;
		}
		total += v * unit;
		if (total > UINT32_MAX)
			return -1;
		p = end + 1;
	}
 done:
	if (total == 0)
		return -1;
	*ret = (uint32_t)total;
	return 0;
}

/* "HH:MM", 00:00..23:59, and 24:00 when allow_24. */
static int
parse_hhmm(const char *s, bool allow_24, int *ret)
{
	int h, m;

	if (strlen(s) != 5 || s[2] != ':' ||
	    s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' ||
	    s[3] < '0' || s[3] > '9' || s[4] < '0' || s[4] > '9')
		return -1;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (m > 59 || h > 24 || (h == 24 && (!allow_24 || m != 0)))
		return -1;
	*ret = h * 60 + m;
	return 0;
}

static bool
name_valid(const char *s)
{
	size_t i, len = strlen(s);

	if (len == 0 || len > POLICY_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' ||
		    s[i] == '.'))
			return false;
	return true;
}

/* Checks a mapping's keys against `allowed` (NULL-terminated): unknown
 * and duplicate keys are errors at the key. */
static int
check_keys(struct ctx *c, yaml_node_t *map, const char *what,
    const char *const *allowed)
{
	yaml_node_pair_t *a, *b;
	yaml_node_t *k, *k2;
	size_t i;

	if (want(c, map, YAML_MAPPING_NODE, what) != 0)
		return -1;
	for (a = map->data.mapping.pairs.start; a < map->data.mapping.pairs.top; a++) {
		k = node(c, a->key);
		if (want(c, k, YAML_SCALAR_NODE, "key") != 0)
			return -1;
		for (i = 0; allowed[i] != NULL; i++)
			if (strlen(allowed[i]) == k->data.scalar.length &&
			    memcmp(allowed[i], k->data.scalar.value,
			    k->data.scalar.length) == 0)
				break;
		if (allowed[i] == NULL)
			return perr(c, &k->start_mark, "%s: unknown key '%.*s'",
			    what, (int)(k->data.scalar.length > 40 ? 40 :
			    k->data.scalar.length), (const char *)k->data.scalar.value);
		for (b = map->data.mapping.pairs.start; b < a; b++) {
			k2 = node(c, b->key);
			if (k2->type == YAML_SCALAR_NODE &&
			    k2->data.scalar.length == k->data.scalar.length &&
			    memcmp(k2->data.scalar.value, k->data.scalar.value,
			    k->data.scalar.length) == 0)
				return perr(c, &k->start_mark,
				    "%s: duplicate key '%s'", what, allowed[i]);
		}
	}
	return 0;
}

/* Value of key `k` in a checked mapping, NULL if absent. */
static yaml_node_t *
lookup(struct ctx *c, yaml_node_t *map, const char *k)
{
	yaml_node_pair_t *a;
	yaml_node_t *kn;

	for (a = map->data.mapping.pairs.start; a < map->data.mapping.pairs.top; a++) {
		kn = node(c, a->key);
		if (kn->data.scalar.length == strlen(k) &&
		    memcmp(kn->data.scalar.value, k, kn->data.scalar.length) == 0)
			return node(c, a->value);
	}
	return NULL;
}

static int
strlist(struct ctx *c, yaml_node_t *n, const char *what, struct strlist *ret)
{
	yaml_node_item_t *it;
	size_t i = 0;

	if (want(c, n, YAML_SEQUENCE_NODE, what) != 0)
		return -1;
	ret->n = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if ((ret->v = palloc(c, (ret->n + 1) * sizeof(char *))) == NULL)
		return -1;
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++)
		if ((ret->v[i++] = (char *)scalar(c, node(c, *it), what)) == NULL)
			return -1;
	return 0;
}

static int
append_id(struct ctx *c, uint32_t **v, size_t *n, uint32_t id)
{
	uint32_t *nv;

	if ((nv = palloc(c, (*n + 1) * sizeof(*nv))) == NULL)
		return -1;
	if (*n)
		memcpy(nv, *v, *n * sizeof(*nv));
	nv[(*n)++] = id;
	*v = nv;
	return 0;
}

static const struct named_group *
find_group(const struct policy *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->ngroups; i++)
		if (strcmp(p->groups[i].name, name) == 0)
			return &p->groups[i];
	return NULL;
}

/* A group name: the file's groups first, else a Unix group. */
static int
add_group(struct ctx *c, yaml_node_t *n, struct idset *s)
{
	const struct named_group *g;
	const struct group *gr;
	const char *name;
	size_t i;

	if ((name = scalar(c, n, "group")) == NULL)
		return -1;
	if ((g = find_group(c->p, name)) != NULL) {
		for (i = 0; i < g->nuids; i++)
			if (append_id(c, &s->uids, &s->nuids, g->uids[i]) != 0)
				return -1;
		return 0;
	}
	if ((gr = getgrnam(name)) == NULL)
		return perr(c, &n->start_mark, "unknown group '%s'", name);
	return append_id(c, &s->gids, &s->ngids, (uint32_t)gr->gr_gid);
}

/* One uid: a number or a user name. */
static int
add_user(struct ctx *c, yaml_node_t *n, bool numeric, uint32_t **v, size_t *nv)
{
	const char *s;
	uint64_t id;
	uint32_t uid;

	if ((s = scalar(c, n, numeric ? "uid" : "user")) == NULL)
		return -1;
	if (parse_u64(s, UINT32_MAX - 1, &id) == 0)
		return append_id(c, v, nv, (uint32_t)id);
	if (numeric)
		return perr(c, &n->start_mark, "bad uid '%s'", s);
	if (wid_uid_parse(s, &uid) != 0)
		return perr(c, &n->start_mark, "unknown user '%s'", s);
	return append_id(c, v, nv, uid);
}

static int
seq_each(struct ctx *c, yaml_node_t *n, const char *what,
    int (*fn)(struct ctx *, yaml_node_t *, void *), void *arg)
{
	yaml_node_item_t *it;

	if (want(c, n, YAML_SEQUENCE_NODE, what) != 0)
		return -1;
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++)
		if (fn(c, node(c, *it), arg) != 0)
			return -1;
	return 0;
}

static int
uid_item(struct ctx *c, yaml_node_t *n, void *arg)
{
	struct idset *s = arg;

	return add_user(c, n, true, &s->uids, &s->nuids);
}

static int
user_item(struct ctx *c, yaml_node_t *n, void *arg)
{
	struct idset *s = arg;

	return add_user(c, n, false, &s->uids, &s->nuids);
}

static int
group_item(struct ctx *c, yaml_node_t *n, void *arg)
{
	return add_group(c, n, arg);
}

/* {uids, users, groups} plus extra keys the caller handles. */
static int
parse_idset(struct ctx *c, yaml_node_t *map, struct idset *s)
{
	yaml_node_t *v;

	s->any = false;
	if ((v = lookup(c, map, "uids")) != NULL &&
	    seq_each(c, v, "uids", uid_item, s) != 0)
		return -1;
	if ((v = lookup(c, map, "users")) != NULL &&
	    seq_each(c, v, "users", user_item, s) != 0)
		return -1;
	if ((v = lookup(c, map, "groups")) != NULL &&
	    seq_each(c, v, "groups", group_item, s) != 0)
		return -1;
	return 0;
}

static int
parse_groups(struct ctx *c, yaml_node_t *map)
{
	yaml_node_pair_t *a;
	yaml_node_t *k, *v;
	struct named_group *g;
	yaml_node_item_t *it;
	size_t i = 0, n;

	if (want(c, map, YAML_MAPPING_NODE, "groups") != 0)
		return -1;
	n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
	if ((c->p->groups = palloc(c, (n + 1) * sizeof(*g))) == NULL)
		return -1;
	/* ngroups counts the groups done, so lookups see only those */
	for (a = map->data.mapping.pairs.start; a < map->data.mapping.pairs.top; a++) {
		k = node(c, a->key);
		v = node(c, a->value);
		g = &c->p->groups[i];
		if ((g->name = scalar(c, k, "group name")) == NULL)
			return -1;
		if (!name_valid(g->name))
			return perr(c, &k->start_mark, "bad group name");
		if (find_group(c->p, g->name) != NULL)
			return perr(c, &k->start_mark, "duplicate group '%s'",
			    g->name);
		if (want(c, v, YAML_SEQUENCE_NODE, "group members") != 0)
			return -1;
		for (it = v->data.sequence.items.start;
		    it < v->data.sequence.items.top; it++)
			if (add_user(c, node(c, *it), false, &g->uids,
			    &g->nuids) != 0)
				return -1;
		c->p->ngroups = ++i;
	}
	return 0;
}

static int
parse_effect(struct ctx *c, yaml_node_t *map, bool *deny)
{
	yaml_node_t *v;
	const char *s;

	*deny = false;
	if ((v = lookup(c, map, "effect")) == NULL)
		return 0;
	if ((s = scalar(c, v, "effect")) == NULL)
		return -1;
	if (strcmp(s, "deny") == 0)
		*deny = true;
	else if (strcmp(s, "allow") != 0)
		return perr(c, &v->start_mark,
		    "effect: expected allow or deny, not '%s'", s);
	return 0;
}

/* Rule names are unique over issue and use rules. */
static int
parse_name(struct ctx *c, yaml_node_t *map, const char **ret)
{
	yaml_node_t *v;
	const char *s;
	size_t i;

	if ((v = lookup(c, map, "name")) == NULL)
		return perr(c, &map->start_mark, "rule without a name");
	if ((s = scalar(c, v, "name")) == NULL)
		return -1;
	if (!name_valid(s) || strcmp(s, "default-deny") == 0)
		return perr(c, &v->start_mark, "bad rule name '%s'", s);
	for (i = 0; i < c->p->nissue; i++)
		if (c->p->issue[i].name && strcmp(c->p->issue[i].name, s) == 0)
			return perr(c, &v->start_mark, "duplicate rule name '%s'", s);
	for (i = 0; i < c->p->nuse; i++)
		if (c->p->use[i].name && strcmp(c->p->use[i].name, s) == 0)
			return perr(c, &v->start_mark, "duplicate rule name '%s'", s);
	*ret = s;
	return 0;
}

static int
parse_issue_rule(struct ctx *c, yaml_node_t *map, struct issue_rule *r)
{
	static const char *const keys[] = { "name", "effect", "requesters",
	    "scopes", "key_types", "max_ttl", "approval", "ssh_principals",
	    NULL };
	static const char *const req_keys[] = { "uids", "users", "groups", NULL };
	static const char *const appr_keys[] = { "group", NULL };
	yaml_node_t *v, *g;
	struct strlist kt;
	const char *s;
	size_t i;
	int t;

	if (check_keys(c, map, "issue rule", keys) != 0 ||
	    parse_name(c, map, &r->name) != 0 || parse_effect(c, map, &r->deny) != 0)
		return -1;
	r->requesters.any = true;
	if ((v = lookup(c, map, "requesters")) != NULL &&
	    (check_keys(c, v, "requesters", req_keys) != 0 ||
	    parse_idset(c, v, &r->requesters) != 0))
		return -1;
	if ((v = lookup(c, map, "scopes")) != NULL &&
	    strlist(c, v, "scopes", &r->scopes) != 0)
		return -1;
	if ((v = lookup(c, map, "ssh_principals")) != NULL) {
		if (strlist(c, v, "ssh_principals", &r->ssh_principals) != 0)
			return -1;
		for (i = 0; i < r->ssh_principals.n; i++)
			if (r->ssh_principals.v[i][0] == '\0' ||
			    strchr(r->ssh_principals.v[i], ',') != NULL)
				return perr(c, &node(c, v->data.sequence.items.start[i])->start_mark,
				    "ssh_principals: '%s' is not a principal",
				    r->ssh_principals.v[i]);
		r->ssh_principals_set = true;
	}
	if ((v = lookup(c, map, "key_types")) != NULL) {
		if (strlist(c, v, "key_types", &kt) != 0)
			return -1;
		for (i = 0; i < kt.n; i++) {
			if ((t = wid_key_type_parse(kt.v[i])) == WID_KEY_NONE)
				return perr(c, &node(c, v->data.sequence.items.start[i])->start_mark,
				    "unknown key type '%s'", kt.v[i]);
			r->key_types |= 1u << t;
		}
	}
	if ((v = lookup(c, map, "max_ttl")) != NULL) {
		if ((s = scalar(c, v, "max_ttl")) == NULL)
			return -1;
		if (parse_duration(s, &r->max_ttl) != 0)
			return perr(c, &v->start_mark, "max_ttl: bad duration "
			    "'%s' (e.g. 90, 30s, 15m, 1h, 1h30m, 1d)", s);
	} else if (!r->deny)
		return perr(c, &map->start_mark, "issue rule '%s': max_ttl is "
		    "required", r->name);
	if ((v = lookup(c, map, "approval")) != NULL) {
		if (v->type == YAML_SCALAR_NODE) {
			if ((s = scalar(c, v, "approval")) == NULL)
				return -1;
			if (strcmp(s, "none") != 0)
				return perr(c, &v->start_mark, "approval: expected "
				    "none or {group: NAME}");
		} else {
			if (check_keys(c, v, "approval", appr_keys) != 0)
				return -1;
			if ((g = lookup(c, v, "group")) == NULL)
				return perr(c, &v->start_mark, "approval: group "
				    "is required");
			if ((r->approval_group = scalar(c, g, "group")) == NULL ||
			    add_group(c, g, &r->approvers) != 0)
				return -1;
			r->approval = true;
		}
	}
	return 0;
}

static int
parse_window(struct ctx *c, yaml_node_t *map, struct window *w)
{
	static const char *const keys[] = { "days", "from", "to", "tz", NULL };
	yaml_node_t *v, *d;
	struct strlist days;
	const char *s;
	size_t i;
	int j;

	if (check_keys(c, map, "window", keys) != 0)
		return -1;
	w->set = true;
	w->days = 0x7f;
	w->from = 0;
	w->to = 24 * 60;
	w->utc = true;
	if ((v = lookup(c, map, "days")) != NULL) {
		if (strlist(c, v, "days", &days) != 0)
			return -1;
		w->days = 0;
		for (i = 0; i < days.n; i++) {
			for (j = 0; j < 7; j++)
				if (strcmp(days.v[i], day_names[j]) == 0)
					break;
			d = node(c, v->data.sequence.items.start[i]);
			if (j == 7)
				return perr(c, &d->start_mark, "unknown day '%s' "
				    "(mon tue wed thu fri sat sun)", days.v[i]);
			w->days |= 1u << j;
		}
	}
	if ((v = lookup(c, map, "from")) != NULL) {
		if ((s = scalar(c, v, "from")) == NULL)
			return -1;
		if (parse_hhmm(s, false, &w->from) != 0)
			return perr(c, &v->start_mark, "from: bad time '%s' "
			    "(HH:MM)", s);
	}
	if ((v = lookup(c, map, "to")) != NULL) {
		if ((s = scalar(c, v, "to")) == NULL)
			return -1;
		if (parse_hhmm(s, true, &w->to) != 0)
			return perr(c, &v->start_mark, "to: bad time '%s' "
			    "(HH:MM)", s);
	}
	if (w->from == w->to)
		return perr(c, &map->start_mark, "window: from equals to");
	if ((v = lookup(c, map, "tz")) != NULL) {
		if ((s = scalar(c, v, "tz")) == NULL)
			return -1;
		if (strcmp(s, "local") == 0)
			w->utc = false;
		else if (strcmp(s, "UTC") != 0)
			return perr(c, &v->start_mark, "tz: expected UTC or local");
	}
	return 0;
}

static int
parse_use_rule(struct ctx *c, yaml_node_t *map, struct use_rule *r)
{
	static const char *const keys[] = { "name", "effect", "tasks",
	    "callers", "mechanisms", "max_signatures", "window", NULL };
	static const char *const task_keys[] = { "scopes", "ids", NULL };
	static const char *const caller_keys[] = { "uids", "users", "groups",
	    "requester", "exe", "cgroup_prefix", NULL };
	yaml_node_t *v, *w;
	struct strlist ml;
	const char *s;
	size_t i;
	int m;

	if (check_keys(c, map, "use rule", keys) != 0 ||
	    parse_name(c, map, &r->name) != 0 || parse_effect(c, map, &r->deny) != 0)
		return -1;
	if ((v = lookup(c, map, "tasks")) != NULL) {
		if (check_keys(c, v, "tasks", task_keys) != 0)
			return -1;
		if ((w = lookup(c, v, "scopes")) != NULL &&
		    strlist(c, w, "scopes", &r->scopes) != 0)
			return -1;
		if ((w = lookup(c, v, "ids")) != NULL &&
		    strlist(c, w, "ids", &r->ids) != 0)
			return -1;
	}
	r->callers.any = true;
	if ((v = lookup(c, map, "callers")) != NULL) {
		if (check_keys(c, v, "callers", caller_keys) != 0)
			return -1;
		if (lookup(c, v, "uids") || lookup(c, v, "users") ||
		    lookup(c, v, "groups")) {
			if (parse_idset(c, v, &r->callers) != 0)
				return -1;
		}
		if ((w = lookup(c, v, "requester")) != NULL) {
			if ((s = scalar(c, w, "requester")) == NULL)
				return -1;
			if (strcmp(s, "true") == 0)
				r->requester_only = true;
			else if (strcmp(s, "false") != 0)
				return perr(c, &w->start_mark, "requester: "
				    "expected true or false");
		}
		if ((w = lookup(c, v, "exe")) != NULL) {
			if (strlist(c, w, "exe", &r->exe) != 0)
				return -1;
			for (i = 0; i < r->exe.n; i++)
				if (r->exe.v[i][0] != '/')
					return perr(c, &node(c, w->data.sequence.items.start[i])->start_mark,
					    "exe: '%s' is not an absolute path",
					    r->exe.v[i]);
		}
		if ((w = lookup(c, v, "cgroup_prefix")) != NULL) {
			if (strlist(c, w, "cgroup_prefix", &r->cgroup_prefix) != 0)
				return -1;
			for (i = 0; i < r->cgroup_prefix.n; i++)
				if (r->cgroup_prefix.v[i][0] != '/')
					return perr(c, &node(c, w->data.sequence.items.start[i])->start_mark,
					    "cgroup_prefix: '%s' does not start "
					    "with /", r->cgroup_prefix.v[i]);
		}
	}
	if ((v = lookup(c, map, "mechanisms")) != NULL) {
		if (strlist(c, v, "mechanisms", &ml) != 0)
			return -1;
		for (i = 0; i < ml.n; i++) {
			if ((m = mech_index(ml.v[i])) < 0)
				return perr(c, &node(c, v->data.sequence.items.start[i])->start_mark,
				    "unknown mechanism '%s'", ml.v[i]);
			r->mechs |= 1u << m;
		}
	}
	if ((v = lookup(c, map, "max_signatures")) != NULL) {
		if ((s = scalar(c, v, "max_signatures")) == NULL)
			return -1;
		if (parse_u64(s, UINT64_MAX, &r->max_signatures) != 0)
			return perr(c, &v->start_mark, "max_signatures: expected "
			    "a number, not '%s'", s);
		r->has_max = true;
	}
	if ((v = lookup(c, map, "window")) != NULL &&
	    parse_window(c, v, &r->window) != 0)
		return -1;
	return 0;
}

static int
parse_root(struct ctx *c, yaml_node_t *root)
{
	static const char *const keys[] = { "version", "groups", "issue",
	    "use", NULL };
	yaml_node_item_t *it;
	yaml_node_t *v;
	const char *s;
	size_t n;

	if (check_keys(c, root, "policy", keys) != 0)
		return -1;
	if ((v = lookup(c, root, "version")) == NULL)
		return perr(c, &root->start_mark, "version is required");
	if ((s = scalar(c, v, "version")) == NULL)
		return -1;
	if (strcmp(s, "1") != 0)
		return perr(c, &v->start_mark, "unsupported version '%s'", s);
	if ((v = lookup(c, root, "groups")) != NULL && parse_groups(c, v) != 0)
		return -1;
	if ((v = lookup(c, root, "issue")) != NULL) {
		if (want(c, v, YAML_SEQUENCE_NODE, "issue") != 0)
			return -1;
		n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
		if ((c->p->issue = palloc(c, (n + 1) * sizeof(struct issue_rule))) == NULL)
			return -1;
		for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
			/* count first so duplicate-name checks see earlier rules */
			c->p->nissue++;
			if (parse_issue_rule(c, node(c, *it),
			    &c->p->issue[c->p->nissue - 1]) != 0)
				return -1;
		}
	}
	if ((v = lookup(c, root, "use")) != NULL) {
		if (want(c, v, YAML_SEQUENCE_NODE, "use") != 0)
			return -1;
		n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
		if ((c->p->use = palloc(c, (n + 1) * sizeof(struct use_rule))) == NULL)
			return -1;
		for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
			c->p->nuse++;
			if (parse_use_rule(c, node(c, *it),
			    &c->p->use[c->p->nuse - 1]) != 0)
				return -1;
		}
	}
	return 0;
}

/* YAML syntax check that also refuses aliases (no expansion tricks) and a
 * second document. */
static int
prescan(struct ctx *c, const unsigned char *data, size_t len)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	int docs = 0, r = -1;
	bool done = false;

	if (!yaml_parser_initialize(&parser)) {
		c->rc = WID_E_NOMEM;
		return -1;
	}
	yaml_parser_set_input_string(&parser, data, len);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			perr(c, &parser.problem_mark, "%s%s%s",
			    parser.problem ? parser.problem : "YAML error",
			    parser.context ? " " : "",
			    parser.context ? parser.context : "");
			goto out;
		}
		if (ev.type == YAML_ALIAS_EVENT) {
			perr(c, &ev.start_mark, "aliases are not allowed");
			yaml_event_delete(&ev);
			goto out;
		}
		if (ev.type == YAML_DOCUMENT_START_EVENT && ++docs > 1) {
			perr(c, &ev.start_mark, "only one YAML document allowed");
			yaml_event_delete(&ev);
			goto out;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	r = 0;
 out:
	yaml_parser_delete(&parser);
	return r;
}

static void
policy_free(struct policy *p)
{
	struct alloc *a, *next;

	if (p == NULL)
		return;
	for (a = p->mem; a != NULL; a = next) {
		next = a->next;
		free(a);
	}
	free(p);
}

static int
read_file(const char *path, unsigned char **ret, size_t *ret_len,
    char *err, size_t errlen)
{
	unsigned char *buf = NULL;
	struct stat st;
	size_t off = 0;
	ssize_t n;
	int fd, r = WID_E_IO;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > POLICY_FILE_MAX) {
		snprintf(err, errlen, "%s: not a regular file of at most %d "
		    "bytes", path, POLICY_FILE_MAX);
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		r = WID_E_NOMEM;
		goto out;
	}
	while (off < (size_t)st.st_size &&
	    (n = read(fd, buf + off, (size_t)st.st_size - off)) > 0)
		off += (size_t)n;
	if (off != (size_t)st.st_size) {
		snprintf(err, errlen, "%s: short read", path);
		goto out;
	}
	*ret = buf;
	*ret_len = off;
	buf = NULL;
	r = WID_OK;
 out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return r;
}

int
policy_load(const char *path, struct policy **ret_policy, char *err,
    size_t errlen)
{
	char dummy[1];
	struct ctx c = { .file = path, .err = err, .errlen = errlen };
	yaml_document_t doc;
	yaml_parser_t parser;
	yaml_node_t *root;
	yaml_mark_t start = { 0, 0, 0 };
	unsigned char *data = NULL, md[SHA256_DIGEST_LENGTH];
	size_t len = 0, i;
	bool have_doc = false, have_parser = false;
	int r;

	*ret_policy = NULL;
	if (err == NULL || errlen == 0) {
		c.err = dummy;
		c.errlen = sizeof(dummy);
	}
	c.err[0] = '\0';
	if (path == NULL)
		return WID_E_BADARG;
	if ((r = read_file(path, &data, &len, c.err, c.errlen)) != WID_OK)
		goto out;
	r = WID_E_NOMEM;
	if ((c.p = calloc(1, sizeof(*c.p))) == NULL)
		goto out;
	atomic_init(&c.p->refs, 1);
	SHA256(data, len, md);
	for (i = 0; i < sizeof(md); i++)
		snprintf(c.p->hash + 2 * i, 3, "%02x", md[i]);
	if (prescan(&c, data, len) != 0) {
		r = c.rc;
		goto out;
	}
	if (!yaml_parser_initialize(&parser))
		goto out;
	have_parser = true;
	yaml_parser_set_input_string(&parser, data, len);
	if (!yaml_parser_load(&parser, &doc)) {
		r = WID_E_BADARG;
		perr(&c, &parser.problem_mark, "%s", parser.problem ?
		    parser.problem : "YAML error");
		goto out;
	}
	have_doc = true;
	c.doc = &doc;
	if ((root = yaml_document_get_root_node(&doc)) == NULL) {
		perr(&c, &start, "empty policy");
		r = c.rc;
		goto out;
	}
	if (parse_root(&c, root) != 0) {
		r = c.rc;
		goto out;
	}
	*ret_policy = c.p;
	c.p = NULL;
	r = WID_OK;
 out:
	if (have_doc)
		yaml_document_delete(&doc);
	if (have_parser)
		yaml_parser_delete(&parser);
	policy_free(c.p);
	free(data);
	return r;
}

struct policy *
policy_ref(struct policy *p)
{
	if (p != NULL)
		atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
	return p;
}

void
policy_unref(struct policy *p)
{
	if (p != NULL &&
	    atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1)
		policy_free(p);
}

const char *
policy_hash(const struct policy *p)
{
	return p->hash;
}

/* ---- evaluation ---- */

static bool
id_in(uint32_t id, const uint32_t *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] == id)
			return true;
	return false;
}

static bool
idset_match(const struct idset *s, uint32_t uid, const uint32_t *gids,
    size_t ngids)
{
	size_t i;

	if (s->any)
		return true;
	if (id_in(uid, s->uids, s->nuids))
		return true;
	for (i = 0; i < ngids; i++)
		if (id_in(gids[i], s->gids, s->ngids))
			return true;
	return false;
}

static bool
str_in(const struct strlist *l, const char *s)
{
	size_t i;

	if (s == NULL)
		return false;
	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

static bool
glob_in(const struct strlist *l, const char *s)
{
	size_t i;

	if (s == NULL)
		return false;
	for (i = 0; i < l->n; i++)
		if (fnmatch(l->v[i], s, 0) == 0)
			return true;
	return false;
}

/* Prefix by path components: "/a/b" matches "/a/b" and "/a/b/c", not
 * "/a/bc". */
static bool
cgroup_in(const struct strlist *l, const char *cg)
{
	size_t i, n;

	if (cg == NULL)
		return false;
	for (i = 0; i < l->n; i++) {
		n = strlen(l->v[i]);
		while (n > 1 && l->v[i][n - 1] == '/')
			n--;
		if (strncmp(cg, l->v[i], n) == 0 &&
		    (cg[n] == '\0' || cg[n] == '/' || n == 1))
			return true;
	}
	return false;
}

static bool
in_window(const struct window *w, time_t now)
{
	struct tm tm;
	int min, yday;

	if (!w->set)
		return true;
	if ((w->utc ? gmtime_r(&now, &tm) : localtime_r(&now, &tm)) == NULL)
		return false;
	min = tm.tm_hour * 60 + tm.tm_min;
	if (w->from < w->to)
		return (w->days & (1u << tm.tm_wday)) &&
		    min >= w->from && min < w->to;
	/* Over midnight: the part after midnight belongs to the day before. */
	if (min >= w->from)
		return (w->days & (1u << tm.tm_wday)) != 0;
	if (min < w->to) {
		yday = (tm.tm_wday + 6) % 7;
		return (w->days & (1u << yday)) != 0;
	}
	return false;
}

static void decide(struct policy_decision *, bool, const char *,
    const char *, ...) __attribute__((format(printf, 4, 5)));

static void
decide(struct policy_decision *d, bool allow, const char *rule,
    const char *fmt, ...)
{
	va_list ap;

	d->allow = allow;
	snprintf(d->rule, sizeof(d->rule), "%s", rule);
	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
}

static bool
issue_match(const struct issue_rule *r, const struct policy_issue_req *q,
    const char *scope)
{
	if (!idset_match(&r->requesters, q->uid, q->gids, q->ngids))
		return false;
	if (r->scopes.n && !str_in(&r->scopes, scope))
		return false;
	/* a deny rule's key_types select; an allow rule's limit */
	if (r->deny && r->key_types && !(q->key_type > 0 &&
	    q->key_type < 32 && (r->key_types & (1u << q->key_type))))
		return false;
	return true;
}

int
policy_principals_check(const char *list, const char *const *allowed,
    const char *user, char *bad, size_t badlen)
{
	const char *p = list, *comma;
	size_t n, i;
	bool ok;

	if (badlen > 0)
		bad[0] = '\0';
	if (list == NULL)
		return WID_OK;
	while (*p != '\0') {
		comma = strchr(p, ',');
		n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		ok = false;
		if (allowed == NULL)
			ok = user != NULL && strlen(user) == n &&
			    strncmp(user, p, n) == 0;
		else
			for (i = 0; allowed[i] != NULL && !ok; i++)
				ok = strlen(allowed[i]) == n &&
				    strncmp(allowed[i], p, n) == 0;
		if (!ok) {
			snprintf(bad, badlen, "%.*s", (int)n, p);
			return WID_E_DENIED;
		}
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return WID_OK;
}

int
policy_check_issue(const struct policy *p, const struct policy_issue_req *q,
    struct policy_decision *d)
{
	const struct issue_rule *r;
	const char *scope, *kt;
	char bad[POLICY_NAME_MAX + 1];
	size_t i;

	if (d != NULL)
		memset(d, 0, sizeof(*d));
	if (p == NULL || q == NULL || d == NULL)
		return WID_E_BADARG;
	scope = q->scope ? q->scope : DEFAULT_SCOPE;
	kt = wid_key_type_name(q->key_type);
	for (i = 0; i < p->nissue; i++) {
		r = &p->issue[i];
		if (r->deny && issue_match(r, q, scope)) {
			decide(d, false, r->name, "denied by rule");
			return WID_OK;
		}
	}
	for (i = 0; i < p->nissue; i++) {
		r = &p->issue[i];
		if (r->deny || !issue_match(r, q, scope))
			continue;
		if (kt == NULL)
			decide(d, false, r->name, "unknown key type");
		else if (r->key_types && !(r->key_types & (1u << q->key_type)))
			decide(d, false, r->name, "key type %s not allowed", kt);
		else if (q->ttl == 0 || q->ttl > r->max_ttl)
			decide(d, false, r->name, "ttl %" PRIu32 "s exceeds "
			    "max_ttl %" PRIu32 "s", q->ttl, r->max_ttl);
		else if (policy_principals_check(q->ssh_principals,
		    r->ssh_principals_set ?
		    (const char *const *)r->ssh_principals.v : NULL, q->user,
		    bad, sizeof(bad)) != WID_OK)
			decide(d, false, r->name, "OpenSSH certificate "
			    "principal '%s' not allowed (%s)", bad,
			    r->ssh_principals_set ? "not in ssh_principals" :
			    "without ssh_principals only the requester's own "
			    "user name");
		else {
			if (r->approval)
				decide(d, true, r->name, "allowed after "
				    "approval by group %s", r->approval_group);
			else
				decide(d, true, r->name, "allowed");
			if (r->approval) {
				d->needs_approval = 1;
				snprintf(d->approver_group,
				    sizeof(d->approver_group), "%s",
				    r->approval_group);
			}
		}
		return WID_OK;
	}
	decide(d, false, "default-deny", "no rule lets uid %" PRIu32
	    " start a task in scope %s", q->uid, scope);
	return WID_OK;
}

int
policy_check_approve(const struct policy *p, const struct policy_issue_req *q,
    const struct policy_approver *a, struct policy_decision *d)
{
	const struct issue_rule *r = NULL;
	size_t i;
	int rc;

	if (d != NULL)
		memset(d, 0, sizeof(*d));
	if (a == NULL || d == NULL)
		return WID_E_BADARG;
	if ((rc = policy_check_issue(p, q, d)) != WID_OK || !d->allow)
		return rc;
	if (!d->needs_approval) {
		snprintf(d->reason, sizeof(d->reason), "no approval needed");
		return WID_OK;
	}
	for (i = 0; i < p->nissue; i++)
		if (strcmp(p->issue[i].name, d->rule) == 0)
			r = &p->issue[i];
	if (r == NULL)
		return WID_E_INTERNAL;
	if (a->uid == q->uid)
		decide(d, false, r->name, "the requester may not approve "
		    "their own task");
	else if (!idset_match(&r->approvers, a->uid, a->gids, a->ngids))
		decide(d, false, r->name, "uid %" PRIu32 " is not in the "
		    "approval group %s", a->uid, r->approval_group);
	else
		decide(d, true, r->name, "approved by uid %" PRIu32 " (group %s)",
		    a->uid, r->approval_group);
	return WID_OK;
}

/* Which tasks and callers a use rule is about. */
static bool
use_select(const struct use_rule *r, const struct policy_use_req *q,
    const char *scope)
{
	if (r->scopes.n && !str_in(&r->scopes, scope))
		return false;
	if (r->ids.n && !glob_in(&r->ids, q->task))
		return false;
	if (!idset_match(&r->callers, q->uid, q->gids, q->ngids))
		return false;
	if (r->requester_only && q->uid != q->requester_uid)
		return false;
	return true;
}

static bool
exe_ok(const struct use_rule *r, const struct policy_use_req *q)
{
	return r->exe.n == 0 || str_in(&r->exe, q->exe);
}

static bool
cgroup_ok(const struct use_rule *r, const struct policy_use_req *q)
{
	return r->cgroup_prefix.n == 0 || cgroup_in(&r->cgroup_prefix, q->cgroup);
}

static bool
mech_ok(const struct use_rule *r, int mech)
{
	return r->mechs == 0 || (mech >= 0 && (r->mechs & (1u << mech)));
}

int
policy_check_use(const struct policy *p, const struct policy_use_req *q,
    struct policy_decision *d)
{
	const struct use_rule *r;
	const char *scope;
	size_t i;
	int mech;

	if (d != NULL)
		memset(d, 0, sizeof(*d));
	if (p == NULL || q == NULL || d == NULL)
		return WID_E_BADARG;
	scope = q->scope ? q->scope : DEFAULT_SCOPE;
	mech = mech_index(q->mech);
	/* Deny rules: window and max_signatures select (deny while inside the
	 * window, once the count is reached). */
	for (i = 0; i < p->nuse; i++) {
		r = &p->use[i];
		if (!r->deny || !use_select(r, q, scope) || !exe_ok(r, q) ||
		    !cgroup_ok(r, q) || !mech_ok(r, mech))
			continue;
		if (r->window.set && !in_window(&r->window, q->now))
			continue;
		if (r->has_max && q->sign_count < r->max_signatures)
			continue;
		decide(d, false, r->name, "denied by rule");
		return WID_OK;
	}
	/* Allow rules: tasks and caller identity select; the rest limit. */
	for (i = 0; i < p->nuse; i++) {
		r = &p->use[i];
		if (r->deny || !use_select(r, q, scope))
			continue;
		if (!exe_ok(r, q))
			decide(d, false, r->name, "executable %s not allowed",
			    q->exe ? q->exe : "(unknown)");
		else if (!cgroup_ok(r, q))
			decide(d, false, r->name, "cgroup %s not allowed",
			    q->cgroup ? q->cgroup : "(unknown)");
		else if (!mech_ok(r, mech))
			decide(d, false, r->name, "mechanism %s not allowed",
			    q->mech ? q->mech : "(unknown)");
		else if (r->has_max && q->sign_count >= r->max_signatures)
			decide(d, false, r->name, "max_signatures %" PRIu64
			    " reached", r->max_signatures);
		else if (!in_window(&r->window, q->now))
			decide(d, false, r->name, "outside the time window");
		else
			decide(d, true, r->name, "allowed");
		return WID_OK;
	}
	decide(d, false, "default-deny", "no rule lets uid %" PRIu32
	    " (exe %s) use task %s with %s", q->uid, q->exe ? q->exe : "?",
	    q->task ? q->task : "?", q->mech ? q->mech : "?");
	return WID_OK;
}
