/*
 * sip_media.c
 *		cc sip's side of the media interface (see sip_media.h): gives legs
 *		media sessions, turns media actions into media commands for the
 *		session's worker (checking their parameters here, so the media loop
 *		never reads JSON), and turns what the media workers send back into
 *		leg events.
 *
 * Bridges, monitoring and whispers involve two or three sessions, possibly
 * of different media workers: each worker is told its own part (bridge A
 * to B goes to A's worker as "hear B" and to B's as "hear A").
 */
#include "postgres.h"

#include <time.h>

#include <ctype.h>

#include "lib/stringinfo.h"
#include "utils/json.h"
#include "utils/memutils.h"

#include "shmem.h"
#include "media/media_cmd.h"
#include "sip_media.h"
#include "sip_media_actions.h"

#define MEDIA_PING_INTERVAL_S 5
#define PENDING_CLOSES 256

static void ping_media_workers(void);
static bool push(int session, int type, const void *data, int len);
static bool send_cmd(int session, CcMediaCmd *cmd, char **error);
static void peer_from_choice(int session, const SipMediaChoice *choice, CcMediaPeer *peer);
static bool do_bridge(int session, const SipAction *action, char **error);
static bool do_unbridge(int session, const SipAction *action, char **error);
static bool do_monitor(int session, const SipAction *action, char **error);
static void report_error(int session, const SipAction *action, const char *error);
static void retry_closes(void);

/* CLOSE messages that found the ring full, sent again at the next turn. */
static struct
{
	int			session;
	uint32		generation;
}			pending_closes[PENDING_CLOSES];
static int	n_pending_closes = 0;

/* Events being reassembled, one per media worker. */
static StringInfoData event_buf[CC_MAX_MEDIA_WORKERS];
static bool event_buf_ready = false;

/* push sends one message about a session to its worker and wakes it. */
static bool
push(int session, int type, const void *data, int len)
{
	CcMediaSession *s = cc_session(session);
	int			worker = s->media_worker;
	Latch	   *latch;

	if (!cc_ring_push_bytes(cc_ring_to_media(worker), type, session, s->generation, data, len))
		return false;
	pg_atomic_fetch_add_u64(&cc_shared->sip.msgs_out, 1);
	latch = cc_shared->media[worker].latch;
	if (cc_shared->media[worker].pid != 0 && latch != NULL)
		SetLatch(latch);
	return true;
}

/* peer_from_choice fills what a media worker needs to know of the peer. */
static void
peer_from_choice(int session, const SipMediaChoice *choice, CcMediaPeer *peer)
{
	memset(peer, 0, sizeof(*peer));
	strlcpy(peer->leg_id, cc_session(session)->peer.leg_id, sizeof(peer->leg_id));
	if (choice == NULL)
	{
		strlcpy(peer->remote_ip, "0.0.0.0", sizeof(peer->remote_ip));
		peer->codec_pt = 0;
		peer->dtmf_pt = -1;
		peer->sendrecv = SIP_MODE_INACTIVE;
		return;
	}
	strlcpy(peer->remote_ip, choice->remote_ip, sizeof(peer->remote_ip));
	peer->remote_port = choice->remote_port;
	peer->codec_pt = choice->codec_pt;
	peer->dtmf_pt = choice->dtmf_pt;
	peer->sendrecv = choice->offer_mode;
}

/*
 * sip_media_open takes a session for a leg and asks its media worker to
 * bind the port.  -1 with *error when every session is taken.
 */
int
sip_media_open(const char *leg_id, const SipMediaChoice *choice, char **error)
{
	int			session = cc_session_allocate();
	CcMediaPeer peer;

	if (session < 0)
	{
		*error = pstrdup("no free media session (cc.max_calls)");
		return -1;
	}
	strlcpy(cc_session(session)->peer.leg_id, leg_id ? leg_id : "", sizeof(peer.leg_id));
	peer_from_choice(session, choice, &peer);
	cc_session(session)->peer = peer;
	if (!push(session, CC_MSG_OPEN, &peer, sizeof(peer)))
	{
		/* the worker never heard of it: no socket to close, so we may free it */
		cc_session_free(session);
		*error = pstrdup("the media worker's ring is full");
		return -1;
	}
	return session;
}

