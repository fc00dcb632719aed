/* wid/duration.h: task lifetimes as people write them ("90", "90s",
 * "15m", "2h", "1d", "1h30m") and back. */
#ifndef WID_DURATION_H
#define WID_DURATION_H

#include <stddef.h>
#include <stdint.h>

#define WID_DURATION_MAX (30u * 24u * 3600u) /* 30 days */
#define WID_DURATION_STRLEN 24               /* "30d23h59m59s" fits */

/* Parses a positive duration of at most WID_DURATION_MAX seconds: either
 * bare digits (seconds) or one or more <digits><unit> groups with units
 * d, h, m, s, each at most once and in that order.  No signs, spaces,
 * fractions or trailing bytes.  Returns 0 and writes *ret_seconds, or
 * WID_E_BADARG (garbage, zero, too long) and leaves it alone. */
int wid_duration_parse(const char *s, uint32_t *ret_seconds);

/* Writes `s` as "1d2h3m4s" leaving out zero groups ("0s" for zero),
 * truncated to fit n bytes (n >= WID_DURATION_STRLEN always fits). */
void wid_duration_format(uint32_t s, char *out, size_t n);

#endif
