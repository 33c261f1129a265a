/*
 * media_worker.c
 *		cc media N: owns RTP for its share of the media sessions (slot i
 *		belongs to worker i mod N).  Its loop is a WaitEventSet on the latch
 *		(woken by cc sip after a ring push) with a timeout to the next 20 ms
 *		tick of CLOCK_MONOTONIC; it never runs SQL and never blocks (sockets
 *		are non-blocking, TTS renders in a thread of its own).
 *
 * A tick: every session receives what its socket holds and plays out one
 * frame from its jitter buffer (and publishes it for whoever hears it);
 * conferences hosted here are mixed; then every session composes what its
 * peer hears (prompts, bridge, conference, hold music), records, and
 * encodes one RTP packet; last, all the packets are sent in one pass, at a
 * fixed point of the tick (MEDIA_SEND_OFFSET_US after its scheduled time).
 * Events go to cc sip through the ring, and a SIGUSR2 wakes it.
 */
#include "postgres.h"

#include <errno.h>
#include <signal.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/memutils.h"

#include "media.h"
#include "worker_common.h"

PGDLLEXPORT void cc_media_main(Datum main_arg);

int			media_worker_id = -1;
int64		media_now_ms = 0;
MediaSession **media_sessions = NULL;
int			media_rtp_epoll = -1;
static struct epoll_event *ready_events = NULL;

static int *open_list = NULL;	/* indexes of our open sessions */
static int	open_count = 0;
static bool events_pushed = false;
static CcMediaCmd *cmd_buf = NULL;	/* a command being reassembled */
static int	cmd_len = 0;
static int	cmd_session = -1;

static int64 monotonic_ms(void);
static int64 monotonic_us(void);
static void drain_ring(void);
static void handle_message(const CcRingMsg *msg);
static void run_command(int index, uint32 generation, CcMediaCmd *cmd, int len);
static void open_session(int index, uint32 generation, const CcMediaPeer *peer);
static void close_session(MediaSession *s);
static int64 run_tick(int64 scheduled_us);
static int64 first_tick_after(int64 now_us);
static int64 sleep_until_us(int64 when_us);
static void close_orphans(void);
static void adopt_sessions(void);
static void wake_sip(void);

/* monotonic_ms is CLOCK_MONOTONIC in milliseconds. */
static int64
monotonic_ms(void)
{
	return monotonic_us() / 1000;
}

/* monotonic_us is CLOCK_MONOTONIC in microseconds. */
static int64
monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * media_json_string returns s as a JSON string literal (quoted, escaped), in
 * the current memory context.
 */
char *
media_json_string(const char *s)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '"');
	for (; s && *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		if (c == '"' || c == '\\')
			appendStringInfo(&buf, "\\%c", c);
		else if (c < 0x20)
			appendStringInfo(&buf, "\\u%04x", c);
		else
			appendStringInfoChar(&buf, c);
	}
	appendStringInfoChar(&buf, '"');
	return buf.data;
}

/*
 * media_emit sends cc sip one event of session s: a JSON object built from
 * fmt.  cc sip is woken once at the end of the tick.
 */
void
media_emit(MediaSession *s, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	media_emit_va(s->index, s->generation, fmt, ap);
	va_end(ap);
}

/*
 * media_emit_for sends an event on behalf of any session (of any worker):
 * cc sip hands it to the leg holding that session and generation.
 */
void
media_emit_for(int index, uint32 generation, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	media_emit_va(index, generation, fmt, ap);
	va_end(ap);
}

/* media_emit_va formats an event and pushes it to cc sip's ring. */
void
media_emit_va(int index, uint32 generation, const char *fmt, va_list ap)
{
	char		buf[2048];
	int			n;

	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n < 0 || n >= (int) sizeof(buf))
	{
		elog(LOG, "cc media %d: event of session %d too long, dropped", media_worker_id, index);
		return;
	}
	if (cc_ring_push_bytes(cc_ring_from_media(media_worker_id), CC_MSG_EVENT, index,
						   generation, buf, n + 1))
	{
		pg_atomic_fetch_add_u64(&cc_shared->media[media_worker_id].msgs_out, 1);
		events_pushed = true;
	}
	else
		elog(LOG, "cc media %d: ring to cc sip full, event dropped: %s", media_worker_id, buf);
}