/* sip_media_update tells the media worker the peer's new address, codec or direction. */
void
sip_media_update(int session, const SipMediaChoice *choice)
{
	CcMediaPeer peer;

	if (session < 0 || session >= cc_shared->max_sessions)
		return;
	peer_from_choice(session, choice, &peer);
	cc_session(session)->peer = peer;
	if (!push(session, CC_MSG_UPDATE, &peer, sizeof(peer)))
		elog(LOG, "cc sip: media ring full, update of session %d lost", session);
}

/*
 * sip_media_close asks the media worker to close the session (it frees
 * the slot once the socket is closed); retried while its ring is full.
 */
void
sip_media_close(int session)
{
	if (session < 0 || session >= cc_shared->max_sessions)
		return;
	if (!push(session, CC_MSG_CLOSE, NULL, 0))
	{
		if (n_pending_closes < PENDING_CLOSES)
		{
			pending_closes[n_pending_closes].session = session;
			pending_closes[n_pending_closes].generation = cc_session(session)->generation;
			n_pending_closes++;
		}
		else
			elog(LOG, "cc sip: media session %d could not be closed (rings full)", session);
	}
}

/* retry_closes sends the CLOSEs that found a full ring. */
static void
retry_closes(void)
{
	int			i,
				kept = 0;

	for (i = 0; i < n_pending_closes; i++)
	{
		int			session = pending_closes[i].session;

		if (cc_session(session)->generation != pending_closes[i].generation)
			continue;
		if (!push(session, CC_MSG_CLOSE, NULL, 0))
			pending_closes[kept++] = pending_closes[i];
	}
	n_pending_closes = kept;
}

int
sip_media_local_port(int session)
{
	return cc_session(session)->local_port;
}

/* send_cmd sends a command to the session's worker. */
static bool
send_cmd(int session, CcMediaCmd *cmd, char **error)
{
	if (!push(session, CC_MSG_COMMAND, cmd, offsetof(CcMediaCmd, str) + cmd->str_len))
	{
		*error = pstrdup("the media worker's ring is full");
		return false;
	}
	return true;
}

/* do_bridge tells both sessions' workers to hear each other (a previous partner is let go). */
static bool
do_bridge(int session, const SipAction *action, char **error)
{
	CcMediaCmd *cmd = palloc(sizeof(CcMediaCmd));
	int			other;
	int			side;

	smc_cmd_init(cmd, CC_OP_BRIDGE, action);
	if (!smc_set_peer_of(cmd, action, "with", true, error))
		return false;
	other = cmd->peer;
	if (other == session)
	{
		*error = pstrdup("a leg cannot be bridged with itself");
		return false;
	}
	for (side = 0; side < 2; side++)
	{
		int			me = side == 0 ? session : other;
		int			old = cc_session(me)->bridge_peer;

		if (old >= 0 && old != session && old != other)
		{
			CcMediaCmd	un;

			smc_cmd_init(&un, CC_OP_UNBRIDGE, action);
			(void) send_cmd(old, &un, error);
		}
	}
	cmd->peer = other;
	cmd->peer_generation = cc_session(other)->generation;
	if (!send_cmd(session, cmd, error))
		return false;
	cmd->peer = session;
	cmd->peer_generation = cc_session(session)->generation;
	return send_cmd(other, cmd, error);
}

/* do_unbridge takes the leg and its partner out of their bridge. */
static bool
do_unbridge(int session, const SipAction *action, char **error)
{
	CcMediaCmd	cmd;
	int			other = cc_session(session)->bridge_peer;

	smc_cmd_init(&cmd, CC_OP_UNBRIDGE, action);
	if (other >= 0 && !send_cmd(other, &cmd, error))
		return false;
	return send_cmd(session, &cmd, error);
}

/*
 * do_monitor: the supervisor (this leg) hears the target and its bridge
 * partner; whisper adds the supervisor to what the target hears, barge to
 * what both hear; stop undoes it.
 */
