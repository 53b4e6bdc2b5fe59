// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <math.h>
#include "trace/probe_budget.h"

void pb_init(struct probe_budget *pb, double budget, double cost_s, double now)
{
	/* Off until the first tick: attached only once ticks come, so the
	 * first window is measured and cut like every other. */
	*pb = (struct probe_budget){
		.budget = budget > 0 ? budget : 0,
		.cost_s = cost_s > 0 ? cost_s : 20e-6,
		.since = now,
		.until = budget > 0 ? now : INFINITY,
		.on_len = PB_FIRST_WINDOW_S,
		.duty = budget > 0 ? 1 : 0,
		.start = now,
	};
}

/* The on window just ended: keep on, or pause for as long as the rate
 * measured in it says. */
static bool window_end(struct probe_budget *pb, double now, uint64_t hits)
{
	/* Hits past the planned end are not counted (BPF keeps the end
	 * too): the window's length is what was planned, at most. */
	double len = fmin(now, pb->until) - pb->since, cost, d, period;

	pb->on_s += now - pb->since;
	pb->rate = len > 0 ? (double)(hits - pb->hits_at) / len : 0;
	cost = pb->rate * pb->cost_s;
	d = cost > 0 ? pb->budget / cost : 1;
	/* A duty window that saw nothing (late, or a lull) widens the duty
	 * step by step rather than jumping back to continuous. */
	if (cost == 0 && pb->duty < 1)
		d = fmin(1, pb->duty * 4);
	pb->since = now;
	pb->hits_at = hits;
	if (d >= 1) {
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
		bool burst = (double)(hits - pb->hits_at) * pb->cost_s >
			     2 * pb->budget * fmax(len, PB_MIN_ON_S);

		if (now >= pb->until || (burst && pb->duty >= 1))
			return window_end(pb, now, hits);
		return false;
	}
	if (now < pb->until)
		return false;
	pb->on = true;
	pb->since = now;
	pb->hits_at = hits;
	pb->until = now + pb->on_len;
	if (pb->changes)
		pb->windows++;
	pb->changes++;
	return true;
}

void pb_overrun(struct probe_budget *pb, double secs)
{
	double c;

	if (!(secs > 0) || pb->budget <= 0)
		return;
	c = secs * fmin(1, pb->rate * pb->cost_s);
	pb->on_s += secs;
	pb->overrun_s += secs;
	pb->charged += c;
	/* The pause was sized for the window alone: (cost of the window +
	 * c) / (window + secs + pause) must stay at the budget. */
	if (!pb->on && pb->duty < 1)
		pb->until += fmax(0, c / pb->budget - secs);
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
	return now > pb->start ? ((double)pb->hits_seen * pb->cost_s + pb->charged) /
				 (now - pb->start) : 0;
}
