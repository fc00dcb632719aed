/* tools/tool/cert_cmd.c: certificates from the command line: `cert ID
 * --ssh|--pem` (a task's certificate), `ca init|pubkey|cert` (the agent's
 * CA), and the certificate files `exec` hands to its command. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "wid/err.h"
#include "wid/pubkey.h"
#include "tool.h"

enum { FMT_NONE, FMT_SSH, FMT_PEM, FMT_DER };

static const struct option cert_opts[] = {
	{ "ssh", no_argument, NULL, 's' },
	{ "pem", no_argument, NULL, 'p' },
	{ "der", no_argument, NULL, 'd' },
	{ "x509", no_argument, NULL, 'x' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
usage_cert(FILE *f)
{
	fputs("usage: wid-tool cert ID --ssh | --pem | --der\n"
	    "Prints the certificate the agent issued for task ID's key: the\n"
	    "OpenSSH user certificate line (--ssh; for ssh -o CertificateFile)\n"
	    "or the X.509 certificate as PEM (--pem) or DER (--der).  The task\n"
	    "must have been started with --ssh-cert or --x509.\n", f);
}

static void
usage_ca(FILE *f)
{
	fputs("usage: wid-tool ca init [--ssh] [--x509]\n"
	    "       wid-tool ca pubkey --ssh\n"
	    "       wid-tool ca cert --pem | --der\n"
	    "ca init: create the agent's CA keys (both without options); keys\n"
	    "  that exist are kept.  The agent's user and root only.  The CA\n"
	    "  lives in the agent's memory and is gone when it stops.\n"
	    "ca pubkey --ssh: the OpenSSH CA public key, for sshd's\n"
	    "  TrustedUserCAKeys or a @cert-authority line.\n"
	    "ca cert --pem: the X.509 CA certificate, for TLS verifiers.\n", f);
}

/* Parses the format options; init: --ssh/--x509 are CA kinds. */
static int
parse_fmt(int argc, char **argv, const char *cmd, void (*usage)(FILE *),
          int *ret_fmt, unsigned *ret_bits)
{
	int c, fmt = FMT_NONE;
	unsigned bits = 0;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", cert_opts, NULL)) != -1) {
		switch (c) {
		case 's':
			fmt = FMT_SSH;
			bits |= WID_CA_SSH;
			break;
		case 'p':
			fmt = FMT_PEM;
			break;
		case 'd':
			fmt = FMT_DER;
			break;
		case 'x':
			bits |= WID_CA_X509;
			break;
		case 'h':
			usage(stdout);
			return TOOL_EXIT_OK;
		default:
			return tool_usage_error(cmd, "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	*ret_fmt = fmt;
	*ret_bits = bits;
	return -1;
}

/* DER certificate to stdout as PEM or DER. */
static int
print_x509(const uint8_t *der, size_t len, int fmt)
{
	const unsigned char *p = der;
	X509 *x;
	int r = TOOL_EXIT_FAIL;

	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL ||
	    p != der + len) {
		fprintf(stderr, TOOL_NAME ": the agent sent a malformed "
		    "certificate\n");
		goto out;
	}
	if (fmt == FMT_DER ? fwrite(der, 1, len, stdout) != len :
	    PEM_write_X509(stdout, x) != 1)
		goto out;
	r = fflush(stdout) == 0 ? TOOL_EXIT_OK : TOOL_EXIT_FAIL;
out:
	X509_free(x);
	return r;
}

/* An OpenSSH line from the agent: printable text only. */
static int
print_line(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] < 0x20 || p[i] > 0x7e) {
			fprintf(stderr, TOOL_NAME ": the agent sent a "
			    "malformed OpenSSH line\n");
			return TOOL_EXIT_FAIL;
		}
	printf("%.*s\n", (int)len, (const char *)p);
	return fflush(stdout) == 0 ? TOOL_EXIT_OK : TOOL_EXIT_FAIL;
}

int
cmd_cert(struct tool *t, int argc, char **argv)
{
	static uint8_t buf[WID_BLOB_MAX];
	size_t len;
	unsigned bits;
	int r, fmt;

	if ((r = parse_fmt(argc, argv, "cert", usage_cert, &fmt, &bits)) >= 0)
		return r;
	if (argc - optind != 1)
		return tool_usage_error("cert", "%s", argc - optind < 1 ?
		    "missing task ID" : "one task ID only");
	if (!wid_task_id_valid(argv[optind]))
		return tool_usage_error("cert", "invalid task id '%s'",
		    argv[optind]);
	if (fmt == FMT_NONE || (bits & WID_CA_X509) != 0)
		return tool_usage_error("cert", "%s", "give --ssh, --pem or --der");
	if ((r = tool_cert_get(t, argv[optind], fmt == FMT_SSH ?
	    WID_CERT_SSH : WID_CERT_X509_DER, buf, sizeof(buf), &len)) != 0)
		return tool_report(t, "cert", r);
	return fmt == FMT_SSH ? print_line(buf, len) : print_x509(buf, len, fmt);
}