static bool
do_monitor(int session, const SipAction *action, char **error)
{
	CcMediaCmd	cmd;
	CcMediaCmd	hear;
	char	   *mode = sip_action_str(action, "mode");
	int			m;
	int			target,
				partner;

	if (mode == NULL || strcmp(mode, "listen") == 0)
		m = CC_MONITOR_LISTEN;
	else if (strcmp(mode, "whisper") == 0)
		m = CC_MONITOR_WHISPER;
	else if (strcmp(mode, "barge") == 0)
		m = CC_MONITOR_BARGE;
	else if (strcmp(mode, "stop") == 0)
		m = CC_MONITOR_STOP;
	else
	{
		*error = psprintf("monitor mode \"%s\" is not listen, whisper, barge or stop", mode);
		return false;
	}
	smc_cmd_init(&cmd, CC_OP_MONITOR, action);
	if (!smc_set_peer_of(&cmd, action, "target", true, error))
		return false;
	cmd.args[CC_SUB] = m;
	target = cmd.peer;
	partner = cc_session(target)->bridge_peer;

	/* undo any earlier injection, then add what this mode needs */
	smc_cmd_init(&hear, CC_OP_HEAR_REMOVE, action);
	hear.peer = session;
	hear.peer_generation = cc_session(session)->generation;
	(void) send_cmd(target, &hear, error);
	if (partner >= 0)
		(void) send_cmd(partner, &hear, error);
	hear.op = CC_OP_HEAR_ADD;
	if (m == CC_MONITOR_WHISPER || m == CC_MONITOR_BARGE)
		(void) send_cmd(target, &hear, error);
	if (m == CC_MONITOR_BARGE && partner >= 0)
		(void) send_cmd(partner, &hear, error);
	return send_cmd(session, &cmd, error);
}

/*
 * report_error tells the decisions that a play or collect they asked for
 * cannot happen (play_done / collect_done with reason error), as the
 * media worker would.
 */
static void
report_error(int session, const SipAction *action, const char *error)
{
	StringInfoData buf;
	const char *type;
	char	   *kind = sip_action_str(action, "command_info.type");

	if (strcmp(action->name, "play") == 0 || strcmp(action->name, "text") == 0 ||
		strcmp(action->name, "audio") == 0)
		type = "play_done";
	else if (strcmp(action->name, "dtmf") == 0 && kind && strcmp(kind, "collect") == 0)
		type = "collect_done";
	else
		return;
	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"type\":\"%s\",\"tag\":", type);
	if (action->tag)
		escape_json(&buf, action->tag);
	else
		appendStringInfoString(&buf, "null");
	appendStringInfoString(&buf, ",\"reason\":\"error\",\"error\":");
	escape_json(&buf, error);
	appendStringInfoChar(&buf, '}');
	sip_calls_media_event(session, cc_session(session)->generation, buf.data);
}

/*
 * sip_media_action hands one media action of a leg to its media worker.
 * False, with *error, when it cannot; a play or collect that fails this
 * way is reported to the decisions here (play_done / collect_done with
 * reason error).
 */
bool
sip_media_action(const char *leg_id, int session, const SipAction *action, char **error)
{
	CcMediaCmd *cmd;
	const char *name = action->name;
	bool		ok = true;

	if (session < 0 || session >= cc_shared->max_sessions)
	{
		*error = psprintf("media action \"%s\": the leg has no media session", name);
		return false;
	}
	cmd = palloc(sizeof(CcMediaCmd));
	smc_cmd_init(cmd, 0, action);

	if (strcmp(name, "play") == 0)
	{
		cmd->op = CC_OP_PLAY;
		ok = smc_parse_play(action, NULL, cmd, error);
	}
	else if (strcmp(name, "text") == 0)
	{
		int			n = sip_action_length(action, "values");
		int			i;
		StringInfoData text;

		initStringInfo(&text);
		for (i = 0; i < n; i++)
		{
			char	   *t = sip_action_str(action, psprintf("values.%d.text", i));

			if (t && t[0])
				appendStringInfo(&text, "%s%s", text.len ? " " : "", t);
		}
		if (text.len == 0 || text.len >= CC_CMD_STRINGS - 128)
		{
			*error = psprintf("text needs values[].text (1 to %d characters in all)", CC_CMD_STRINGS - 128);
			ok = false;
		}
		else
		{
			cmd->op = CC_OP_PLAY;
			cmd->args[CC_PLAY_KIND] = CC_PLAY_TTS;
			cmd->args[CC_PLAY_COUNT] = 1;
			smc_cmd_add_str(cmd, text.data);
			smc_cmd_add_str(cmd, sip_action_str(action, "voice"));
		}
	}
	else if (strcmp(name, "audio") == 0)
	{
		char	   *source = sip_action_str(action, "source");
		bool		loop = false;

		(void) sip_action_bool(action, "channel_options.voice_telephony.loop", &loop);
		if (source == NULL || source[0] == '\0' || strstr(source, "..") != NULL ||
			strstr(source, "://") != NULL)
		{
			*error = psprintf("audio source \"%s\" is not a WAV file under cc.media_dir", source ? source : "");
			ok = false;
		}
		else
		{
			cmd->op = CC_OP_PLAY;
			cmd->args[CC_PLAY_KIND] = CC_PLAY_FILE;
			cmd->args[CC_PLAY_COUNT] = 1;
			cmd->args[CC_PLAY_LOOP] = loop;
			smc_cmd_add_str(cmd, source);
		}
	}
	else if (strcmp(name, "dtmf") == 0)
		ok = smc_parse_dtmf(action, cmd, error);
	else if (strcmp(name, "stop_media") == 0)
		cmd->op = CC_OP_STOP;
	else if (strcmp(name, "bridge") == 0)
		return do_bridge(session, action, error);
	else if (strcmp(name, "unbridge") == 0)
		return do_unbridge(session, action, error);
	else if (strcmp(name, "monitor") == 0)
		return do_monitor(session, action, error);
	else if (strcmp(name, "hold") == 0)
	{
		cmd->op = CC_OP_HOLD;
		if (sip_action_json(action, "music") == NULL)
			cmd->args[CC_PLAY_NONE] = 1;
		else
			ok = smc_parse_play(action, "music", cmd, error);
	}
	else if (strcmp(name, "unhold") == 0)
		cmd->op = CC_OP_UNHOLD;
	else if (strcmp(name, "mute") == 0)
		cmd->op = CC_OP_MUTE;
	else if (strcmp(name, "unmute") == 0)
		cmd->op = CC_OP_UNMUTE;
	else if (strcmp(name, "record") == 0)
		ok = smc_parse_record(action, cmd, error);
	else if (strcmp(name, "conference") == 0)
		ok = smc_parse_conference(action, cmd, error);
	else
	{
		*error = psprintf("unknown media action \"%s\"", name);
		ok = false;
	}

	if (ok)
		ok = send_cmd(session, cmd, error);
	if (!ok)
		report_error(session, action, *error);
	return ok;
}