/* wake_sip signals cc sip when events wait for it. */
static void
wake_sip(void)
{
	pid_t		pid = cc_shared->sip.pid;

	if (events_pushed && pid != 0)
		kill(pid, SIGUSR2);
	events_pushed = false;
}

/* drain_ring handles every message cc sip left in our ring. */
static void
drain_ring(void)
{
	CcRing	   *in = cc_ring_to_media(media_worker_id);
	CcRingMsg	msg;

	while (cc_ring_pop(in, &msg))
	{
		pg_atomic_fetch_add_u64(&cc_shared->media[media_worker_id].msgs_in, 1);
		handle_message(&msg);
	}
	wake_sip();
}

/* handle_message acts on one ring message. */
static void
handle_message(const CcRingMsg *msg)
{
	int			index = msg->session;

	if (msg->type == CC_MSG_PING)
	{
		CcRingMsg	pong = *msg;

		pong.type = CC_MSG_PONG;
		if (cc_ring_push(cc_ring_from_media(media_worker_id), &pong))
		{
			pg_atomic_fetch_add_u64(&cc_shared->media[media_worker_id].msgs_out, 1);
			events_pushed = true;
		}
		return;
	}
	if (index < 0 || index >= cc_shared->max_sessions ||
		index % cc_shared->media_workers != media_worker_id)
	{
		elog(LOG, "cc media %d: message of type %d for session %d, not ours", media_worker_id, msg->type, index);
		return;
	}
	switch (msg->type)
	{
		case CC_MSG_OPEN:
		case CC_MSG_UPDATE:
			{
				CcMediaPeer peer;

				memset(&peer, 0, sizeof(peer));
				memcpy(&peer, msg->payload, Min(msg->len, sizeof(peer)));
				peer.remote_ip[sizeof(peer.remote_ip) - 1] = '\0';
				peer.leg_id[sizeof(peer.leg_id) - 1] = '\0';
				if (msg->type == CC_MSG_OPEN)
					open_session(index, msg->generation, &peer);
				else if (media_sessions[index] && media_sessions[index]->generation == msg->generation)
				{
					cc_session(index)->peer = peer;
					media_session_update(media_sessions[index]);
				}
			}
			break;
		case CC_MSG_CLOSE:
			if (media_sessions[index] && media_sessions[index]->generation == msg->generation)
				close_session(media_sessions[index]);
			break;
		case CC_MSG_COMMAND:
			if (cmd_len > 0 && cmd_session != index)
				cmd_len = 0;	/* a torn command: drop it */
			cmd_session = index;
			if (cmd_len + msg->len <= (int) sizeof(CcMediaCmd))
			{
				memcpy((char *) cmd_buf + cmd_len, msg->payload, msg->len);
				cmd_len += msg->len;
			}
			if (!(msg->flags & CC_MSG_MORE))
			{
				run_command(index, msg->generation, cmd_buf, cmd_len);
				cmd_len = 0;
			}
			break;
		default:
			elog(DEBUG1, "cc media %d: ignoring ring message of type %d", media_worker_id, msg->type);
			break;
	}
}

