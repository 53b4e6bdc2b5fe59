// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <json-c/json.h>
#include "report/unwind.h"
#include "trace/mem.h"
#include "trace/task.h"

struct json_object *report_unwind_json(const struct lt_ctx *ctx)
{
	const struct unwind_stats *u = &ctx->stacks.uw;
	uint64_t bpf[LT_UC_MAX] = {}, samples, split = 0;
	struct json_object *o = json_object_new_object(), *e;
	uint64_t tried = u->copies - u->fp_complete;

	mem_ucopy_stats(ctx, bpf);
	task_ucopy_stats(ctx, bpf);
	json_object_object_add(o, "copies", json_object_new_int64(u->copies));
	json_object_object_add(o, "copies_skipped_complete",
			       json_object_new_int64(bpf[LT_UC_SKIPPED]));
	json_object_object_add(o, "copy_read_failed",
			       json_object_new_int64(bpf[LT_UC_READ_FAILED]));
	json_object_object_add(o, "copy_ringbuf_full",
			       json_object_new_int64(bpf[LT_UC_RINGBUF]));
	json_object_object_add(o, "fp_complete", json_object_new_int64(u->fp_complete));
	json_object_object_add(o, "unwound", json_object_new_int64(u->unwound));
	json_object_object_add(o, "not_longer_than_fp",
			       json_object_new_int64(u->not_longer));
	json_object_object_add(o, "bad_copy", json_object_new_int64(u->bad_copy));
	json_object_object_add(o, "copy_bytes_mean",
			       json_object_new_int64(u->copies ? u->copy_bytes / u->copies : 0));
	json_object_object_add(o, "copies_grown", json_object_new_int64(u->copy_grown));
	json_object_object_add(o, "frames", json_object_new_int64(u->frames));
	json_object_object_add(o, "fp_fallback_frames",
			       json_object_new_int64(u->fp_frames));
	json_object_object_add(o, "avg_unwind_us",
			       json_object_new_double(tried ? u->unwind_ns / 1e3 / tried : 0));
	json_object_object_add(o, "max_unwind_us",
			       json_object_new_double(u->max_unwind_ns / 1e3));
	e = json_object_new_object();
	for (int i = 0; i < UNW_END_MAX; i++)
		json_object_object_add(e, unwind_end_name(i),
				       json_object_new_int64(u->end[i]));
	json_object_object_add(o, "ended_by", e);
	samples = mem_fault_samples(ctx, &split);
	json_object_object_add(o, "fault_samples", json_object_new_int64(samples));
	json_object_object_add(o, "fault_stacks_split", json_object_new_int64(split));
	return o;
}
