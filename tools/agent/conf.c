/* tools/agent/conf.c: parse the agent's YAML configuration with libyaml.
 * Every error names FILE:LINE:COL. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "wid/duration.h"
#include "wid/err.h"
#include "wid/proto.h"
#include "ca.h"
#include "conf.h"

struct parse {
	const char *path;
	yaml_document_t *doc;
	char *err;
	size_t errlen;
};

static int
fail(struct parse *p, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct parse *p, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s:%zu:%zu: %s", p->path,
	    n->start_mark.line + 1, n->start_mark.column + 1, msg);
	return WID_E_BADARG;
}

void
wid_config_defaults(struct wid_config *c)
{
	int t;

	memset(c, 0, sizeof(*c));
	snprintf(c->backend, sizeof(c->backend), "soft");
	c->default_ttl = WID_CONF_DEFAULT_TTL_DEFAULT;
	c->max_ttl = WID_CONF_MAX_TTL_DEFAULT;
	for (t = WID_KEY_NONE + 1; t < WID_KEY__MAX; t++)
		c->key_types |= 1u << t;
}

void
wid_config_free(struct wid_config *c)
{
	free(c->tpm_tcti);
	c->tpm_tcti = NULL;
}

int
wid_config_key_type_allowed(const struct wid_config *c, int key_type)
{
	return key_type > WID_KEY_NONE && key_type < WID_KEY__MAX &&
	    (c->key_types & (1u << key_type)) != 0;
}

static const char *
scalar(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value :
	    NULL;
}

static int
get_string(struct parse *p, const char *key, const yaml_node_t *v,
           char *out, size_t size)
{
	const char *s = scalar(v);

	if (s == NULL || s[0] == '\0')
		return fail(p, v, "%s: expected a non-empty string", key);
	if (strlen(s) >= size)
		return fail(p, v, "%s: value too long (at most %zu bytes)", key,
		    size - 1);
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

static int
get_duration(struct parse *p, const char *key, const yaml_node_t *v,
             uint32_t *ret)
{
	const char *s = scalar(v);

	if (s == NULL || wid_duration_parse(s, ret) != 0)
		return fail(p, v, "%s: expected a duration such as 900, 15m, "
		    "2h or 1d (at most 30d)", key);
	return 0;
}

static int
get_key_types(struct parse *p, const yaml_node_t *v, uint32_t *ret)
{
	yaml_node_item_t *it;
	uint32_t mask = 0;

	if (v->type != YAML_SEQUENCE_NODE)
		return fail(p, v, "key_types: expected a list of key types");
	for (it = v->data.sequence.items.start;
	    it < v->data.sequence.items.top; it++) {
		yaml_node_t *n = yaml_document_get_node(p->doc, *it);
		const char *s = n == NULL ? NULL : scalar(n);
		int t = wid_key_type_parse(s);

		if (n == NULL)
			return fail(p, v, "key_types: bad list");
		if (t == WID_KEY_NONE)
			return fail(p, n, "key_types: unknown key type '%s' "
			    "(expected ec-p256, ec-p384, ed25519, rsa2048 or "
			    "rsa3072)", s == NULL ? "" : s);
		mask |= 1u << t;
	}
	if (mask == 0)
		return fail(p, v, "key_types: the list is empty");
	*ret = mask;
	return 0;
}

static int
get_uids(struct parse *p, const yaml_node_t *v, struct wid_config *c)
{
	yaml_node_item_t *it;

	if (v->type != YAML_SEQUENCE_NODE)
		return fail(p, v, "allow_uids: expected a list of uids");
	c->n_allow_uids = 0;
	for (it = v->data.sequence.items.start;
	    it < v->data.sequence.items.top; it++) {
		yaml_node_t *n = yaml_document_get_node(p->doc, *it);
		const char *s = n == NULL ? NULL : scalar(n);

		if (n == NULL)
			return fail(p, v, "allow_uids: bad list");
		if (s == NULL || s[0] == '\0' ||
		    wid_uid_parse(s, &c->allow_uids[c->n_allow_uids]) != 0)
			return fail(p, n, "allow_uids: '%s' is not a uid or "
			    "user name", s == NULL ? "" : s);
		if (++c->n_allow_uids == WID_CONF_ALLOW_UIDS_MAX &&
		    it + 1 < v->data.sequence.items.top)
			return fail(p, n, "allow_uids: at most %d entries",
			    WID_CONF_ALLOW_UIDS_MAX);
	}
	return 0;
}

static int
parse_root(struct parse *p, yaml_node_t *root, struct wid_config *c)
{
	yaml_node_pair_t *pair;
	const yaml_node_t *default_ttl_node = NULL;
	uint32_t seen = 0;
	int r;

	if (root->type == YAML_SCALAR_NODE && scalar(root)[0] == '\0')
		return 0; /* "---" alone, or only comments */
	if (root->type != YAML_MAPPING_NODE)
		return fail(p, root, "expected a mapping of 'key: value'");
	for (pair = root->data.mapping.pairs.start;
	    pair < root->data.mapping.pairs.top; pair++) {
		static const char *const keys[] = { "socket", "backend",
		    "tpm_tcti", "tpm_srk_name", "default_ttl", "max_ttl", "key_types",
		    "allow_uids", "ssh_agent_socket", "audit", "audit_sync",
		    "audit_checkpoint_every", "audit_key", "syslog",
		    "policy", "x509_uri" };
		yaml_node_t *k = yaml_document_get_node(p->doc, pair->key);
		yaml_node_t *v = yaml_document_get_node(p->doc, pair->value);
		const char *name;
		size_t i;

		if (k == NULL || v == NULL)
			return fail(p, root, "bad mapping");
		if ((name = scalar(k)) == NULL)
			return fail(p, k, "expected a key name");
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strcmp(name, keys[i]) == 0)
				break;
		if (i == sizeof(keys) / sizeof(keys[0]))
			return fail(p, k, "unknown key '%s'", name);
		if (seen & (1u << i))
			return fail(p, k, "duplicate key '%s'", name);
		seen |= 1u << i;

		if (strcmp(name, "socket") == 0) {
			if ((r = get_string(p, name, v, c->socket,
			    sizeof(c->socket))) != 0)
				return r;
			if (c->socket[0] != '/')
				return fail(p, v, "socket: expected an "
				    "absolute path");
		} else if (strcmp(name, "audit") == 0 ||
		    strcmp(name, "audit_key") == 0 ||
		    strcmp(name, "policy") == 0) {
			char *dst = strcmp(name, "audit") == 0 ? c->audit :
			    strcmp(name, "policy") == 0 ? c->policy :
			    c->audit_key;

			if ((r = get_string(p, name, v, dst,
			    WID_PATH_MAX)) != 0)
				return r;
			if (dst[0] != '/')
				return fail(p, v, "%s: expected an absolute "
				    "path", name);
		} else if (strcmp(name, "audit_sync") == 0) {
			const char *s = scalar(v);

			if (s != NULL && strcmp(s, "every") == 0)
				c->audit_sync = 0;
			else if (s != NULL && strcmp(s, "batch") == 0)
				c->audit_sync = 1;
			else
				return fail(p, v, "audit_sync: expected "
				    "'every' or 'batch'");
		} else if (strcmp(name, "audit_checkpoint_every") == 0) {
			const char *s = scalar(v);
			char *end;
			unsigned long n;

			errno = 0;
			n = s != NULL ? strtoul(s, &end, 10) : 0;
			if (s == NULL || s[0] < '1' || s[0] > '9' ||
			    errno != 0 || *end != '\0' || n > 1000000)
				return fail(p, v, "audit_checkpoint_every: "
				    "expected a number from 1 to 1000000");
			c->audit_checkpoint_every = (uint32_t)n;
		} else if (strcmp(name, "syslog") == 0) {
			const char *s = scalar(v);

			if (s != NULL && (strcmp(s, "true") == 0 ||
			    strcmp(s, "yes") == 0))
				c->syslog = 1;
			else if (s != NULL && (strcmp(s, "false") == 0 ||
			    strcmp(s, "no") == 0))
				c->syslog = 0;
			else
				return fail(p, v, "syslog: expected true or "
				    "false");
		} else if (strcmp(name, "x509_uri") == 0) {
			char why[128];

			if ((r = get_string(p, name, v, c->x509_uri,
			    sizeof(c->x509_uri))) != 0)
				return r;
			if (wid_ca_uri_check(c->x509_uri, why,
			    sizeof(why)) != 0)
				return fail(p, v, "x509_uri: %s", why);
		} else if (strcmp(name, "ssh_agent_socket") == 0) {
			if ((r = get_string(p, name, v, c->ssh_agent_socket,
			    sizeof(c->ssh_agent_socket))) != 0)
				return r;
			if (c->ssh_agent_socket[0] != '/' &&
			    strcmp(c->ssh_agent_socket, "none") != 0)
				return fail(p, v, "ssh_agent_socket: expected "
				    "an absolute path or 'none'");
		} else if (strcmp(name, "backend") == 0) {
			const char *s = scalar(v);

			if (s == NULL || (strcmp(s, "soft") != 0 &&
			    strcmp(s, "tpm") != 0))
				return fail(p, v, "backend: expected 'soft' "
				    "or 'tpm'");
			snprintf(c->backend, sizeof(c->backend), "%s", s);
		} else if (strcmp(name, "tpm_tcti") == 0) {
			char tcti[256];

			if ((r = get_string(p, name, v, tcti,
			    sizeof(tcti))) != 0)
				return r;
			free(c->tpm_tcti);
			if ((c->tpm_tcti = strdup(tcti)) == NULL)
				return fail(p, v, "out of memory");
		} else if (strcmp(name, "tpm_srk_name") == 0) {
			char hex[sizeof(c->tpm_srk_name)];
			size_t hi, n;

			if ((r = get_string(p, name, v, hex,
			    sizeof(hex))) != 0)
				return r;
			n = strlen(hex);
			for (hi = 0; hi < n; hi++)
				if (!((hex[hi] >= '0' && hex[hi] <= '9') ||
				    (hex[hi] >= 'a' && hex[hi] <= 'f')))
					break;
			if (n < 4 || n % 2 != 0 || hi != n)
				return fail(p, v, "tpm_srk_name: expected the "
				    "storage key's Name in lowercase hex (the "
				    "agent logs it at start)");
			memcpy(c->tpm_srk_name, hex, n + 1);
		} else if (strcmp(name, "default_ttl") == 0) {
			if ((r = get_duration(p, name, v,
			    &c->default_ttl)) != 0)
				return r;
			default_ttl_node = v;
		} else if (strcmp(name, "max_ttl") == 0) {
			if ((r = get_duration(p, name, v, &c->max_ttl)) != 0)
				return r;
		} else if (strcmp(name, "key_types") == 0) {
			if ((r = get_key_types(p, v, &c->key_types)) != 0)
				return r;
		} else if (strcmp(name, "allow_uids") == 0) {
			if ((r = get_uids(p, v, c)) != 0)
				return r;
		}
	}
	if (c->default_ttl > c->max_ttl) {
		if (default_ttl_node == NULL)
			c->default_ttl = c->max_ttl;
		else
			return fail(p, default_ttl_node, "default_ttl is "
			    "longer than max_ttl (%us)", c->max_ttl);
	}
	return 0;
}

int
wid_config_load(struct wid_config *c, const char *path, char *err,
                size_t errlen)
{
	struct parse p = { .path = path, .err = err, .errlen = errlen };
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	FILE *f;
	int r = WID_E_BADARG, have_doc = 0;

	err[0] = '\0';
	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return WID_E_BADARG;
	}
	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, errlen, "%s: out of memory", path);
		fclose(f);
		return WID_E_NOMEM;
	}
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errlen, "%s:%zu:%zu: %s", path,
		    parser.problem_mark.line + 1,
		    parser.problem_mark.column + 1,
		    parser.problem != NULL ? parser.problem : "syntax error");
		goto out;
	}
	have_doc = 1;
	p.doc = &doc;
	if ((root = yaml_document_get_root_node(&doc)) == NULL) {
		r = 0; /* empty file: defaults */
		goto out;
	}
	r = parse_root(&p, root, c);
out:
	if (have_doc)
		yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(f);
	return r;
}
