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
#define PB_CAP_SLACK_S 0.1	/* a tick late: the cap a continuous window gets ahead */

struct probe_budget {
	double budget;		/* fraction of one core; 0: never attached */
	double cost_s;		/* cost of one hit (an estimate) */
	double cpus;		/* online CPUs: no probe costs more than
				 * cpus core-seconds a second */
	bool on;		/* attached now */
	double since, until;	/* the current state's start and planned end */
	double on_len;		/* length of the next on window */
	uint64_t hits_at;	/* hit counter when the current window began */
	double hits_t;		/* ... read then (hits came after it) */
	uint64_t hits_seen;	/* last counter fed */
	double duty;		/* share of time on, 1 = continuous */
	double rate;		/* hits/s while on, last window */
	double cost_rate;	/* cores its hits cost, bounded by cpus */
	bool cut;		/* the window was ended by the hit cap */
	double hits_from;	/* ... whose hits came from then at its rate */
	double ended;		/* the last window's end (planned or cut) */
	uint32_t cut_windows;	/* windows the cap ended */
	uint64_t acct_hits;	/* hits whose cost is in spent_s */
	double acct_t;		/* ... up to then */
	double spent_s;		/* their cost, each span's bounded by
				 * cpus x its length */
	double on_s;		/* time attached so far (overruns included) */
	double overrun_s;	/* of which attaching and detaching */
	double charged;		/* core-seconds charged for the overruns */
	double start;
	uint32_t windows;	/* on windows begun after a pause (duty) */
	uint32_t changes;	/* attach/detach transitions */
};

void pb_init(struct probe_budget *pb, double budget, double cost_s,
	     double cpus, double now);
/* Feeds the hit counter (monotonic) at time now. Returns true when the
 * probe must be attached (pb->on) or detached (!pb->on) now. */
bool pb_tick(struct probe_budget *pb, double now, uint64_t hits);
/* The probe stayed attached secs beyond its window (installing and
 * removing breakpoints: the target keeps trapping into them meanwhile).
 * Counted as attached time, charged at the last window's cost rate (at
 * most one core), and paid back by a longer pause. Call it while off. */
void pb_overrun(struct probe_budget *pb, double secs);
/* A continuous window's hit cap, kept in BPF so that a burst ends the
 * window at once, not at user space's next tick: the hits the window may
 * take beyond pb->hits_at (twice the budget of its length so far plus
 * PB_CAP_SLACK_S, the burst rule of pb_tick enforced ahead), in units of
 * cost_s. 0: no cap (off, or a duty window: its planned end bounds it). */
uint64_t pb_cap(const struct probe_budget *pb, double now);
/* The BPF cap ended the current window at time at, its hits having come
 * at their rate from from on (-INFINITY: not known): it ends then, its
 * rate is the hits up to the cap over [from, at] (attaching, or a lull
 * before a burst, is not its rate), and the next window, if any, is the
 * shortest (the rate of a cut window is rough). */
void pb_cut(struct probe_budget *pb, double from, double at);
/* The from for pb_cut: where a cut window's hits (hits now, from_hits
 * when it began) began at the rate they had from the mark (mark hits,
 * reached at mark_ns) to the cut (capped_ns; ns on one clock), carried
 * back from at. -INFINITY: no usable mark. */
double pb_cut_from(uint64_t hits, uint64_t from_hits, uint64_t mark,
		   uint64_t mark_ns, uint64_t capped_ns, double at);
/* As pb_overrun, the cost counted rather than assumed: late hits came
 * past the window's end (cut or planned: the program returned at once)
 * until the detach ended, secs after the window's end was decided. Each
 * costs late_cost_s (the mechanism and an early return, at most cost_s),
 * all of them at most every CPU from the window's end to now. For a probe
 * whose program counts them: a detach's grace period is then paid for
 * what the target really hit. */
void pb_overrun_hits(struct probe_budget *pb, double secs, uint64_t late,
		     double late_cost_s);
/* Seconds until the next planned change (for poll timeouts). */
double pb_next(const struct probe_budget *pb, double now);
/* Share of the elapsed time the probe was attached. */
double pb_on_share(const struct probe_budget *pb, double now);
/* Share of one core the probe's hits cost so far, overruns included
 * ((hits * cost + charged) / time), the hits' cost bounded by what the
 * CPUs could have spent: estimate cost_s is an in-target factor times a
 * measurement, and x hits a second can exceed the machine. */
double pb_spent(const struct probe_budget *pb, double now);
#endif
