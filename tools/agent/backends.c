/* tools/agent/backends.c: choose a key backend by name. */
#include "config.h"

#include <string.h>
#include <time.h>

#include "agent.h"

static const struct {
	const char *name;
	uint8_t id;
	const struct wid_backend_ops *ops;
} backends[] = {
	{ "soft", WID_BACKEND_SOFT, &wid_backend_soft },
	/* "tpm" is wired by the lead under WID_HAVE_TPM. */
};

const struct wid_backend_ops *
wid_backend_find(const char *name, uint8_t *ret_id, const char **ret_why)
{
	size_t i;

	*ret_why = NULL;
	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		if (strcmp(name, backends[i].name) == 0) {
			*ret_id = backends[i].id;
			return backends[i].ops;
		}
	}
	if (strcmp(name, "tpm") == 0) {
#ifdef WID_HAVE_TPM
		*ret_why = "tpm backend not wired yet";
#else
		*ret_why = "built without TPM support";
#endif
	} else
		*ret_why = "unknown backend";
	return NULL;
}

uint64_t
wid_now_boot(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int64_t
wid_now_wall(void)
{
	return (int64_t)time(NULL);
}
