/*
 * http_worker.c
 *		cc http: makes every outbound HTTP request of pg_callcenter (webhook
 *		deliveries, IVR HTTP nodes, bots, the preferred-agents and
 *		number-mapping endpoints) with a libcurl multi handle driven by a
 *		WaitEventSet.
 *
 * The wait set holds the latch, the loopback LISTEN connection (channel
 * cc_http: a delivery or request was queued) and libcurl's sockets; its
 * timeout is the earliest of libcurl's timer, the next attempt scheduled
 * for later, the safety-net rescan and the periodic recovery.  Each turn:
 * hand ready sockets and due timers to libcurl, record finished attempts
 * (one transaction), claim what is due (one transaction, FOR UPDATE SKIP
 * LOCKED), start it.  At start, and every minute, claims left by a cc http
 * that died are taken back (cc.http_recover).
 */
#include "postgres.h"

#include <curl/curl.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "http_store.h"
#include "http_transfer.h"
#include "loopback.h"
#include "shmem.h"
#include "worker_common.h"

PGDLLEXPORT void cc_http_main(Datum main_arg);

#define HTTP_MAX_IN_FLIGHT 2000		/* attempts running at once */
#define HTTP_CLAIM_BATCH 500		/* most deliveries claimed per transaction */
#define HTTP_REQUEST_BATCH 100		/* most requests claimed per transaction */
#define HTTP_RECOVER_MS 60000		/* how often dead claims are looked for */
#define HTTP_SWEEP_MS 5000			/* how often waiting deliveries are checked (cc.webhook_deliveries_unblock) */
#define HTTP_MAX_WAIT_MS 1000		/* the loop turns at least this often */
#define HTTP_RECORD_TRIES 3			/* tries to record an outcome before leaving it to recovery */

static CcLoopback *loopback = NULL;
static WaitEventSet *wait_set = NULL;
static int	wait_set_size = 0;
static int	loopback_pos = -1;
static HttpJob *unrecorded = NULL;	/* finished jobs whose recording failed */

static void http_cleanup(int code, Datum arg);
static void build_wait_set(void);
static long wait_timeout(TimestampTz next_claim, TimestampTz next_recover);
static void keep_failed(HttpJob *list);
static void cycle(bool want_claim, bool sweep, HttpClaim *claim, bool *claimed);
static void start_jobs(HttpJob *jobs);

/* http_cleanup releases libcurl at process exit. */
static void
http_cleanup(int code, Datum arg)
{
	http_transfer_cleanup();
	curl_global_cleanup();
	cc_loopback_close(loopback);
}

/*
 * build_wait_set makes the wait set anew: latch, postmaster death, the
 * loopback socket, and every socket libcurl watches (PostgreSQL 15 cannot
 * remove an event from a set, so a change of libcurl's sockets rebuilds it).
 */
