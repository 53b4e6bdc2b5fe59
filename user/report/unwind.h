/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The report's "unwind" object: stack copies sent by BPF, what CFI
 * unwinding made of them, and the fault samples that split fault stacks. */
#ifndef LT_REPORT_UNWIND_H
#define LT_REPORT_UNWIND_H
#include "trace/world.h"

struct json_object;
struct json_object *report_unwind_json(const struct lt_target *tg);
#endif
