/*
 * http_worker.c
 *		cc http: makes every outbound HTTP request of pg_callcenter (webhook
 *		deliveries, IVR HTTP nodes, bots) with a libcurl multi handle driven
 *		by a WaitEventSet.
 *
 * The foundation sets up the process, libcurl and the loop; the webhooks
 * issue adds the outbox, sockets in the wait set and deliveries.
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

#include "shmem.h"
#include "worker_common.h"

PGDLLEXPORT void cc_http_main(Datum main_arg);

#define HTTP_IDLE_WAIT_MS 1000

static CURLM *http_multi = NULL;

static void http_cleanup(int code, Datum arg);

/* http_cleanup releases libcurl at process exit. */
static void
http_cleanup(int code, Datum arg)
{
	if (http_multi)
		curl_multi_cleanup(http_multi);
	http_multi = NULL;
	curl_global_cleanup();
}

/* cc_http_main is the entry point of cc http (exit code 1: restarted, see cc_sip_main). */
void
cc_http_main(Datum main_arg)
{
	WaitEventSet *events;

	cc_worker_setup_signals(NULL);
	cc_shmem_attach();
	if (!cc_worker_connect("cc http"))
		proc_exit(1);

	/* Done here, not in _PG_init: libcurl may start threads and open files. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		elog(FATAL, "cc http: curl_global_init failed");
	http_multi = curl_multi_init();
	if (http_multi == NULL)
		elog(FATAL, "cc http: curl_multi_init failed");
	on_proc_exit(http_cleanup, (Datum) 0);

	cc_worker_slot_publish(&cc_shared->http);
	pgstat_report_activity(STATE_IDLE, NULL);

	events = CreateWaitEventSet(TopMemoryContext, 2);
	AddWaitEventToSet(events, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(events, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);

	while (!cc_shutdown_requested)
	{
		WaitEvent	occurred[2];

		(void) WaitEventSetWait(events, HTTP_IDLE_WAIT_MS, occurred, lengthof(occurred),
								PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		pg_atomic_fetch_add_u64(&cc_shared->http.loops, 1);
		cc_worker_reload_if_pending();
	}

	FreeWaitEventSet(events);
	ereport(LOG, (errmsg("cc http: shutting down")));
	proc_exit(1);
}
