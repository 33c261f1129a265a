/*
 * sip_worker.c
 *		cc sip: the SIP signalling worker.  sofia-sip's su_root is its event
 *		loop; registered in it are the SIP sockets (by nua), the loopback
 *		LISTEN socket (sip_bus.c) and a self-pipe that our signal handlers
 *		write to, since SetLatch cannot wake a process blocked in sofia's
 *		own epoll_wait.  Each turn of the loop then does the database work
 *		that callbacks queued.
 */
#include "postgres.h"

#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/memutils.h"

#include "guc.h"
#include "shmem.h"
#include "sip_bus.h"
#include "sip_calls.h"
#include "sip_media.h"
#include "sip_request.h"
#include "sip_stack.h"
#include "sip_trunks.h"
#include "worker_common.h"

PGDLLEXPORT void cc_sip_main(Datum main_arg);

#define SIP_STEP_MS 100			/* longest sleep of one loop turn */
#define SIP_DRAIN_MS 50			/* longest time spent gathering one batch */
#define SIP_DRAIN_IDLE_STEPS 3	/* steps without new work that end the gathering */
#define SIP_START_RETRY_MS 5000
#define HOUSEKEEPING_INTERVAL_S 2

static int	self_pipe[2] = {-1, -1};

static void sip_wake(void);
static int	self_pipe_readable(su_root_magic_t *magic, su_wait_t *w, su_wakeup_arg_t *arg);
static bool start_stack_when_possible(void);
static void housekeeping(void *arg);
static void reconcile_calls(void *arg);

/* sip_wake is async-signal-safe: one byte in the self-pipe wakes su_root. */
static void
sip_wake(void)
{
	if (self_pipe[1] >= 0)
	{
		char		byte = 0;
		ssize_t		rc pg_attribute_unused();

		rc = write(self_pipe[1], &byte, 1);
	}
}

/* self_pipe_readable empties the pipe; the loop turn does the rest. */
static int
self_pipe_readable(su_root_magic_t *magic, su_wait_t *w, su_wakeup_arg_t *arg)
{
	char		buf[64];

	while (read(self_pipe[0], buf, sizeof(buf)) > 0)
		;
	return 0;
}

/*
 * start_stack_when_possible starts sofia-sip, retrying every five seconds
 * (one LOG line) while cc.sip_listen cannot be bound.
 */
static bool
start_stack_when_possible(void)
{
	bool		logged = false;

	while (!cc_shutdown_requested)
	{
		su_wait_t	wait[1];

		if (sip_stack_start(cc_sip_listen))
		{
			if (su_wait_create(wait, self_pipe[0], SU_WAIT_IN) < 0 ||
				su_root_register(sip_root, wait, self_pipe_readable, NULL, 0) < 0)
				elog(FATAL, "cc sip: cannot watch the self-pipe");
			return true;
		}
		sip_stack_stop();
		if (!logged)
			ereport(LOG, (errmsg("cc sip: will retry binding %s every %d s",
								 cc_sip_listen, SIP_START_RETRY_MS / 1000)));
		logged = true;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 SIP_START_RETRY_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		cc_worker_reload_if_pending();
	}
	return false;
}

/*
 * reconcile_calls runs at start: a new cc sip holds no call, so every call
 * of this site still in progress is ended with a recorded cause and a CDR.
 */
static void
reconcile_calls(void *arg)
{
	if (SPI_execute("SELECT cc.calls_reconcile('cc sip restarted')", false, 1) != SPI_OK_SELECT)
		elog(ERROR, "cc.calls_reconcile failed");
}

/*
 * housekeeping removes expired registrations and reports the calls the
 * admission limit refused (a transaction every few seconds); *arg (uint64)
 * gets the number of refusals reported.
 */
static void
housekeeping(void *arg)
{
	if (SPI_execute("SELECT cc.registrations_expire()", false, 1) != SPI_OK_SELECT)
		elog(ERROR, "cc.registrations_expire failed");
	*(uint64 *) arg = sip_request_report_shed();
}

