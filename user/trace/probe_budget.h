/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A probe kept within a CPU budget: attached continuously while its
 * measured hits cost less than the budget, else attached in duty cycles
 * (on for a window, off for as long as keeps the average in budget).
 * Pure logic: the caller attaches or detaches as the state says and feeds
 * the probe's hit counter. Times in seconds.
 */
#ifndef LT_PROBE_BUDGET_H
#define LT_PROBE_BUDGET_H
#include <stdbool.h>
#include <stdint.h>

#define PB_FIRST_WINDOW_S 0.25	/* first measurement of the hit rate */
#define PB_CHECK_S 1.0		/* continuous: re-measured this often */
#define PB_PERIOD_S 2.0		/* duty cycle period aimed at */
#define PB_MIN_ON_S 0.05	/* shortest on window (the poll tick) */
#define PB_MAX_PERIOD_S 60.0	/* longest cycle: a window at least this often */

struct probe_budget {
	double budget;		/* fraction of one core; 0: never attached */
	double cost_s;		/* cost of one hit */
	bool on;		/* attached now */
	double since, until;	/* the current state's start and planned end */
	double on_len;		/* length of the next on window */
	uint64_t hits_at;	/* hit counter when the current window began */
	uint64_t hits_seen;	/* last counter fed */
	double duty;		/* share of time on, 1 = continuous */
	double rate;		/* hits/s while on, last window */
	double on_s;		/* time attached so far (overruns included) */
	double overrun_s;	/* of which attaching and detaching */
	double charged;		/* core-seconds charged for the overruns */
	double start;
	uint32_t windows;	/* on windows begun after a pause (duty) */
	uint32_t changes;	/* attach/detach transitions */
};

void pb_init(struct probe_budget *pb, double budget, double cost_s, double now);
/* Feeds the hit counter (monotonic) at time now. Returns true when the
 * probe must be attached (pb->on) or detached (!pb->on) now. */
bool pb_tick(struct probe_budget *pb, double now, uint64_t hits);
/* The probe stayed attached secs beyond its window (installing and
 * removing breakpoints: the target keeps trapping into them meanwhile).
 * Counted as attached time, charged at the last window's cost rate (at
 * most one core), and paid back by a longer pause. Call it while off. */
void pb_overrun(struct probe_budget *pb, double secs);
/* Seconds until the next planned change (for poll timeouts). */
double pb_next(const struct probe_budget *pb, double now);
/* Share of the elapsed time the probe was attached. */
double pb_on_share(const struct probe_budget *pb, double now);
/* Share of one core the probe's hits cost so far, overruns included
 * ((hits * cost + charged) / time). */
double pb_spent(const struct probe_budget *pb, double now);
#endif
