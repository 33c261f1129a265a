/*
 * pg_callcenter.c
 *		Entry point of the module: _PG_init defines the GUCs, asks for shared
 *		memory and registers the background workers cc sip, cc media 0..N-1
 *		and cc http.  Loading is refused outside shared_preload_libraries.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"

#include "guc.h"
#include "shmem.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void cc_request_shmem(void);
static void cc_startup_shmem(void);
static void register_worker(const char *name, const char *function, int arg);

/* cc_request_shmem chains the shmem_request_hook. */
static void
cc_request_shmem(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	cc_shmem_request();
}

/* cc_startup_shmem chains the shmem_startup_hook. */
static void
cc_startup_shmem(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	cc_shmem_startup();
}

/*
 * register_worker registers one static worker.  bgw_type is what
 * pg_stat_activity.backend_type shows; a worker that dies is restarted
 * one second later.
 */
static void
register_worker(const char *name, const char *function, int arg)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 1;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "pg_callcenter");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "%s", function);
	snprintf(worker.bgw_name, BGW_MAXLEN, "%s", name);
	snprintf(worker.bgw_type, BGW_MAXLEN, "%s", name);
	worker.bgw_main_arg = Int32GetDatum(arg);
	worker.bgw_notify_pid = 0;
	RegisterBackgroundWorker(&worker);
}

/*
 * _PG_init runs in the postmaster when the library is preloaded.  It does
 * nothing that forks badly: no sockets, threads, su_init or
 * curl_global_init here; each worker does its own at start.
 */
void
_PG_init(void)
{
	int			i;

	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_callcenter must be loaded via shared_preload_libraries"),
				 errhint("Add pg_callcenter to shared_preload_libraries in postgresql.conf "
						 "(e.g. shared_preload_libraries = 'pg_cron,pg_callcenter') and restart the server.")));

	cc_define_gucs();

	if (cc_rtp_port_min > cc_rtp_port_max)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cc.rtp_port_min (%d) is above cc.rtp_port_max (%d)",
						cc_rtp_port_min, cc_rtp_port_max)));

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = cc_request_shmem;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = cc_startup_shmem;

	register_worker("cc sip", "cc_sip_main", 0);
	for (i = 0; i < cc_media_workers; i++)
	{
		char		name[BGW_MAXLEN];

		snprintf(name, sizeof(name), "cc media %d", i);
		register_worker(name, "cc_media_main", i);
	}
	register_worker("cc http", "cc_http_main", 0);
}
