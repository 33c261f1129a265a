/*
 * sip_bus.c
 *		cc sip's end of the command bus.
 *
 * PostgreSQL refuses LISTEN inside a background worker, so cc sip opens a
 * libpq connection to its own server (src/loopback.c: unix socket by
 * default, or cc.loopback_conninfo), LISTENs on cc_commands there, and
 * registers that socket in its su_root.  A notification only says "look":
 * the commands are claimed over SPI with FOR UPDATE SKIP LOCKED
 * (cc.commands_claim), run after that transaction commits, and their
 * outcomes recorded in later transactions.  A rescan every
 * cc.command_rescan_ms, and one at start, make a lost notification a
 * delay, never a loss.
 */
#include "postgres.h"

#include <time.h>

#include "access/xact.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "guc.h"
#include "loopback.h"
#include "sip_bus.h"
#include "sip_calls.h"
#include "sip_stack.h"
#include "sip_trunks.h"
#include "worker_common.h"

#define SIP_WORKER_NAME "cc sip"
#define BUS_CLAIM_BATCH 200
#define RESULT_MAX_TRIES 3

bool		sip_bus_notified = false;

static CcLoopback *bus_loopback = NULL;
static int	bus_wait_index = -1;	/* the loopback socket's registration in sip_root */
static struct timespec next_rescan;
static MemoryContext claim_context = NULL;	/* the claimed batch, reset after each */
static bool timers_armed = false;	/* a timer is due at timers_due */
static struct timespec timers_due;

/* A claimed command to run once the claim has committed. */
typedef struct ClaimedCommand
{
	char	   *id;
	char	   *kind;
	char	   *uri;			/* sip_options */
	SipAction  *actions;		/* call commands: what cc.command_decide said */
	int			n_actions;
	char	   *parse_error;	/* ... or why the command cannot run */
} ClaimedCommand;

static List *claimed = NIL;

static int	bus_readable(su_root_magic_t *magic, su_wait_t *w, su_wakeup_arg_t *arg);
static void bus_notification(const char *payload, void *arg);
static void bus_watch(void);
static void claim_commands(void *arg);
static void decide_command(ClaimedCommand *cmd);
static void record_results(void *arg);
static void recover_commands(void *arg);
static bool time_reached(const struct timespec *t);
static void timers_set_deadline(int64 ms);
static void fire_timers(void *arg);
static void time_after_ms(struct timespec *t, int ms);

