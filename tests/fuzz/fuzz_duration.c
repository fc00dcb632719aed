/* tests/fuzz/fuzz_duration.c: wid_duration_parse on any bytes.  An
 * accepted duration must be in (0, WID_DURATION_MAX], and formatting it
 * and parsing the result must give the same number of seconds. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wid/duration.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[64], f[WID_DURATION_STRLEN];
	uint32_t secs = 0, again = 0;

	if (size >= sizeof(s))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (wid_duration_parse(s, &secs) != 0)
		return 0;
	if (secs == 0 || secs > WID_DURATION_MAX)
		abort();
	wid_duration_format(secs, f, sizeof(f));
	if (wid_duration_parse(f, &again) != 0 || again != secs)
		abort();
	return 0;
}
