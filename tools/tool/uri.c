/* tools/tool/uri.c: RFC 7512 PKCS#11 URIs naming a task's key. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "wid/err.h"
#include "wid/proto.h"
#include "tool.h"

static int
unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

int
tool_pct_encode(const char *in, char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	const unsigned char *p;

	if (size == 0)
		return WID_E_LIMIT;
	for (p = (const unsigned char *)in; *p != '\0'; p++) {
		size_t need = unreserved(*p) ? 1 : 3;

		if (size - o <= need) {
			out[0] = '\0';
			return WID_E_LIMIT;
		}
		if (need == 1) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 0x0f];
		}
	}
	out[o] = '\0';
	return 0;
}

int
tool_pkcs11_uri(const char *id, int key_type, char *out, size_t size)
{
	char enc[3 * WID_TASK_ID_MAX + 1];
	const char *token = key_type == WID_KEY_ED25519 ? "wid-ed25519" : "wid";
	int n;

	if (size > 0)
		out[0] = '\0';
	if (tool_pct_encode(id, enc, sizeof(enc)) != 0)
		return WID_E_LIMIT;
	n = snprintf(out, size, "pkcs11:token=%s;object=%s", token, enc);
	if (n < 0 || (size_t)n >= size) {
		if (size > 0)
			out[0] = '\0';
		return WID_E_LIMIT;
	}
	return 0;
}
