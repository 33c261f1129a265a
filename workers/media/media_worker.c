/*
 * media_worker.c
 *		cc media N: owns RTP for its share of the media sessions.  Its loop
 *		is a WaitEventSet on the latch (woken by cc sip after a ring push)
 *		and a 20 ms tick; it never runs SQL.
 *
 * The foundation answers cc sip's pings through the rings, which proves
 * the rings and both wake-up paths; the media issue adds sessions, RTP
 * sockets, codecs and the rest.
 */
#include "postgres.h"

#include <signal.h>

#include <flite/flite.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/memutils.h"

#include "shmem.h"
#include "worker_common.h"

PGDLLEXPORT void cc_media_main(Datum main_arg);

#define MEDIA_TICK_MS 20

static void media_drain_ring(int worker);

/*
 * media_drain_ring handles every message cc sip left in our ring, and wakes
 * cc sip once if it put answers in the other ring.
 */
static void
media_drain_ring(int worker)
{
	CcRing	   *in = cc_ring_to_media(worker);
	CcRing	   *out = cc_ring_from_media(worker);
	CcWorkerSlot *self = &cc_shared->media[worker];
	CcRingMsg	msg;
	bool		answered = false;

	while (cc_ring_pop(in, &msg))
	{
		pg_atomic_fetch_add_u64(&self->msgs_in, 1);
		switch (msg.type)
		{
			case CC_MSG_PING:
				msg.type = CC_MSG_PONG;
				if (cc_ring_push(out, &msg))
				{
					pg_atomic_fetch_add_u64(&self->msgs_out, 1);
					answered = true;
				}
				break;
			default:
				elog(DEBUG1, "cc media %d: ignoring ring message of type %d", worker, msg.type);
				break;
		}
	}

	if (answered && cc_shared->sip.pid != 0)
		kill(cc_shared->sip.pid, SIGUSR2);
}

/* cc_media_main is the entry point of cc media N (exit code 1: restarted, see cc_sip_main). */
void
cc_media_main(Datum main_arg)
{
	int			worker = DatumGetInt32(main_arg);
	char		name[32];
	WaitEventSet *events;

	snprintf(name, sizeof(name), "cc media %d", worker);
	cc_worker_setup_signals(NULL);
	cc_shmem_attach();
	if (worker < 0 || worker >= cc_shared->media_workers)
		elog(FATAL, "%s: no such media worker (cc.media_workers = %d)", name, cc_shared->media_workers);

	if (!cc_worker_connect(name))
		proc_exit(1);

	/* flite renders TTS prompts (the media issue caches them as WAV). */
	flite_init();

	cc_worker_slot_publish(&cc_shared->media[worker]);
	pgstat_report_activity(STATE_IDLE, NULL);

	events = CreateWaitEventSet(TopMemoryContext, 2);
	AddWaitEventToSet(events, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(events, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);

	while (!cc_shutdown_requested)
	{
		WaitEvent	occurred[2];

		(void) WaitEventSetWait(events, MEDIA_TICK_MS, occurred, lengthof(occurred),
								PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		pg_atomic_fetch_add_u64(&cc_shared->media[worker].loops, 1);
		cc_worker_reload_if_pending();
		media_drain_ring(worker);
	}

	FreeWaitEventSet(events);
	ereport(LOG, (errmsg("%s: shutting down", name)));
	proc_exit(1);
}
