/*
 * worker_status.c
 *		cc.worker_status(): what each worker publishes in shared memory (pid,
 *		start time, loop turns, ring traffic), readable from SQL.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "shmem.h"

PG_FUNCTION_INFO_V1(cc_worker_status);

static void add_row(ReturnSetInfo *rsinfo, const char *name, CcWorkerSlot *slot, uint64 ring_dropped);

/* add_row appends one worker's slot to the result. */
static void
add_row(ReturnSetInfo *rsinfo, const char *name, CcWorkerSlot *slot, uint64 ring_dropped)
{
	Datum		values[7];
	bool		nulls[7] = {false};
	pid_t		pid = slot->pid;

	values[0] = CStringGetTextDatum(name);
	if (pid != 0)
	{
		values[1] = Int32GetDatum(pid);
		values[2] = TimestampTzGetDatum(slot->started_at);
	}
	else
		nulls[1] = nulls[2] = true;
	values[3] = Int64GetDatum((int64) pg_atomic_read_u64(&slot->loops));
	values[4] = Int64GetDatum((int64) pg_atomic_read_u64(&slot->msgs_in));
	values[5] = Int64GetDatum((int64) pg_atomic_read_u64(&slot->msgs_out));
	values[6] = Int64GetDatum((int64) ring_dropped);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * cc_worker_status returns a row per worker: name, pid (null when not
 * running), started_at, loops, ring messages in and out, and messages
 * dropped because a ring was full.
 */
Datum
cc_worker_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	if (cc_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_callcenter shared memory is not initialised"),
				 errhint("Add pg_callcenter to shared_preload_libraries and restart the server.")));

	add_row(rsinfo, "cc sip", &cc_shared->sip, 0);
	for (i = 0; i < cc_shared->media_workers; i++)
	{
		char		name[32];
		uint64		dropped = pg_atomic_read_u64(&cc_ring_to_media(i)->dropped) +
			pg_atomic_read_u64(&cc_ring_from_media(i)->dropped);

		snprintf(name, sizeof(name), "cc media %d", i);
		add_row(rsinfo, name, &cc_shared->media[i], dropped);
	}
	add_row(rsinfo, "cc http", &cc_shared->http, 0);
	return (Datum) 0;
}
