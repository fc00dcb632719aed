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
#ifdef WID_HAVE_TPM
	{ "tpm", WID_BACKEND_TPM, &wid_backend_tpm },
#endif
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
	if (strcmp(name, "tpm") == 0)
		*ret_why = "this wid-agent was built without TPM support "
		    "(configure --with-tpm=yes needs tpm2-tss)";
	else
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
