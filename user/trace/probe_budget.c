// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <math.h>
#include "trace/probe_budget.h"

void pb_init(struct probe_budget *pb, double budget, double cost_s,
	     double cpus, double now)
{
	/* Off until the first tick: attached only once ticks come, so the
	 * first window is measured and cut like every other. */
	*pb = (struct probe_budget){
		.budget = budget > 0 ? budget : 0,
		.cost_s = cost_s > 0 ? cost_s : 20e-6,
		.cpus = cpus >= 1 ? cpus : 1,
		.since = now,
		.until = budget > 0 ? now : INFINITY,
		.on_len = PB_FIRST_WINDOW_S,
		.duty = budget > 0 ? 1 : 0,
		.start = now,
		.acct_t = now,
	};
}

/* The cost of the hits since the last accounting: they all came between
 * then and now, and no probe costs more than every CPU for that long. */
static double unaccounted(const struct probe_budget *pb, double now, uint64_t hits)
{
	/* a weighted counter (malloc's) may step back when its weights are
	 * measured again: nothing new then, not 2^64 hits */
	double est = hits > pb->acct_hits ? (double)(hits - pb->acct_hits) * pb->cost_s : 0;

	return fmin(est, pb->cpus * fmax(0, now - pb->acct_t));
}

static void account(struct probe_budget *pb, double now, uint64_t hits)
{
	pb->spent_s += unaccounted(pb, now, hits);
	pb->acct_hits = hits;
	pb->acct_t = now;
}

/* The window begins at now: hits so far are accounted apart (a span of
 * their own: its bound is not the window's). */
static void window_begin(struct probe_budget *pb, double now, uint64_t hits)
{
	account(pb, now, hits);
	pb->on = true;
	pb->since = now;
	pb->hits_at = hits;
	pb->hits_t = now;
	pb->until = now + pb->on_len;
	if (pb->changes)
		pb->windows++;
	pb->changes++;
}

/* The on window just ended: keep on, or pause for as long as the rate
 * measured in it says. */
static bool window_end(struct probe_budget *pb, double now, uint64_t hits)
{
	/* Hits past the planned end are not counted (BPF keeps the end
	 * too): the window's length is what was planned, at most; cut by
	 * the cap, from its first hit. */
	double end = fmin(now, pb->until), cost, d, period;
	double len = end - (pb->cut ? fmin(end, fmax(pb->since, pb->hits_from)) : pb->since);
	uint64_t n = hits > pb->hits_at ? hits - pb->hits_at : 0;
	/* The window's hits came between hits_t and now: on every CPU at
	 * most (the estimate per hit is a measurement times a factor; at
	 * 800k hits/s it once said 7 cores on a 2-core machine). */
	double cw = fmin((double)n * pb->cost_s, pb->cpus * fmax(0, now - pb->hits_t));

	account(pb, now, hits);
	pb->ended = end;
	pb->on_s += now - pb->since;
	pb->rate = len > 0 ? (double)n / len : 0;
	cost = len > 0 ? fmin(cw / len, pb->cpus) : n ? pb->cpus : 0;
	pb->cost_rate = cost;
	d = cost > 0 ? pb->budget / cost : 1;
	/* A duty window that saw nothing (late, or a lull) widens the duty
	 * step by step rather than jumping back to continuous. */
	if (cost == 0 && pb->duty < 1)
		d = fmin(1, pb->duty * 4);
	pb->since = now;
	pb->hits_at = hits;
	pb->hits_t = now;
	if (pb->cut)
		pb->cut_windows++;
	if (d >= 1) {
		pb->cut = false;
		pb->duty = 1;
		pb->until = now + PB_CHECK_S;
		return false;
	}
	pb->duty = d;
	period = PB_PERIOD_S;
	if (d * period < PB_MIN_ON_S)
		period = fmin(PB_MIN_ON_S / d, PB_MAX_PERIOD_S);
	pb->on_len = d * period;
	pb->on = false;
	pb->until = now + period - pb->on_len;
	/* A window the cap cut measured its rate over a length that was
	 * mostly idle before the load came, or a few ms: the next window is
	 * the shortest, to measure it again, not one sized by it. The pause
	 * stays the one sized for the longer window. */
	if (pb->cut)
		pb->on_len = fmin(pb->on_len, PB_MIN_ON_S);
	pb->cut = false;
	pb->changes++;
	return true;
}

