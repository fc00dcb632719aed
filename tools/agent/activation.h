/* tools/agent/activation.h: systemd socket activation (the LISTEN_PID /
 * LISTEN_FDS protocol of sd_listen_fds(3), without libsystemd). */
#ifndef WID_AGENT_ACTIVATION_H
#define WID_AGENT_ACTIVATION_H

#include <stddef.h>

/* The first descriptor systemd passes (SD_LISTEN_FDS_START). */
#define WID_LISTEN_FDS_START 3

/* When systemd passed this process a listening socket, checks that fd 3
 * is an AF_UNIX SOCK_STREAM socket in listening state, turns on
 * SO_PASSCRED, O_NONBLOCK and FD_CLOEXEC, writes it to *ret_fd and its
 * path to ret_path, and returns 0.  Without activation returns 0 with
 * *ret_fd = -1.  The LISTEN_* variables are removed from the environment
 * either way, so children never inherit them.  On error writes a message
 * into err and returns a wid_err. */
int wid_listen_activated(int *ret_fd, char *ret_path, size_t pathlen,
                         char *err, size_t errlen);

#endif