static bool
time_reached(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

static void
time_after_ms(struct timespec *t, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (long) (ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L)
	{
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

/* timers_set_deadline remembers when the earliest timer is due (ms < 0: none). */
static void
timers_set_deadline(int64 ms)
{
	timers_armed = ms >= 0;
	if (timers_armed)
		time_after_ms(&timers_due, (int) Min(ms, 3600 * 1000));
}

/* fire_timers runs cc.timers_fire() and keeps the next due time it returns. */
static void
fire_timers(void *arg)
{
	bool		isnull;
	Datum		due;

	if (SPI_execute("SELECT cc.timers_fire()", false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "cc.timers_fire failed");
	due = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	/*
	 * "due now" right after firing means timers another transaction holds
	 * (skipped) or more than a batch: again in 5 ms, not in a tight loop
	 * (the loop sleeps no longer than the deadline, sip_bus_step_ms)
	 */
	timers_set_deadline(isnull ? -1 : Max(DatumGetInt64(due), 5));
}

/*
 * sip_bus_fire_timers, once per loop turn: when the earliest timer is due,
 * fires every due timer in one transaction (their actions come back as
 * call_actions commands, claimed at once).  If the transaction fails the
 * timers stay and are tried again a second later.
 */
void
sip_bus_fire_timers(void)
{
	if (!timers_armed || !time_reached(&timers_due))
		return;
	if (!cc_worker_transaction("cc sip: fire timers", fire_timers, NULL))
		timers_set_deadline(1000);
	sip_bus_notified = true;
}

/*
 * sip_bus_step_ms is how long the loop may sleep in su_root_step: at most
 * max_ms, less when the earliest timer is due sooner (0 when it is due), so
 * a timer due in 10 ms (a dispatch retry) is not fired up to max_ms late.
 */
int
sip_bus_step_ms(int max_ms)
{
	struct timespec now;
	int64		ms;

	if (!timers_armed)
		return max_ms;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (int64) (timers_due.tv_sec - now.tv_sec) * 1000 + (timers_due.tv_nsec - now.tv_nsec + 999999L) / 1000000L;
	if (ms <= 0)
		return 0;
	return (int) Min(ms, (int64) max_ms);
}

/*
 * sip_bus_prepare runs once at start: prepares the loopback connection
 * (opened by the first sip_bus_maintain), resets commands a previous cc sip
 * left claimed, and asks for an immediate scan.
 */
void
sip_bus_prepare(void)
{
	static const char *const channels[] = {"cc_commands"};

	claim_context = AllocSetContextCreate(TopMemoryContext, "cc sip claimed commands",
										  ALLOCSET_DEFAULT_SIZES);
	bus_loopback = cc_loopback_create(SIP_WORKER_NAME, channels, lengthof(channels));
	clock_gettime(CLOCK_MONOTONIC, &next_rescan);
	sip_bus_recover();
	sip_bus_notified = true;
}

/* recover_commands puts back to pending whatever a dead cc sip had claimed. */
static void
recover_commands(void *arg)
{
	int			ret;

	ret = SPI_execute_with_args("SELECT cc.commands_recover($1)", 1,
								(Oid[]) {TEXTOID},
								(Datum[]) {CStringGetTextDatum(SIP_WORKER_NAME)},
								NULL, false, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "cc.commands_recover failed: %d", ret);
}

void
sip_bus_recover(void)
{
	cc_worker_transaction("cc sip: recover claimed commands", recover_commands, NULL);
}

/*
 * bus_notification: a notification on cc_commands.  "trunks" says the trunk
 * configuration changed; anything else says "look for commands".
 */
static void
bus_notification(const char *payload, void *arg)
{
	if (payload != NULL && strcmp(payload, "trunks") == 0)
		sip_trunks_dirty = true;
	else
		sip_bus_notified = true;
}

/*
 * bus_readable is the su_root callback of the loopback socket: it only
 * reads; a notification sets a flag for the loop.  It neither ereports nor
 * pallocs.
 */
static int
bus_readable(su_root_magic_t *magic, su_wait_t *w, su_wakeup_arg_t *arg)
{
	cc_loopback_read(bus_loopback, bus_notification, NULL);
	return 0;
}

/*
 * bus_watch registers the loopback connection's current socket in sip_root
 * (after a connect or a reconnect), in place of the previous one.
 */
static void
bus_watch(void)
{
	pgsocket	sock = cc_loopback_socket(bus_loopback);
	su_wait_t	wait[1];

	if (bus_wait_index >= 0)
		su_root_deregister(sip_root, bus_wait_index);
	bus_wait_index = -1;
	if (sock == PGINVALID_SOCKET)
		return;
	if (su_wait_create(wait, sock, SU_WAIT_IN) < 0 ||
		(bus_wait_index = su_root_register(sip_root, wait, bus_readable, NULL, 0)) < 0)
	{
		ereport(LOG, (errmsg("cc sip: cannot watch the loopback socket; reconnecting")));
		bus_wait_index = -1;
		cc_loopback_close(bus_loopback);	/* the next maintain connects again */
	}
}

/* sip_bus_disconnect closes the loopback connection. */
void
sip_bus_disconnect(void)
{
	if (bus_wait_index >= 0 && sip_root != NULL)
		su_root_deregister(sip_root, bus_wait_index);
	bus_wait_index = -1;
	cc_loopback_close(bus_loopback);
}

/*
 * sip_bus_maintain, once per loop turn: (re)connects the loopback
 * connection when needed, and asks for the periodic rescan when it is due.
 */
void
sip_bus_maintain(void)
{
	if (cc_loopback_maintain(bus_loopback))
	{
		bus_watch();
		/* anything committed while nobody listened is picked up now */
		sip_bus_notified = true;
	}
	if (time_reached(&next_rescan))
		sip_bus_notified = true;
}

/*
 * decide_command asks cc.command_decide (in the claim's transaction, which
 * locks the call and decides with its state as it is now) what a claimed
 * call command does: its actions, parsed into the claim's context, or the
 * reason it cannot run.  A decision whose actions cannot be read fails this
 * command only, not the whole claim.
 */
static void
decide_command(ClaimedCommand *cmd)
{
	MemoryContext here = CurrentMemoryContext;
	int			ret;
	char	   *error;
	char	   *json;

	ret = SPI_execute_with_args("SELECT d->>'error', (d->'actions')::text FROM cc.command_decide($1) AS d",
								1, (Oid[]) {UUIDOID},
								(Datum[]) {DirectFunctionCall1(uuid_in, CStringGetDatum(cmd->id))},
								NULL, false, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "cc.command_decide failed: %d", ret);
	error = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	json = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	if (error != NULL)
	{
		cmd->parse_error = error;
		return;
	}
	BeginInternalSubTransaction(NULL);
	PG_TRY();
	{
		/* into the claim's context: the subtransaction's goes at commit */
		cmd->actions = sip_actions_parse(json, &cmd->n_actions, here);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(here);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		cmd->parse_error = pstrdup(edata->message);
		FreeErrorData(edata);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(here);
}

/* claim_commands claims a batch of pending commands into `claimed`. */
static void
claim_commands(void *arg)
{
	int			ret;
	uint64		i;
	uint64		n;
	ListCell   *lc;
	MemoryContext old;

	ret = SPI_execute_with_args("SELECT c.id::text, c.kind, c.args->>'uri' "
								"FROM cc.commands_claim($1, $2) AS c ORDER BY c.created_at",
								2, (Oid[]) {TEXTOID, INT4OID},
								(Datum[]) {CStringGetTextDatum(SIP_WORKER_NAME), Int32GetDatum(BUS_CLAIM_BATCH)},
								NULL, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "cc.commands_claim failed: %d", ret);

	n = SPI_processed;
	old = MemoryContextSwitchTo(claim_context);
	for (i = 0; i < n; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		ClaimedCommand *cmd = palloc0(sizeof(ClaimedCommand));

		cmd->id = SPI_getvalue(tuple, desc, 1);
		cmd->kind = SPI_getvalue(tuple, desc, 2);
		cmd->uri = SPI_getvalue(tuple, desc, 3);
		claimed = lappend(claimed, cmd);
	}
	/* SPI_tuptable is replaced by each decision below: read it first */
	foreach(lc, claimed)
	{
		ClaimedCommand *cmd = lfirst(lc);

		if (strcmp(cmd->kind, "sip_options") != 0)
			decide_command(cmd);
	}
	MemoryContextSwitchTo(old);
	*(bool *) arg = (n == BUS_CLAIM_BATCH);

	/* the earliest timer may have changed with whatever notified us */
	ret = SPI_execute("SELECT cc.timers_next_due_ms()", true, 1);
	if (ret == SPI_OK_SELECT && SPI_processed == 1)
	{
		bool		isnull;
		Datum		due = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		timers_set_deadline(isnull ? -1 : DatumGetInt64(due));
	}
}

/*
 * sip_bus_claim_and_run claims pending commands (when notified or at the
 * rescan) and, once the claim has committed, starts each one.  A command
 * that cannot start is recorded as failed with its reason.
 */
void
sip_bus_claim_and_run(void)
{
	bool		more = true;

	if (!sip_bus_notified)
		return;
	sip_bus_notified = false;
	time_after_ms(&next_rescan, cc_command_rescan_ms);

	while (more && !cc_shutdown_requested)
	{
		ListCell   *lc;

		more = false;
		claimed = NIL;
		if (!cc_worker_transaction("cc sip: claim commands", claim_commands, &more))
		{
			/* nothing was claimed; the next rescan tries again */
			MemoryContextReset(claim_context);
			claimed = NIL;
			return;
		}
		foreach(lc, claimed)
		{
			ClaimedCommand *cmd = lfirst(lc);
			char	   *error = NULL;
			bool		started = false;

			if (strcmp(cmd->kind, "sip_options") == 0)
			{
				if (cmd->uri == NULL)
					error = pstrdup("argument \"uri\" is missing");
				else
					started = sip_stack_send_options(cmd->id, cmd->uri, &error);
			}
			else
			{
				/* a call command: what cc.command_decide said at the claim */
				bool		ok;

				if (cmd->parse_error)
				{
					ok = false;
					error = cmd->parse_error;
				}
				else
					ok = sip_calls_run_command(cmd->actions, cmd->n_actions, &error);
				sip_stack_finish_command(cmd->id, ok, error);
				continue;
			}

			if (!started)
				sip_stack_fail_command(cmd->id, cmd->uri, error);
		}
		MemoryContextReset(claim_context);
		claimed = NIL;
	}
}

/*
 * record_results writes each finished request through the decision
 * function cc.sip_options_result (an event, and the command done or failed).
 */
static void
record_results(void *arg)
{
	SipResult  *r;

	for (r = (SipResult *) arg; r != NULL; r = r->next)
	{
		Datum		values[5];
		char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
		int			ret;

		values[0] = DirectFunctionCall1(uuid_in, CStringGetDatum(r->command_id));
		if (r->generic)
		{
			ret = SPI_execute_with_args("SELECT cc.command_finish($1, $2, NULL, $3)", 3,
										(Oid[]) {UUIDOID, BOOLOID, TEXTOID},
										(Datum[]) {values[0], BoolGetDatum(r->status != 0),
												   CStringGetTextDatum(r->phrase ? r->phrase : "")},
										r->status != 0 ? "  n" : "   ", false, 1);
			if (ret != SPI_OK_SELECT)
				elog(ERROR, "cc.command_finish failed: %d", ret);
			continue;
		}
		if (r->uri)
			values[1] = CStringGetTextDatum(r->uri);
		else
			nulls[1] = 'n';
		values[2] = Int32GetDatum(r->status);
		values[3] = CStringGetTextDatum(r->phrase ? r->phrase : "");
		values[4] = Float8GetDatum(r->rtt_ms);
		ret = SPI_execute_with_args("SELECT cc.sip_options_result($1, $2, $3, $4, $5)", 5,
									(Oid[]) {UUIDOID, TEXTOID, INT4OID, TEXTOID, FLOAT8OID},
									values, nulls, false, 1);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "cc.sip_options_result failed: %d", ret);
	}
}

/*
 * sip_bus_record_results records what the stack finished since the last
 * turn, in one transaction.  If it fails the results are kept and tried
 * again, up to RESULT_MAX_TRIES times, so a passing lock timeout loses
 * nothing.
 */
void
sip_bus_record_results(void)
{
	SipResult  *results = sip_stack_take_results();
	SipResult  *r;
	SipResult  *keep = NULL;

	if (results == NULL)
		return;
	if (cc_worker_transaction("cc sip: record results", record_results, results))
	{
		while (results)
		{
			r = results;
			results = r->next;
			sip_result_free(r);
		}
		return;
	}
	while (results)
	{
		r = results;
		results = r->next;
		if (++r->tries >= RESULT_MAX_TRIES)
		{
			ereport(LOG,
					(errmsg("cc sip: giving up recording the result of command %s after %d tries; "
							"it stays claimed until cc sip restarts", r->command_id, r->tries)));
			sip_result_free(r);
			continue;
		}
		r->next = keep;
		keep = r;
	}
	sip_stack_return_results(keep);
}
