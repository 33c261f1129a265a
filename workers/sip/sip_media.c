/*
 * sip_media.c
 *		cc sip's side of the media interface (see sip_media.h).
 *
 * This is the foundation's version: sessions are allocated in the table
 * (which gives a leg its RTP port for SDP) but no media worker opens them
 * yet; media actions are logged and skipped; DTMF by INFO is reported
 * straight back as a dtmf event; the rings carry pings.  The media engine
 * (issue 4) replaces it.
 */
#include "postgres.h"

#include <time.h>

#include "shmem.h"
#include "sip_media.h"

#define MEDIA_PING_INTERVAL_S 5

static void ping_media_workers(void);

int
sip_media_open(const char *leg_id, const SipMediaChoice *choice, char **error)
{
	int			session = cc_session_allocate();

	if (session < 0)
		*error = pstrdup("no free media session (cc.max_calls)");
	return session;
}

void
sip_media_update(int session, const SipMediaChoice *choice)
{
}

void
sip_media_close(int session)
{
	cc_session_release(session);
}

int
sip_media_local_port(int session)
{
	return cc_session(session)->local_port;
}

bool
sip_media_action(const char *leg_id, int session, const SipAction *action, char **error)
{
	*error = psprintf("media action \"%s\" waits for the media engine", action->name);
	return false;
}

void
sip_media_dtmf_in(int session, char digit, int duration_ms)
{
	char		json[128];

	snprintf(json, sizeof(json), "{\"type\":\"dtmf\",\"digit\":\"%c\",\"duration_ms\":%d,\"via\":\"info\"}",
			 digit, duration_ms);
	sip_calls_media_event(session, cc_session(session)->generation, json);
}

/*
 * ping_media_workers sends each media worker a ping through its ring and
 * sets its latch; the pongs prove rings and wake-ups both ways (counted in
 * cc.worker_status()).
 */
static void
ping_media_workers(void)
{
	static uint64 seq = 0;
	int			i;

	for (i = 0; i < cc_shared->media_workers; i++)
	{
		CcWorkerSlot *media = &cc_shared->media[i];
		CcRingMsg	msg;
		Latch	   *latch = media->latch;

		if (media->pid == 0 || latch == NULL)
			continue;
		memset(&msg, 0, sizeof(msg));
		msg.type = CC_MSG_PING;
		msg.session = -1;
		msg.seq = ++seq;
		if (cc_ring_push(cc_ring_to_media(i), &msg))
		{
			pg_atomic_fetch_add_u64(&cc_shared->sip.msgs_out, 1);
			SetLatch(latch);
		}
	}
}

/* sip_media_process reads what the media workers sent us, and pings them every few seconds. */
void
sip_media_process(void)
{
	static time_t next_ping = 0;
	int			i;
	CcRingMsg	msg;

	for (i = 0; i < cc_shared->media_workers; i++)
	{
		while (cc_ring_pop(cc_ring_from_media(i), &msg))
		{
			pg_atomic_fetch_add_u64(&cc_shared->sip.msgs_in, 1);
			if (msg.type != CC_MSG_PONG)
				elog(DEBUG1, "cc sip: ignoring ring message of type %d from cc media %d", msg.type, i);
		}
	}
	if (time(NULL) >= next_ping)
	{
		ping_media_workers();
		next_ping = time(NULL) + MEDIA_PING_INTERVAL_S;
	}
}
