// SPDX-License-Identifier: GPL-2.0
/*
 * /init of the initramfs `iommu-dma boot` boots (tools/lab/boot.py).
 *
 * It prints a machine-readable record on the console, one line each,
 * between "BOOT-RECORD begin" and "BOOT-RECORD end":
 *
 *   BOOT-RECORD groups=<count>
 *   BOOT-RECORD group=<n> type=<DMA|DMA-FQ|identity|unknown|...> devices=<a,b>
 *   BOOT-RECORD disk=<ok|bad|error|hang> ...
 *
 * then powers the machine off. The disk check reads the first
 * bootcheck_size= bytes of /dev/vda (whose DMA goes through the IOMMU) and
 * compares their CRC-32 with bootcheck_crc=, both from the kernel command
 * line, which hands such parameters to /init as its environment. The read
 * runs in a child: a read the IOMMU never completes is reported as "hang"
 * after bootcheck_timeout= seconds instead of hanging the boot.
 *
 * Static, libc only: one source for x86_64 (host gcc -static) and arm64
 * (aarch64-linux-gnu-gcc -static).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <unistd.h>

/* Line-buffered stdout: one write per line, not split by the kernel's. */
#define record(fmt, ...) printf("BOOT-RECORD " fmt "\n", ##__VA_ARGS__)

/* The initramfs has /dev, /proc and /sys, but no /dev/console. */
static void setup_console(void)
{
	int fd;

	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	/* the kernel found no console to open: fd is 0 */
	fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
}

static int not_dot(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static void record_groups(void)
{
	const char *root = "/sys/kernel/iommu_groups";
	struct dirent **groups, **devs;
	char path[512], type[64];
	int n, m, i, j;
	FILE *f;

	/* versionsort: the groups by number */
	n = scandir(root, &groups, not_dot, versionsort);
	record("groups=%d", n < 0 ? 0 : n);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s/type", root,
			 groups[i]->d_name);
		f = fopen(path, "r");
		if (!f || !fgets(type, sizeof(type), f))
			snprintf(type, sizeof(type), "%s", f ? "error" : "none");
		type[strcspn(type, "\n")] = '\0';
		/* nothing closed or freed: /init powers off next */
		snprintf(path, sizeof(path), "%s/%s/devices", root,
			 groups[i]->d_name);
		m = scandir(path, &devs, not_dot, alphasort);
		/* one line, written at its newline */
		printf("BOOT-RECORD group=%s type=%s devices=%s",
		       groups[i]->d_name, type[0] ? type : "empty",
		       m > 0 ? "" : "none");
		for (j = 0; j < m; j++)
			printf("%s%s", j ? "," : "", devs[j]->d_name);
		printf("\n");
	}
}

/* Runs in the child: read SIZE bytes of DEV, print the disk line. */
static int check_disk(const char *dev, unsigned long size, const char *want)
{
	static unsigned char buf[65536];
	uint32_t table[256], c, crc = ~0u;
	unsigned long done = 0;
	int fd, i, k;

	fd = open(dev, O_RDONLY);
	if (fd < 0) {
		record("disk=error reason=open errno=%d", errno);
		return 1;
	}
	/* zlib's crc32(): Python's zlib.crc32 gives the same value. */
	for (i = 0; i < 256; i++) {
		for (c = i, k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		table[i] = c;
	}
	while (done < size) {
		ssize_t got = read(fd, buf, size - done < sizeof(buf) ?
				   size - done : sizeof(buf));

		if (got < 0) {
			record("disk=error reason=read errno=%d offset=%lu",
			       errno, done);
			return 1;
		}
		if (got == 0) {
			record("disk=error reason=short offset=%lu", done);
			return 1;
		}
		for (i = 0; i < got; i++)
			crc = table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
		done += got;
	}
	crc = ~crc;
	if (strtoul(want, NULL, 16) != crc) {
		record("disk=bad crc=%08x want=%s bytes=%lu", crc, want, done);
		return 1;
	}
	record("disk=ok crc=%08x bytes=%lu", crc, done);
	return 0;
}

static void record_disk(void)
{
	const char *want = getenv("bootcheck_crc");
	const char *size = getenv("bootcheck_size");
	const char *timeout = getenv("bootcheck_timeout");
	unsigned long bytes = size ? strtoul(size, NULL, 0) : 0;
	int seconds = timeout ? atoi(timeout) : 20, waited;
	pid_t pid;

	if (!want || !bytes) {
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
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		usleep(100000);
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
