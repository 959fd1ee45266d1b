/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_TYPES_H
#define _LINUX_TYPES_H

typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long size_t;
typedef _Bool bool;

#define NULL ((void *)0)
#define true 1
#define false 0

#define ENOMEM		12
#define EINVAL		22

#define __ro_after_init

#define pr_warn(fmt, ...)	((void)(fmt))
#define pr_info(fmt, ...)	((void)(fmt))
#define pr_err(fmt, ...)	((void)(fmt))

#endif /* _LINUX_TYPES_H */