/* sip_media_dtmf_in passes a key received by SIP INFO to the session's DTMF logic. */
void
sip_media_dtmf_in(int session, char digit, int duration_ms)
{
	CcMediaCmd	cmd;
	char	   *error = NULL;

	if (session < 0 || session >= cc_shared->max_sessions)
		return;
	digit = (char) toupper((unsigned char) digit);
	if (!strchr("0123456789*#ABCD", digit) || digit == '\0')
		return;
	smc_cmd_init(&cmd, CC_OP_DTMF_IN, NULL);
	cmd.args[0] = digit;
	cmd.args[1] = duration_ms;
	if (!send_cmd(session, &cmd, &error))
		elog(LOG, "cc sip: INFO digit of session %d lost: %s", session, error);
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

/*
 * sip_media_process reads what the media workers sent: each event, once
 * whole, goes to the leg holding its session if the session's generation
 * is still the one it was sent for (a stale one is dropped).  Pings the
 * workers every few seconds, and resends CLOSEs that found a full ring.
 */
void
sip_media_process(void)
{
	static time_t next_ping = 0;
	int			i;
	CcRingMsg	msg;

	if (!event_buf_ready)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		for (i = 0; i < CC_MAX_MEDIA_WORKERS; i++)
			initStringInfo(&event_buf[i]);
		MemoryContextSwitchTo(old);
		event_buf_ready = true;
	}
	for (i = 0; i < cc_shared->media_workers; i++)
	{
		while (cc_ring_pop(cc_ring_from_media(i), &msg))
		{
			pg_atomic_fetch_add_u64(&cc_shared->sip.msgs_in, 1);
			if (msg.type != CC_MSG_EVENT)
				continue;		/* pongs */
			appendBinaryStringInfo(&event_buf[i], msg.payload, Min(msg.len, CC_RING_PAYLOAD));
			if (msg.flags & CC_MSG_MORE)
				continue;
			if (msg.session >= 0 && msg.session < cc_shared->max_sessions &&
				cc_session(msg.session)->generation == msg.generation &&
				event_buf[i].len > 0 && event_buf[i].data[event_buf[i].len - 1] == '\0')
				sip_calls_media_event(msg.session, msg.generation, event_buf[i].data);
			resetStringInfo(&event_buf[i]);
		}
	}
	if (n_pending_closes > 0)
		retry_closes();
	if (time(NULL) >= next_ping)
	{
		ping_media_workers();
		next_ping = time(NULL) + MEDIA_PING_INTERVAL_S;
	}
}