int
cmd_ca(struct tool *t, int argc, char **argv)
{
	static uint8_t buf[WID_BLOB_MAX];
	const char *sub;
	size_t len;
	unsigned bits;
	int r, fmt;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage_ca(argc < 2 ? stderr : stdout);
		return argc < 2 ? TOOL_EXIT_USAGE : TOOL_EXIT_OK;
	}
	sub = argv[1];
	if ((r = parse_fmt(argc - 1, argv + 1, "ca", usage_ca, &fmt,
	    &bits)) >= 0)
		return r;
	if (optind != argc - 1)
		return tool_usage_error("ca", "unexpected argument '%s'",
		    argv[optind + 1]);
	if (strcmp(sub, "init") == 0) {
		if (fmt == FMT_PEM || fmt == FMT_DER)
			return tool_usage_error("ca", "%s", "init takes --ssh "
			    "and/or --x509");
		if ((r = tool_ca_init(t, bits != 0 ? bits :
		    WID_CA_SSH | WID_CA_X509)) != 0)
			return tool_report(t, "ca init", r);
		return TOOL_EXIT_OK;
	}
	if (strcmp(sub, "pubkey") == 0) {
		if (fmt != FMT_SSH || bits != WID_CA_SSH)
			return tool_usage_error("ca", "%s", "pubkey takes --ssh");
		if ((r = tool_cert_get(t, NULL, WID_CERT_CA_SSH, buf,
		    sizeof(buf), &len)) != 0)
			return tool_report(t, "ca pubkey", r);
		return print_line(buf, len);
	}
	if (strcmp(sub, "cert") == 0) {
		if ((fmt != FMT_PEM && fmt != FMT_DER) || bits != 0)
			return tool_usage_error("ca", "%s", "cert takes --pem or "
			    "--der");
		if ((r = tool_cert_get(t, NULL, WID_CERT_CA_X509, buf,
		    sizeof(buf), &len)) != 0)
			return tool_report(t, "ca cert", r);
		return print_x509(buf, len, fmt);
	}
	return tool_usage_error("ca", "unknown subcommand '%s' (init, pubkey, "
	    "cert)", sub);
}

/* Writes len bytes (and a newline when nl) to DIR/NAME, mode 0600, and
 * exports its path as env. */
static int
write_file(const char *dir, const char *name, const void *p, size_t len,
           int nl, const char *env)
{
	char path[4096];
	int fd, w, r = -1;

	w = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (w < 0 || (size_t)w >= sizeof(path))
		return -1;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) < 0) {
		fprintf(stderr, TOOL_NAME " exec: %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	if (write(fd, p, len) == (ssize_t)len &&
	    (!nl || write(fd, "\n", 1) == 1))
		r = 0;
	if (close(fd) != 0)
		r = -1;
	if (r != 0)
		fprintf(stderr, TOOL_NAME " exec: cannot write %s\n", path);
	else if (setenv(env, path, 1) != 0)
		r = -1;
	return r;
}

int
tool_cert_files_write(struct tool *t, const struct wid_task *task,
                      char *dir, size_t size)
{
	static uint8_t buf[WID_BLOB_MAX];
	char line[WID_SSH_BLOB_MAX * 2];
	const char *base = getenv("TMPDIR");
	BIO *bio = NULL;
	X509 *x = NULL;
	const unsigned char *p;
	char *pem;
	long pem_len;
	size_t len;
	int w, r = TOOL_EXIT_FAIL;

	dir[0] = '\0';
	if ((task->flags & (WID_TASK_HAS_SSH_CERT | WID_TASK_HAS_X509)) == 0)
		return TOOL_EXIT_OK;
	if (base == NULL || base[0] != '/')
		base = "/tmp";
	w = snprintf(dir, size, "%s/wid-XXXXXX", base);
	if (w < 0 || (size_t)w >= size || mkdtemp(dir) == NULL) {
		fprintf(stderr, TOOL_NAME " exec: cannot create a private "
		    "directory under %s\n", base);
		dir[0] = '\0';
		goto out;
	}
	if ((task->flags & WID_TASK_HAS_SSH_CERT) != 0) {
		if ((w = tool_cert_get(t, task->id, WID_CERT_SSH, buf,
		    sizeof(buf), &len)) != 0) {
			tool_report(t, "exec: cert", w);
			goto out;
		}
		/* ssh looks for KEY-cert.pub next to KEY.pub. */
		if (wid_pubkey_ssh(task->spki, task->spki_len, task->id, line,
		    sizeof(line)) != 0 ||
		    write_file(dir, "id.pub", line, strlen(line), 1,
		    "WID_SSH_PUBKEY") != 0 ||
		    write_file(dir, "id-cert.pub", buf, len, 1,
		    "WID_SSH_CERT") != 0)
			goto out;
	}
	if ((task->flags & WID_TASK_HAS_X509) != 0) {
		if ((w = tool_cert_get(t, task->id, WID_CERT_X509_DER, buf,
		    sizeof(buf), &len)) != 0) {
			tool_report(t, "exec: cert", w);
			goto out;
		}
		p = buf;
		if ((x = d2i_X509(NULL, &p, (long)len)) == NULL ||
		    (bio = BIO_new(BIO_s_mem())) == NULL ||
		    PEM_write_bio_X509(bio, x) != 1 ||
		    (pem_len = BIO_get_mem_data(bio, &pem)) <= 0 ||
		    write_file(dir, "cert.pem", pem, (size_t)pem_len, 0,
		    "WID_X509_CERT") != 0)
			goto out;
	}
	r = TOOL_EXIT_OK;
out:
	BIO_free(bio);
	X509_free(x);
	if (r != TOOL_EXIT_OK && dir[0] != '\0') {
		tool_cert_files_remove(dir);
		dir[0] = '\0';
	}
	return r;
}

void
tool_cert_files_remove(const char *dir)
{
	static const char *const names[] = {
		"id.pub", "id-cert.pub", "cert.pem",
	};
	char path[4096];
	size_t i;

	if (dir == NULL || dir[0] == '\0')
		return;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (unlink(path) != 0 && errno != ENOENT)
			fprintf(stderr, TOOL_NAME " exec: cannot remove %s: "
			    "%s\n", path, strerror(errno));
	}
	if (rmdir(dir) != 0)
		fprintf(stderr, TOOL_NAME " exec: cannot remove %s: %s\n", dir,
		    strerror(errno));
}