static void
build_wait_set(void)
{
	int			n = http_transfer_socket_count();
	int		   *fds = palloc(sizeof(int) * Max(n, 1));
	int		   *what = palloc(sizeof(int) * Max(n, 1));
	int			i;

	if (wait_set)
		FreeWaitEventSet(wait_set);
	n = http_transfer_sockets(fds, what, n);
	wait_set_size = n + 3;
	wait_set = CreateWaitEventSet(TopMemoryContext, wait_set_size);
	AddWaitEventToSet(wait_set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(wait_set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	loopback_pos = -1;
	if (cc_loopback_socket(loopback) != PGINVALID_SOCKET)
		loopback_pos = AddWaitEventToSet(wait_set, WL_SOCKET_READABLE, cc_loopback_socket(loopback), NULL, NULL);
	for (i = 0; i < n; i++)
	{
		int			events = 0;

		if (what[i] == CURL_POLL_IN || what[i] == CURL_POLL_INOUT)
			events |= WL_SOCKET_READABLE;
		if (what[i] == CURL_POLL_OUT || what[i] == CURL_POLL_INOUT)
			events |= WL_SOCKET_WRITEABLE;
		if (events == 0)
			continue;
		/* user_data carries the fd, +1 so that 0 means "not a libcurl socket" */
		AddWaitEventToSet(wait_set, events, fds[i], NULL, (void *) (intptr_t) (fds[i] + 1));
	}
	pfree(fds);
	pfree(what);
}

/* wait_timeout is how long the loop may sleep, in ms. */
static long
wait_timeout(TimestampTz next_claim, TimestampTz next_recover)
{
	TimestampTz now = GetCurrentTimestamp();
	long		timeout = HTTP_MAX_WAIT_MS;
	long		curl_ms = http_transfer_timer_ms();

	if (curl_ms >= 0)
		timeout = Min(timeout, curl_ms);
	timeout = Min(timeout, Max(TimestampDifferenceMilliseconds(now, next_claim), 0));
	timeout = Min(timeout, Max(TimestampDifferenceMilliseconds(now, next_recover), 0));
	if (unrecorded != NULL)
		timeout = Min(timeout, 100);
	return timeout;
}

/* start_jobs hands claimed jobs to libcurl. */
static void
start_jobs(HttpJob *jobs)
{
	while (jobs)
	{
		HttpJob    *next = jobs->next;

		jobs->next = NULL;
		http_transfer_start(jobs);
		jobs = next;
	}
}

/*
 * keep_failed keeps the jobs whose outcome could not be recorded, to try
 * again next turn, up to HTTP_RECORD_TRIES times (then recovery takes the
 * delivery or request back and retries it).
 */
static void
keep_failed(HttpJob *list)
{
	while (list)
	{
		HttpJob    *next = list->next;

		if (++list->record_tries >= HTTP_RECORD_TRIES)
		{
			ereport(LOG,
					(errmsg("cc http: giving up recording attempt %d of %s; recovery will retry it",
							list->attempt, list->id)));
			http_job_free(list);
		}
		else
		{
			list->next = unrecorded;
			unrecorded = list;
		}
		list = next;
	}
}

/*
 * cycle records what libcurl finished (request answers in their own
 * synchronous transaction, deliveries with the claim) and claims new work
 * when wanted, due, or when a recorded delivery may have let the next one
 * of its call go.  Returns whether a claim was made and the claim.
 */
static void
cycle(bool want_claim, bool sweep, HttpClaim *claim, bool *claimed)
{
	HttpJob    *done = http_transfer_take_finished();
	HttpJob    *webhooks = NULL;
	HttpJob    *requests = NULL;

	*claimed = false;
	/* split what finished (and what could not be recorded before) by kind */
	while (unrecorded || done)
	{
		HttpJob    *job;

		if (unrecorded)
		{
			job = unrecorded;
			unrecorded = job->next;
		}
		else
		{
			job = done;
			done = job->next;
		}
		if (job->kind == HTTP_JOB_WEBHOOK)
		{
			job->next = webhooks;
			webhooks = job;
		}
		else
		{
			job->next = requests;
			requests = job;
		}
	}
	if (requests)
	{
		if (http_store_record_requests(requests))
			http_jobs_free(requests);
		else
			keep_failed(requests);
	}
	if (webhooks)
		want_claim = true;
	want_claim = want_claim && http_transfer_in_flight() < HTTP_MAX_IN_FLIGHT;
	if (webhooks == NULL && !want_claim)
		return;
	if (want_claim)
	{
		claim->max_webhooks = Min(HTTP_CLAIM_BATCH, HTTP_MAX_IN_FLIGHT - http_transfer_in_flight());
		claim->max_requests = HTTP_REQUEST_BATCH;
		claim->sweep = sweep;
	}
	if (http_store_cycle(webhooks, want_claim ? claim : NULL))
	{
		http_jobs_free(webhooks);
		*claimed = want_claim;
	}
	else
		keep_failed(webhooks);
}

/* cc_http_main is the entry point of cc http (exit code 1: restarted, see cc_sip_main). */
void
cc_http_main(Datum main_arg)
{
	static const char *const channels[] = {"cc_http"};
	TimestampTz next_claim;
	TimestampTz next_sweep;
	TimestampTz next_recover;
	bool		claim_wanted = true;
	WaitEvent  *occurred = NULL;
	int			occurred_size = 0;

	cc_worker_setup_signals(NULL);
	cc_shmem_attach();
	if (!cc_worker_connect("cc http"))
		proc_exit(1);

	/* Done here, not in _PG_init: libcurl may start threads and open files. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		elog(FATAL, "cc http: curl_global_init failed");
	if (!http_transfer_init())
		elog(FATAL, "cc http: curl_multi_init failed");
	on_proc_exit(http_cleanup, (Datum) 0);

	cc_worker_slot_publish(&cc_shared->http);
	pgstat_report_activity(STATE_IDLE, NULL);

	loopback = cc_loopback_create("cc http", channels, lengthof(channels));
	(void) cc_loopback_maintain(loopback);
	http_store_recover(true);
	next_claim = GetCurrentTimestamp();
	next_sweep = next_claim;
	next_recover = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), HTTP_RECOVER_MS);
	build_wait_set();

	while (!cc_shutdown_requested)
	{
		int			n;
		int			i;
		TimestampTz now;

		if (http_transfer_sockets_changed() || wait_set == NULL)
			build_wait_set();
		if (occurred_size < wait_set_size)
		{
			occurred_size = wait_set_size;
			occurred = occurred ? repalloc(occurred, sizeof(WaitEvent) * occurred_size)
				: MemoryContextAlloc(TopMemoryContext, sizeof(WaitEvent) * occurred_size);
		}
		n = WaitEventSetWait(wait_set, wait_timeout(Min(next_claim, next_sweep), next_recover), occurred, occurred_size,
							 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		pg_atomic_fetch_add_u64(&cc_shared->http.loops, 1);
		cc_worker_reload_if_pending();

		for (i = 0; i < n; i++)
		{
			WaitEvent  *ev = &occurred[i];

			if (ev->pos == loopback_pos && loopback_pos >= 0)
			{
				if (cc_loopback_read(loopback, NULL, NULL) > 0)
					claim_wanted = true;
			}
			else if (ev->user_data != NULL && (ev->events & (WL_SOCKET_READABLE | WL_SOCKET_WRITEABLE)))
				http_transfer_socket_ready((int) ((intptr_t) ev->user_data - 1),
										   (ev->events & WL_SOCKET_READABLE) != 0,
										   (ev->events & WL_SOCKET_WRITEABLE) != 0);
		}
		http_transfer_timer_check();

		if (cc_loopback_maintain(loopback))
		{
			/* a new connection: what was notified meanwhile is claimed now */
			build_wait_set();
			claim_wanted = true;
		}

		now = GetCurrentTimestamp();
		if (now >= next_recover)
		{
			http_store_recover(false);
			next_recover = TimestampTzPlusMilliseconds(now, HTTP_RECOVER_MS);
			claim_wanted = true;
		}

		{
			HttpClaim	claim;
			bool		claimed;
			bool		rescan = now >= next_claim;
			bool		sweep = now >= next_sweep;

			cycle(claim_wanted || rescan || sweep, sweep, &claim, &claimed);
			if (claimed && sweep)
				next_sweep = TimestampTzPlusMilliseconds(now, HTTP_SWEEP_MS);
			if (claimed)
			{
				start_jobs(claim.jobs);
				/* a full batch: more may be due at once */
				claim_wanted = claim.n_webhooks == claim.max_webhooks || claim.n_requests == claim.max_requests;
				next_claim = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
														 claim.next_due_ms >= 0
														 ? Min(claim.next_due_ms, cc_command_rescan_ms)
														 : cc_command_rescan_ms);
			}
			else if (claim_wanted || rescan || sweep)
			{
				/* failed, or every slot in flight (a finished job claims again) */
				next_claim = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), 1000);
				next_sweep = Max(next_sweep, next_claim);
				claim_wanted = false;
			}
		}
	}

	ereport(LOG, (errmsg("cc http: shutting down")));
	proc_exit(1);
}