/* run_command carries out one media command on its session. */
static void
run_command(int index, uint32 generation, CcMediaCmd *cmd, int len)
{
	MediaSession *s = media_sessions[index];
	const char *strs[4] = {"", "", "", ""};
	int			i,
				off = 0;

	if (s == NULL || s->generation != generation)
	{
		elog(DEBUG1, "cc media %d: stale command %d for session %d dropped", media_worker_id,
			 len >= (int) sizeof(int32) ? cmd->op : -1, index);
		return;
	}
	if (len < (int) offsetof(CcMediaCmd, str))
		return;
	cmd->str_len = Max(0, Min(cmd->str_len, len - (int) offsetof(CcMediaCmd, str)));
	cmd->str[Min(cmd->str_len, CC_CMD_STRINGS - 1)] = '\0';
	cmd->tag[CC_CMD_TAG - 1] = '\0';
	for (i = 0; i < 4 && off < cmd->str_len; i++)
	{
		strs[i] = cmd->str + off;
		off += strlen(cmd->str + off) + 1;
	}

	switch (cmd->op)
	{
		case CC_OP_PLAY:
			media_play_add(s, cmd, strs[0], strs[1], false);
			break;
		case CC_OP_COLLECT:
			media_dtmf_collect_start(s, cmd);
			break;
		case CC_OP_SEND_DTMF:
			media_dtmf_send_start(s, cmd, strs[0]);
			break;
		case CC_OP_BARGE:
			s->barge_in = cmd->args[0] != 0;
			s->dtmf_disabled = false;	/* any dtmf command re-enables keys */
			break;
		case CC_OP_STOP:
			media_play_stop_all(s, NULL);
			media_dtmf_stop(s);
			break;
		case CC_OP_DTMF_IN:
			media_dtmf_digit(s, (char) cmd->args[0], cmd->args[1], "info");
			break;
		case CC_OP_RECORD:
			media_record_command(s, cmd, strs[0], strs[1]);
			break;
		default:
			media_mix_command(s, cmd, strs[0], strs[1]);
			break;
	}
}

/* open_session opens session index for generation (closing a stale one first). */
static void
open_session(int index, uint32 generation, const CcMediaPeer *peer)
{
	CcMediaSession *shm = cc_session(index);

	if (media_sessions[index] != NULL)
		close_session(media_sessions[index]);
	if (shm->generation != generation)
		return;					/* already given to someone else */
	shm->peer = *peer;
	if (media_session_open(index, generation))
	{
		open_list[open_count++] = index;
		pg_atomic_write_u32(&cc_shared->media[media_worker_id].sessions, open_count);
	}
	else
	{
		/* no socket: the session stays allocated so cc sip keeps its port; it is freed at CLOSE */
		elog(LOG, "cc media %d: session %d (port %d) could not be opened", media_worker_id, index, shm->local_port);
	}
}

/* close_session ends a session: recording finished, socket closed, slot freed. */
static void
close_session(MediaSession *s)
{
	int			index = s->index;
	int			i;

	for (i = 0; i < open_count; i++)
		if (open_list[i] == index)
		{
			open_list[i] = open_list[--open_count];
			break;
		}
	pg_atomic_write_u32(&cc_shared->media[media_worker_id].sessions, open_count);
	media_session_close(s);		/* frees media_sessions[index] and the slot */
}

/*
 * close_orphans closes the sessions that a cc sip no longer running asked
 * for (it restarted and holds no leg), and frees slots left ALLOCATED by
 * it that were never opened here.
 */
static void
close_orphans(void)
{
	pid_t		sip = cc_shared->sip.pid;
	int			i;

	if (sip == 0)
		return;					/* cc sip is restarting: wait for it */
	for (i = open_count - 1; i >= 0; i--)
	{
		MediaSession *s = media_sessions[open_list[i]];

		if (s->shm->sip_pid != sip)
		{
			elog(LOG, "cc media %d: closing session %d of a cc sip that is gone", media_worker_id, s->index);
			close_session(s);
		}
	}
	for (i = media_worker_id; i < cc_shared->max_sessions; i += cc_shared->media_workers)
	{
		CcMediaSession *shm = cc_session(i);

		if (shm->state != CC_SESSION_FREE && media_sessions[i] == NULL && shm->sip_pid != sip)
			cc_session_free(i);
	}
}

/*
 * adopt_sessions, at start, reopens the sessions of ours that the running
 * cc sip still holds (this worker restarted): their calls keep media,
 * though what was playing is gone.
 */
