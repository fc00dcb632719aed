/* tests/fuzz/memfile.h: hands fuzz input to code that reads a file by
 * path: the bytes go into a memfd, named by /proc/self/fd/N.  Header-only,
 * for the fuzz targets. */
#ifndef WID_FUZZ_MEMFILE_H
#define WID_FUZZ_MEMFILE_H

#define _GNU_SOURCE 1
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Returns an fd holding exactly data[0..size) and its path in `path`, or
 * -1.  Aborts never: a target that cannot make the file just returns. */
static int
memfile_open(const uint8_t *data, size_t size, char *path, size_t plen)
{
	int fd = memfd_create("wid-fuzz", MFD_CLOEXEC);
	size_t off = 0;

	if (fd < 0)
		return -1;
	while (off < size) {
		ssize_t n = write(fd, data + off, size - off);

		if (n <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	snprintf(path, plen, "/proc/self/fd/%d", fd);
	return fd;
}

#endif
