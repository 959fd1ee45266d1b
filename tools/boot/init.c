// SPDX-License-Identifier: GPL-2.0
/*
 * /init of the initramfs `iommu-dma boot` boots (tools/iommu_dma/boot.py).
 *
 * It prints a machine-readable record on the console, one line each,
 * between "BOOT-RECORD begin" and "BOOT-RECORD end":
 *
 *   BOOT-RECORD groups=<count>
 *   BOOT-RECORD group=<n> type=<DMA|DMA-FQ|identity|unknown|...> devices=<a,b>
 *   BOOT-RECORD disk=<ok|bad|error|hang> ...
 *
 * then powers the machine off. The disk check reads the first
 * bootcheck.size= bytes of /dev/vda (whose DMA goes through the IOMMU) and
 * compares their CRC-32 with bootcheck.crc= from the kernel command line.
 * The read runs in a child: a read the IOMMU never completes is reported as
 * "hang" after bootcheck.timeout= seconds instead of hanging the boot.
 *
 * Static, libc only: one source for x86_64 (host gcc -static) and arm64
 * (aarch64-linux-gnu-gcc -static).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TAG "BOOT-RECORD"

static void record(const char *fmt, ...)
{
	char line[4096];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "%s ", TAG);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line: kernel messages do not split it. */
	if (write(1, line, n) < 0)
		_exit(1);
}

static void setup_console(void)
{
	int fd;

	mkdir("/proc", 0755);
	mkdir("/sys", 0755);
	mkdir("/dev", 0755);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
}

static void read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");

	buf[0] = '\0';
	if (!f) {
		snprintf(buf, size, "none");
		return;
	}
	if (!fgets(buf, size, f))
		snprintf(buf, size, "error");
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

/* The value of the kernel command line parameter NAME=... in VALUE. */
static int cmdline_param(const char *name, char *value, size_t size)
{
	char cmdline[4096];
	size_t len = strlen(name);
	char *tok, *save;

	read_line("/proc/cmdline", cmdline, sizeof(cmdline));
	for (tok = strtok_r(cmdline, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		if (!strncmp(tok, name, len) && tok[len] == '=') {
			snprintf(value, size, "%s", tok + len + 1);
			return 1;
		}
	}
	return 0;
}

static int numeric_cmp(const struct dirent **a, const struct dirent **b)
{
	return atoi((*a)->d_name) - atoi((*b)->d_name);
}

static int not_dot(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static int name_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static void record_groups(void)
{
	const char *root = "/sys/kernel/iommu_groups";
	struct dirent **groups;
	int n, i;

	n = scandir(root, &groups, not_dot, numeric_cmp);
	if (n < 0) {
		record("groups=0");
		return;
	}
	record("groups=%d", n);
	for (i = 0; i < n; i++) {
		char path[512], type[64], devices[2048] = "";
		struct dirent **devs;
		int m, j;

		snprintf(path, sizeof(path), "%s/%s/type", root,
			 groups[i]->d_name);
		read_line(path, type, sizeof(type));
		snprintf(path, sizeof(path), "%s/%s/devices", root,
			 groups[i]->d_name);
		m = scandir(path, &devs, not_dot, name_cmp);
		for (j = 0; j < m; j++) {
			size_t used = strlen(devices);

			snprintf(devices + used, sizeof(devices) - used, "%s%s",
				 j ? "," : "", devs[j]->d_name);
			free(devs[j]);
		}
		if (m >= 0)
			free(devs);
		record("group=%s type=%s devices=%s", groups[i]->d_name,
		       type[0] ? type : "empty", devices[0] ? devices : "none");
		free(groups[i]);
	}
	free(groups);
}

static uint32_t crc_table[256];

static void crc_init(void)
{
	uint32_t c;
	int i, k;

	for (i = 0; i < 256; i++) {
		c = i;
		for (k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

/* zlib's crc32(): Python's zlib.crc32 gives the same value. */
static uint32_t crc_update(uint32_t crc, const unsigned char *p, size_t n)
{
	crc = ~crc;
	while (n--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* Runs in the child: read SIZE bytes of DEV, print the disk line. */
static int check_disk(const char *dev, unsigned long size, const char *want)
{
	static unsigned char buf[65536];
	unsigned long done = 0;
	uint32_t crc = 0;
	int fd;

	fd = open(dev, O_RDONLY);
	if (fd < 0) {
		record("disk=error reason=open errno=%d", errno);
		return 1;
	}
	crc_init();
	while (done < size) {
		size_t chunk = size - done < sizeof(buf) ? size - done :
			sizeof(buf);
		ssize_t got = read(fd, buf, chunk);

		if (got < 0) {
			record("disk=error reason=read errno=%d offset=%lu",
			       errno, done);
			return 1;
		}
		if (got == 0) {
			record("disk=error reason=short offset=%lu", done);
			return 1;
		}
		crc = crc_update(crc, buf, got);
		done += got;
	}
	close(fd);
	if (strtoul(want, NULL, 16) != crc) {
		record("disk=bad crc=%08x want=%s bytes=%lu", crc, want, done);
		return 1;
	}
	record("disk=ok crc=%08x bytes=%lu", crc, done);
	return 0;
}

static void record_disk(void)
{
	char want[64], size[64], limit[64];
	unsigned long bytes = 0;
	int seconds = 20;
	int waited, status;
	pid_t pid;

	if (cmdline_param("bootcheck.size", size, sizeof(size)))
		bytes = strtoul(size, NULL, 0);
	if (cmdline_param("bootcheck.timeout", limit, sizeof(limit)))
		seconds = atoi(limit);
	if (!cmdline_param("bootcheck.crc", want, sizeof(want)) || !bytes) {
		record("disk=error reason=no-bootcheck-parameters");
		return;
	}
	pid = fork();
	if (pid == 0)
		_exit(check_disk("/dev/vda", bytes, want));
	if (pid < 0) {
		record("disk=error reason=fork errno=%d", errno);
		return;
	}
	for (waited = 0; waited < seconds * 10; waited++) {
		struct timespec tick = { 0, 100000000 };

		if (waitpid(pid, &status, WNOHANG) == pid)
			return;
		nanosleep(&tick, NULL);
	}
	record("disk=hang seconds=%d", seconds);
}

int main(void)
{
	setup_console();
	record("begin");
	record_groups();
	record_disk();
	record("end");
	sync();
	reboot(RB_POWER_OFF);
	reboot(RB_AUTOBOOT);
	for (;;)
		pause();
}