static void
adopt_sessions(void)
{
	pid_t		sip = cc_shared->sip.pid;
	int			i;

	for (i = media_worker_id; i < cc_shared->max_sessions; i += cc_shared->media_workers)
	{
		CcMediaSession *shm = cc_session(i);

		if (shm->state == CC_SESSION_FREE)
			continue;
		if (sip != 0 && shm->sip_pid == sip)
		{
			CcMediaPeer peer = shm->peer;

			open_session(i, shm->generation, &peer);
			if (media_sessions[i] == NULL)
				cc_session_free(i);
		}
		else
			cc_session_free(i);
	}
}

/*
 * MEDIA_SEND_OFFSET_US: a tick's packets leave this long after the tick's
 * scheduled time rather than when its work ends.  The work takes a few
 * milliseconds and varies with the sessions and the machine's load; sending
 * at its end spread the intervals the phones see (p99 7 ms with 1,000 legs
 * on 2 cores).  Half a tick leaves room for a full worker's work (about
 * 5 ms for 500 sessions) plus a late start, at the cost of at most that much
 * delay; a tick whose work runs past it sends at once.
 */
#define MEDIA_SEND_OFFSET_US	(MEDIA_TICK_MS * 1000 / 2)

/*
 * first_tick_after is this worker's first tick after now_us.  Ticks sit on
 * one 20 ms grid of CLOCK_MONOTONIC, which every process shares, and
 * worker i's are MEDIA_SEND_OFFSET_US * i / N into each period: while
 * each worker's work is shorter than its share of half a period, the
 * workers work one after the other in the first half and send one after
 * the other in the second.  Started each on its own clock, the workers
 * ticked together: on a small machine they took every core at once, and
 * whatever else ran (the phones' own RTP, say) preempted a send midway.
 */
static int64
first_tick_after(int64 now_us)
{
	int64		period = MEDIA_TICK_MS * 1000;
	int64		phase = MEDIA_SEND_OFFSET_US * media_worker_id / Max(cc_shared->media_workers, 1);
	int64		tick = now_us - now_us % period + phase;

	while (tick <= now_us)
		tick += period;
	return tick;
}

/* sleep_until_us sleeps to a CLOCK_MONOTONIC time; returns the microseconds slept. */
static int64
sleep_until_us(int64 when_us)
{
	int64		start = monotonic_us();
	struct timespec ts;

	if (when_us <= start)
		return 0;
	ts.tv_sec = when_us / 1000000;
	ts.tv_nsec = (when_us % 1000000) * 1000;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
	return monotonic_us() - start;
}

/*
 * run_tick is one 20 ms turn of every session (see the file header), the
 * one scheduled at scheduled_us; returns the microseconds it slept waiting
 * for the send point.
 */
static int64
run_tick(int64 scheduled_us)
{
	int			i;
	int64		slept;

	media_now_ms = monotonic_ms();
	/* one epoll_wait tells which sockets have data: no read comes back empty-handed */
	if (open_count > 0)
	{
		int			n = epoll_wait(media_rtp_epoll, ready_events, open_count, 0);

		for (i = 0; i < n; i++)
		{
			uint32		index = ready_events[i].data.u32;

			if (index < (uint32) cc_shared->max_sessions && media_sessions[index] != NULL)
				media_sessions[index]->readable = true;
		}
	}
	for (i = 0; i < open_count; i++)
	{
		MediaSession *s = media_sessions[open_list[i]];

		if (s->readable)
			media_rtp_receive(s);
		s->readable = false;
		media_rtp_playout(s);
		media_mix_publish(s);
	}
	media_mix_conferences();
	for (i = 0; i < open_count; i++)
	{
		MediaSession *s = media_sessions[open_list[i]];

		media_dtmf_tick(s);
		media_mix_output(s);
		media_rtp_send(s);
		media_rtp_check_timeout(s);
	}
	/*
	 * every packet of the tick leaves together, at the tick's send point:
	 * neither a session's place in the work above nor the work's length
	 * moves its send time
	 */
	slept = sleep_until_us(scheduled_us + MEDIA_SEND_OFFSET_US);
	for (i = 0; i < open_count; i++)
		media_rtp_flush(media_sessions[open_list[i]]);
	/* after the sends: a play_done reaches cc sip once the prompt's last packet has left */
	wake_sip();
	return slept;
}

