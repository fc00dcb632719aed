/* common/duration.c: parse and format task lifetimes (see wid/duration.h). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "wid/duration.h"
#include "wid/err.h"

static const struct {
	char unit;
	uint32_t seconds;
} units[] = {
	{ 'd', 86400 },
	{ 'h', 3600 },
	{ 'm', 60 },
	{ 's', 1 },
};
#define NUNITS (sizeof(units) / sizeof(units[0]))

int
wid_duration_parse(const char *s, uint32_t *ret_seconds)
{
	uint64_t total = 0, v;
	size_t next_unit = 0, i, ndigits;
	const char *p = s;

	if (s == NULL || *s == '\0')
		return WID_E_BADARG;
	while (*p != '\0') {
		v = 0;
		ndigits = 0;
		while (*p >= '0' && *p <= '9') {
			v = v * 10 + (uint64_t)(*p - '0');
			/* Anything past the maximum fails anyway; stop early
			 * so that v cannot overflow. */
			if (v > WID_DURATION_MAX)
				return WID_E_BADARG;
			p++;
			ndigits++;
		}
		if (ndigits == 0)
			return WID_E_BADARG;
		if (*p == '\0') {
			/* Bare digits: only as the whole string. */
			if (p - s != (ptrdiff_t)ndigits)
				return WID_E_BADARG;
			total = v;
			break;
		}
		for (i = next_unit; i < NUNITS; i++)
			if (units[i].unit == *p)
				break;
		if (i == NUNITS)
			return WID_E_BADARG; /* unknown, repeated or out of order */
		total += v * units[i].seconds;
		if (total > WID_DURATION_MAX)
			return WID_E_BADARG;
		next_unit = i + 1;
		p++;
	}
	if (total == 0 || total > WID_DURATION_MAX)
		return WID_E_BADARG;
	*ret_seconds = (uint32_t)total;
	return 0;
}

void
wid_duration_format(uint32_t s, char *out, size_t n)
{
	size_t i, len = 0;
	int w;

	if (n == 0)
		return;
	out[0] = '\0';
	if (s == 0) {
		snprintf(out, n, "0s");
		return;
	}
	for (i = 0; i < NUNITS; i++) {
		uint32_t v = s / units[i].seconds;

		s %= units[i].seconds;
		if (v == 0)
			continue;
		w = snprintf(out + len, n - len, "%u%c", v, units[i].unit);
		if (w < 0 || (size_t)w >= n - len) {
			out[len] = '\0'; /* drop the partial group */
			return;
		}
		len += (size_t)w;
	}
}