/*
 * cc_sip_main is the entry point of cc sip.  Like worker_spi it leaves with
 * exit code 1 even on SIGTERM, so that a worker ended by
 * pg_terminate_backend() is restarted; at server shutdown nothing is.
 */
void
cc_sip_main(Datum main_arg)
{
	time_t		next_housekeeping = 0;
	MemoryContext turn_context;
	struct timespec drain_start;
	int			idle_steps;

	if (pipe(self_pipe) != 0 ||
		fcntl(self_pipe[0], F_SETFL, O_NONBLOCK) != 0 ||
		fcntl(self_pipe[1], F_SETFL, O_NONBLOCK) != 0)
		elog(FATAL, "cc sip: cannot create the self-pipe: %m");
	cc_worker_setup_signals(sip_wake);
	cc_shmem_attach();

	if (!cc_worker_connect("cc sip"))
		proc_exit(1);
	cc_worker_slot_publish(&cc_shared->sip);

	if (!start_stack_when_possible())
		proc_exit(1);
	sip_calls_init();
	cc_worker_transaction("cc sip: reconcile calls", reconcile_calls, NULL);
	sip_bus_prepare();
	pgstat_report_activity(STATE_IDLE, NULL);

	/*
	 * What a loop turn pallocs outside a transaction (SDP, header strings,
	 * action parameters) lives in this context, reset after each turn;
	 * whatever lives longer has a context of its own (the legs', the
	 * trunks').
	 */
	turn_context = AllocSetContextCreate(TopMemoryContext, "cc sip loop turn", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(turn_context);

	while (!cc_shutdown_requested)
	{
		MemoryContextReset(turn_context);
		su_root_step(sip_root, sip_bus_step_ms(SIP_STEP_MS));

		/*
		 * Gather what else is waiting in the sockets before the database
		 * work (for at most SIP_DRAIN_MS), so that load grows the batches
		 * of one transaction rather than the number of transactions.
		 */
		clock_gettime(CLOCK_MONOTONIC, &drain_start);
		for (idle_steps = 0;;)
		{
			uint64		before = sip_work_queued;
			struct timespec now;

			/*
			 * A datagram read in one step reaches nua's callback in a later
			 * one (sofia queues it between its layers): stop after a few
			 * steps that brought nothing.
			 */
			su_root_step(sip_root, 0);
			idle_steps = sip_work_queued == before ? idle_steps + 1 : 0;
			if (idle_steps >= SIP_DRAIN_IDLE_STEPS)
				break;
			clock_gettime(CLOCK_MONOTONIC, &now);
			if ((now.tv_sec - drain_start.tv_sec) * 1000 + (now.tv_nsec - drain_start.tv_nsec) / 1000000 >= SIP_DRAIN_MS)
				break;
		}
		pg_atomic_fetch_add_u64(&cc_shared->sip.loops, 1);
		if (cc_shutdown_requested)
			break;

		cc_worker_reload_if_pending();
		sip_media_process();
		sip_request_process();
		sip_calls_process();
		sip_bus_record_results();
		sip_bus_maintain();
		sip_bus_fire_timers();
		sip_bus_claim_and_run();
		/* actions the timers and commands gave: now, not after the next sleep */
		sip_calls_run_ready();
		sip_trunks_process();

		if (time(NULL) >= next_housekeeping)
		{
			uint64		shed_reported = 0;

			if (cc_worker_transaction("cc sip: housekeeping", housekeeping, &shed_reported))
				sip_request_shed_reported(shed_reported);
			next_housekeeping = time(NULL) + HOUSEKEEPING_INTERVAL_S;
		}
	}

	ereport(LOG, (errmsg("cc sip: shutting down")));
	sip_calls_shutdown();
	sip_trunks_shutdown();
	sip_bus_disconnect();
	sip_stack_stop();
	proc_exit(1);
}