/* cc_media_main is the entry point of cc media N (exit code 1: restarted, see cc_sip_main). */
void
cc_media_main(Datum main_arg)
{
	int			worker = DatumGetInt32(main_arg);
	char		name[32];
	WaitEventSet *events;
	int64		next_tick;		/* microseconds */
	int64		last_orphan_check = 0;
	CcWorkerSlot *self;

	snprintf(name, sizeof(name), "cc media %d", worker);
	cc_worker_setup_signals(NULL);
	cc_shmem_attach();
	if (worker < 0 || worker >= cc_shared->media_workers)
		elog(FATAL, "%s: no such media worker (cc.media_workers = %d)", name, cc_shared->media_workers);
	media_worker_id = worker;
	self = &cc_shared->media[worker];
	media_make_dirs();

	if (!cc_worker_connect(name))
		proc_exit(1);

	media_sessions = MemoryContextAllocZero(TopMemoryContext, sizeof(MediaSession *) * cc_shared->max_sessions);
	open_list = MemoryContextAllocZero(TopMemoryContext, sizeof(int) * cc_shared->max_sessions);
	cmd_buf = MemoryContextAllocZero(TopMemoryContext, sizeof(CcMediaCmd));
	ready_events = MemoryContextAllocZero(TopMemoryContext, sizeof(struct epoll_event) * cc_shared->max_sessions);
	media_rtp_epoll = epoll_create1(EPOLL_CLOEXEC);
	if (media_rtp_epoll < 0)
		elog(FATAL, "%s: epoll_create1: %m", name);

	/* TTS renders in a thread that touches no PostgreSQL API (media_tts.c). */
	media_tts_start();

	cc_worker_slot_publish(self);
	pgstat_report_activity(STATE_IDLE, NULL);

	events = CreateWaitEventSet(TopMemoryContext, 2);
	AddWaitEventToSet(events, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(events, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);

	media_now_ms = monotonic_ms();
	adopt_sessions();
	next_tick = first_tick_after(monotonic_us());

	while (!cc_shutdown_requested)
	{
		WaitEvent	occurred[2];
		int64		now = monotonic_us();
		int64		work_start;
		int64		slept = 0;

		/*
		 * Wait whole milliseconds; a tick less than half a millisecond away
		 * runs now rather than after a timer that may overshoot by one.
		 */
		if (next_tick - now > 500)
			(void) WaitEventSetWait(events, (long) ((next_tick - now) / 1000), occurred,
									lengthof(occurred), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		work_start = monotonic_us();
		pg_atomic_fetch_add_u64(&self->loops, 1);
		cc_worker_reload_if_pending();
		drain_ring();

		now = monotonic_us();
		if (now >= next_tick - 500)
		{
			int64		lag = Max(0, now - next_tick);

			if (lag > 5000)
				pg_atomic_fetch_add_u64(&self->ticks_late, 1);
			pg_atomic_fetch_add_u64(&self->tick_lag[Min(lag / CC_TICK_LAG_BUCKET_US, CC_TICK_LAG_BUCKETS - 1)], 1);
			slept = run_tick(next_tick);
			pg_atomic_fetch_add_u64(&self->ticks, 1);
			next_tick += MEDIA_TICK_MS * 1000;
			if (now - next_tick > 200000)
				next_tick = first_tick_after(now);	/* we were stopped: do not catch up in a burst */
		}
		if (now / 1000 - last_orphan_check >= 1000)
		{
			close_orphans();
			last_orphan_check = now / 1000;
		}
		pg_atomic_fetch_add_u64(&self->busy_us, (uint64) Max(0, monotonic_us() - work_start - slept));
	}

	FreeWaitEventSet(events);
	ereport(LOG, (errmsg("%s: shutting down", name)));
	proc_exit(1);
}
