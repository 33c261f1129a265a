/*
 * worker_common.c
 *		Signal handling, start-up and transactions shared by cc sip,
 *		cc media N and cc http.
 */
#include "postgres.h"

#include <unistd.h>

#include "access/xact.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/procsignal.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "guc.h"
#include "worker_common.h"

volatile sig_atomic_t cc_shutdown_requested = false;

static cc_wake_fn worker_wake = NULL;

static void handle_sigterm(SIGNAL_ARGS);
static void handle_sighup(SIGNAL_ARGS);
static void handle_sigusr2(SIGNAL_ARGS);

/* handle_sigterm asks the loop to end; the loop exits within one turn. */
static void
handle_sigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	cc_shutdown_requested = true;
	SetLatch(MyLatch);
	if (worker_wake)
		worker_wake();
	errno = save_errno;
}

/* handle_sighup marks the configuration for reloading and wakes the loop. */
static void
handle_sighup(SIGNAL_ARGS)
{
	int			save_errno = errno;

	ConfigReloadPending = true;
	SetLatch(MyLatch);
	if (worker_wake)
		worker_wake();
	errno = save_errno;
}

/* handle_sigusr2 is a plain wake-up: another worker left work in a ring. */
static void
handle_sigusr2(SIGNAL_ARGS)
{
	int			save_errno = errno;

	SetLatch(MyLatch);
	if (worker_wake)
		worker_wake();
	errno = save_errno;
}

/*
 * cc_worker_setup_signals installs the handlers and unblocks signals.
 * SIGUSR1 keeps the postmaster's procsignal handler (needed for
 * pg_terminate_backend, sinval catch-up and the like).
 */
void
cc_worker_setup_signals(cc_wake_fn wake)
{
	worker_wake = wake;
	pqsignal(SIGTERM, handle_sigterm);
	pqsignal(SIGHUP, handle_sighup);
	pqsignal(SIGUSR2, handle_sigusr2);
	BackgroundWorkerUnblockSignals();
}

/*
 * cc_worker_reload_if_pending re-reads postgresql.conf after a SIGHUP and
 * absorbs a pending procsignal barrier.  The workers' loops never reach
 * CHECK_FOR_INTERRUPTS while idle, and a barrier left unabsorbed makes
 * every backend that emits one wait forever: DROP DATABASE and ALTER
 * DATABASE SET TABLESPACE of any database, for one, hung while a worker
 * waited for CREATE EXTENSION.  Each loop turn calls this.
 */
void
cc_worker_reload_if_pending(void)
{
	if (ProcSignalBarrierPending)
		ProcessProcSignalBarrier();
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
		cc_worker_apply_timeouts();
	}
}

/*
 * cc_worker_apply_timeouts bounds every statement and lock wait of the
 * worker's transactions, so an application holding a lock can delay but
 * never freeze a worker.
 */
void
cc_worker_apply_timeouts(void)
{
	char		value[32];

	snprintf(value, sizeof(value), "%d", cc_worker_statement_timeout_ms);
	SetConfigOption("statement_timeout", value, PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("lock_timeout", value, PGC_SUSET, PGC_S_OVERRIDE);
}

/*
 * cc_worker_connect joins cc.database and waits, quietly, until the
 * extension exists there: one LOG line, then a check every two seconds.
 * Returns false if shutdown was requested while waiting.
 */
bool
cc_worker_connect(const char *worker_name)
{
	bool		logged = false;

	BackgroundWorkerInitializeConnection(cc_database, NULL, 0);
	pgstat_report_appname(worker_name);
	cc_worker_apply_timeouts();

	while (!cc_shutdown_requested)
	{
		bool		found;

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		found = OidIsValid(get_extension_oid("pg_callcenter", true));
		CommitTransactionCommand();
		if (found)
		{
			if (logged)
				ereport(LOG,
						(errmsg("%s: extension pg_callcenter found in database \"%s\", starting",
								worker_name, cc_database)));
			return true;
		}
		if (!logged)
		{
			ereport(LOG,
					(errmsg("%s: waiting for CREATE EXTENSION pg_callcenter in database \"%s\"",
							worker_name, cc_database)));
			logged = true;
		}
		pgstat_report_activity(STATE_IDLE, "waiting for CREATE EXTENSION pg_callcenter");
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 2000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		cc_worker_reload_if_pending();
	}
	return false;
}

/*
 * cc_worker_transaction runs fn inside a transaction with SPI connected.
 * An ERROR is reported to the log, the transaction rolled back, and false
 * returned: the worker keeps its calls and its loop.
 */
bool
cc_worker_transaction(const char *what, cc_txn_fn fn, void *arg)
{
	MemoryContext caller_context = CurrentMemoryContext;
	ResourceOwner caller_owner = CurrentResourceOwner;
	volatile bool ok = true;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, what);

	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		fn(arg);
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(caller_context);
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
		ok = false;
	}
	PG_END_TRY();

	if (!ok)
		ereport(LOG,
				(errmsg("cc: \"%s\" was rolled back; the worker goes on", what)));

	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
	MemoryContextSwitchTo(caller_context);
	CurrentResourceOwner = caller_owner;
	return ok;
}