bool pb_tick(struct probe_budget *pb, double now, uint64_t hits)
{
	pb->hits_seen = hits;
	if (pb->budget <= 0)
		return false;
	if (pb->on) {
		/* A burst must not wait for the window's end: past twice
		 * the budget of the window so far, end it now. */
		double len = now - pb->since;
		bool burst = hits > pb->hits_at &&
			     (double)(hits - pb->hits_at) * pb->cost_s >
			     2 * pb->budget * fmax(len, PB_MIN_ON_S);

		if (now >= pb->until || (burst && pb->duty >= 1))
			return window_end(pb, now, hits);
		return false;
	}
	if (now < pb->until)
		return false;
	window_begin(pb, now, hits);
	return true;
}

uint64_t pb_cap(const struct probe_budget *pb, double now)
{
	double span = fmax(now - pb->since + PB_CAP_SLACK_S, PB_MIN_ON_S);

	if (pb->budget <= 0 || !pb->on || pb->duty < 1)
		return 0;
	return 1 + (uint64_t)ceil(2 * pb->budget * span / pb->cost_s);
}

double pb_cut_from(uint64_t hits, uint64_t from_hits, uint64_t mark,
		   uint64_t mark_ns, uint64_t capped_ns, double at)
{
	double r;

	if (!mark || !mark_ns || mark_ns >= capped_ns || hits <= mark || hits <= from_hits)
		return -INFINITY;
	r = (double)(hits - mark) / ((double)(capped_ns - mark_ns) / 1e9);
	return at - (double)(hits - from_hits) / r;
}

void pb_cut(struct probe_budget *pb, double from, double at)
{
	if (!pb->on)
		return;
	pb->until = fmin(pb->until, fmax(pb->since, at));
	pb->hits_from = from;
	pb->cut = true;
}

/* An overrun of secs costing c core-seconds: paid for. */
static void charge(struct probe_budget *pb, double secs, double c)
{
	pb->on_s += secs;
	pb->overrun_s += secs;
	pb->charged += c;
	/* The pause was sized for the window alone: (cost of the window +
	 * c) / (window + secs + pause) must stay at the budget. */
	if (!pb->on && pb->duty < 1)
		pb->until += fmax(0, c / pb->budget - secs);
}

void pb_overrun(struct probe_budget *pb, double secs)
{
	if (!(secs > 0) || pb->budget <= 0)
		return;
	/* the window's cost rate, bounded: at most one core */
	charge(pb, secs, secs * fmin(1, pb->cost_rate));
}

void pb_overrun_hits(struct probe_budget *pb, double secs, uint64_t late,
		     double late_cost_s)
{
	double span, c;

	if (pb->budget <= 0 || (!(secs > 0) && !late))
		return;
	secs = fmax(secs, 0);
	span = secs + fmax(0, pb->since - pb->ended);
	c = (double)late * fmin(fmax(late_cost_s, 0), pb->cost_s);
	charge(pb, secs, fmin(c, pb->cpus * span));
}

double pb_next(const struct probe_budget *pb, double now)
{
	return pb->budget > 0 && pb->until > now ? pb->until - now : 0;
}

double pb_on_share(const struct probe_budget *pb, double now)
{
	double on = pb->on_s + (pb->on ? now - pb->since : 0);

	return now > pb->start ? on / (now - pb->start) : 0;
}

double pb_spent(const struct probe_budget *pb, double now)
{
	if (!(now > pb->start))
		return 0;
	return (pb->spent_s + unaccounted(pb, now, pb->hits_seen) + pb->charged) /
	       (now - pb->start);
}
