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

#define MEDIA_PING_INTERVAL_S 5
#define PENDING_CLOSES 256

static void ping_media_workers(void);
static bool push(int session, int type, const void *data, int len);
static bool send_cmd(int session, CcMediaCmd *cmd, char **error);
static void cmd_init(CcMediaCmd *cmd, int op, const SipAction *action);
static void cmd_add_str(CcMediaCmd *cmd, const char *s);
static bool set_peer_of(CcMediaCmd *cmd, const SipAction *action, const char *path, bool required, char **error);
static void peer_from_choice(int session, const SipMediaChoice *choice, CcMediaPeer *peer);
static bool parse_play(const SipAction *action, const char *prefix, CcMediaCmd *cmd, char **error);
static bool parse_dtmf(const SipAction *action, CcMediaCmd *cmd, char **error);
static bool parse_record(const SipAction *action, CcMediaCmd *cmd, char **error);
static bool parse_conference(const SipAction *action, CcMediaCmd *cmd, char **error);
static bool do_bridge(int session, const SipAction *action, char **error);
static bool do_unbridge(int session, const SipAction *action, char **error);
static bool do_monitor(int session, const SipAction *action, char **error);
static void report_error(int session, const SipAction *action, const char *error);
static void retry_closes(void);
static char *path_join(const char *prefix, const char *key);
static char digit_of_code(const char *code);

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

/* path_join is prefix.key (or key without prefix). */
static char *
path_join(const char *prefix, const char *key)
{
	return prefix && prefix[0] ? psprintf("%s.%s", prefix, key) : pstrdup(key);
}

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

/* cmd_init starts a command: op, no peer, the action's tag. */
static void
cmd_init(CcMediaCmd *cmd, int op, const SipAction *action)
{
	memset(cmd, 0, offsetof(CcMediaCmd, str));
	cmd->op = op;
	cmd->peer = -1;
	cmd->str_len = 0;
	cmd->args[CC_PLAY_BARGE] = -1;
	if (action && action->tag)
		strlcpy(cmd->tag, action->tag, sizeof(cmd->tag));
}

/* cmd_add_str appends a string to the command (truncated to what fits). */
static void
cmd_add_str(CcMediaCmd *cmd, const char *s)
{
	int			room = CC_CMD_STRINGS - cmd->str_len - 1;
	int			n = s ? Min((int) strlen(s), room) : 0;

	if (room < 0)
		return;
	if (n > 0)
		memcpy(cmd->str + cmd->str_len, s, n);
	cmd->str[cmd->str_len + n] = '\0';
	cmd->str_len += n + 1;
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

/*
 * set_peer_of resolves the leg named at path into the command's peer
 * session; false with *error when required and missing, or not a live leg
 * with media.
 */
static bool
set_peer_of(CcMediaCmd *cmd, const SipAction *action, const char *path, bool required, char **error)
{
	char	   *leg = sip_action_str(action, path);
	int			other;

	if (leg == NULL)
	{
		if (required)
			*error = psprintf("\"%s\" needs \"%s\" (a leg id)", action->name, path);
		return !required;
	}
	other = sip_calls_session_of(leg);
	if (other < 0)
	{
		*error = psprintf("%s \"%s\" is not a live leg with media", path, leg);
		return false;
	}
	cmd->peer = other;
	cmd->peer_generation = cc_session(other)->generation;
	return true;
}

/*
 * parse_play reads a play object at prefix (the action itself, or hold's
 * "music"): one of file, tts (with voice), tone (with ms); count, loop,
 * barge_in.
 */
static bool
parse_play(const SipAction *action, const char *prefix, CcMediaCmd *cmd, char **error)
{
	char	   *file = sip_action_str(action, path_join(prefix, "file"));
	char	   *tts = sip_action_str(action, path_join(prefix, "tts"));
	char	   *tone = sip_action_str(action, path_join(prefix, "tone"));
	int			count = 1;
	bool		flag;

	if ((file != NULL) + (tts != NULL) + (tone != NULL) != 1)
	{
		*error = psprintf("\"%s\" needs exactly one of file, tts or tone", action->name);
		return false;
	}
	if (sip_action_int(action, path_join(prefix, "count"), &count) && (count < 1 || count > 1000))
	{
		*error = psprintf("play count %d is out of range (1 to 1000)", count);
		return false;
	}
	cmd->args[CC_PLAY_COUNT] = count;
	if (sip_action_bool(action, path_join(prefix, "loop"), &flag))
		cmd->args[CC_PLAY_LOOP] = flag;
	if (sip_action_bool(action, path_join(prefix, "barge_in"), &flag))
		cmd->args[CC_PLAY_BARGE] = flag;
	(void) sip_action_int(action, path_join(prefix, "ms"), &cmd->args[CC_PLAY_MS]);
	if (file)
	{
		if (file[0] == '\0' || strstr(file, "..") != NULL)
		{
			*error = psprintf("play file \"%s\" is not a file name under cc.media_dir", file);
			return false;
		}
		cmd->args[CC_PLAY_KIND] = CC_PLAY_FILE;
		cmd_add_str(cmd, file);
	}
	else if (tts)
	{
		if (tts[0] == '\0' || strlen(tts) >= CC_CMD_STRINGS - 128)
		{
			*error = psprintf("tts text of %d characters (1 to %d allowed)", (int) strlen(tts), CC_CMD_STRINGS - 128);
			return false;
		}
		cmd->args[CC_PLAY_KIND] = CC_PLAY_TTS;
		cmd_add_str(cmd, tts);
		cmd_add_str(cmd, sip_action_str(action, path_join(prefix, "voice")));
	}
	else
	{
		cmd->args[CC_PLAY_KIND] = CC_PLAY_TONE;
		cmd_add_str(cmd, tone);
	}
	return true;
}

/* digit_of_code maps IBM's send code ("0".."9", -10 "*", -11 "#", -12..-15 "A".."D") to a key. */
static char
digit_of_code(const char *code)
{
	static const char *ibm = "*#ABCD";
	char	   *end;
	long		n;

	if (code == NULL || code[0] == '\0')
		return 0;
	if (code[1] == '\0' && strchr("0123456789*#ABCDabcd", code[0]))
		return (char) toupper((unsigned char) code[0]);
	n = strtol(code, &end, 10);
	if (*end == '\0' && n <= -10 && n >= -15)
		return ibm[-n - 10];
	return 0;
}

/* parse_dtmf reads IBM's dtmf command_info: collect, send, barge-in. */
static bool
parse_dtmf(const SipAction *action, CcMediaCmd *cmd, char **error)
{
	char	   *type = sip_action_str(action, "command_info.type");
	const char *P = "command_info.parameters.";

	if (type == NULL)
	{
		*error = pstrdup("dtmf needs command_info.type (collect, send, disable_barge_in, enable_barge_in)");
		return false;
	}
	if (strcmp(type, "collect") == 0)
	{
		char	   *term = sip_action_str(action, psprintf("%stermination_key", P));
		int			count = 0,
					min = 0,
					max = 0,
					inter = -1,
					first = 7000;
		bool		stop_after = false;
		bool		has_count = sip_action_int(action, psprintf("%scount", P), &count);
		bool		has_min = sip_action_int(action, psprintf("%sminimum_count", P), &min);
		bool		has_max = sip_action_int(action, psprintf("%smaximum_count", P), &max);

		(void) sip_action_int(action, psprintf("%sinter_digit_timeout_count", P), &inter);
		(void) sip_action_int(action, psprintf("%sfirst_digit_timeout_ms", P), &first);
		(void) sip_action_int(action, "first_digit_timeout_ms", &first);
		(void) sip_action_bool(action, psprintf("%sstop_after_collection", P), &stop_after);
		if (term && (strlen(term) != 1 || !strchr("0123456789*#ABCD", term[0])))
		{
			*error = psprintf("termination_key \"%s\" is not one key (0-9, *, #, A-D)", term);
			return false;
		}
		if (!has_count && !term && !has_min && !has_max)
		{
			*error = pstrdup("dtmf collect needs count, termination_key, or minimum_count/maximum_count");
			return false;
		}
		if (has_count && (count < 1 || count > 100))
		{
			*error = psprintf("dtmf collect count %d is out of range (1 to 100)", count);
			return false;
		}
		if ((has_min && min < 1) || (has_max && (max < 1 || max > 100)) ||
			(has_min && has_max && min >= max))
		{
			*error = psprintf("dtmf collect minimum_count %d / maximum_count %d: need 1 <= minimum < maximum <= 100", min, max);
			return false;
		}
		if (inter > 100000 || inter < -1 || first < 0 || first > 600000)
		{
			*error = psprintf("dtmf collect timeouts out of range (inter_digit_timeout_count <= 100000 ms, first_digit_timeout_ms <= 600000 ms)");
			return false;
		}
		cmd->op = CC_OP_COLLECT;
		cmd->args[CC_COLLECT_TERM] = term ? term[0] : 0;
		cmd->args[CC_COLLECT_COUNT] = has_count ? count : 0;
		cmd->args[CC_COLLECT_MIN] = has_min ? min : 0;
		cmd->args[CC_COLLECT_MAX] = has_max ? max : 0;
		cmd->args[CC_COLLECT_INTER_MS] = inter;
		cmd->args[CC_COLLECT_FIRST_MS] = first;
		cmd->args[CC_COLLECT_STOP_AFTER] = stop_after;
		return true;
	}
	if (strcmp(type, "send") == 0)
	{
		int			n = sip_action_length(action, "command_info.parameters.digits");
		int			interval = 200;
		int			i;
		StringInfoData buf;

		if (n < 1 || n > 100)
		{
			*error = pstrdup("dtmf send needs command_info.parameters.digits: 1 to 100 {code, duration, volume}");
			return false;
		}
		(void) sip_action_int(action, "command_info.parameters.send_interval", &interval);
		initStringInfo(&buf);
		for (i = 0; i < n; i++)
		{
			char	   *code = sip_action_str(action, psprintf("%sdigits.%d.code", P, i));
			char		d = digit_of_code(code);
			int			duration = 200,
						volume = 0;

			if (d == 0)
			{
				*error = psprintf("dtmf send code \"%s\" is not 0-9, -10 (*), -11 (#) or -12..-15 (A-D)",
								  code ? code : "");
				return false;
			}
			(void) sip_action_int(action, psprintf("%sdigits.%d.duration", P, i), &duration);
			(void) sip_action_int(action, psprintf("%sdigits.%d.volume", P, i), &volume);
			if (volume > 0 || volume < -63 || duration < 40 || duration > 10000)
			{
				*error = psprintf("dtmf send digit %d: duration %d ms (40 to 10000) or volume %d dBm0 (0 to -63) out of range",
								  i, duration, volume);
				return false;
			}
			appendStringInfo(&buf, "%c:%d:%d;", d, duration, volume);
		}
		cmd->op = CC_OP_SEND_DTMF;
		cmd->args[0] = Max(0, Min(interval, 10000));
		cmd_add_str(cmd, buf.data);
		return true;
	}
	if (strcmp(type, "disable_barge_in") == 0 || strcmp(type, "enable_barge_in") == 0)
	{
		cmd->op = CC_OP_BARGE;
		cmd->args[0] = type[0] == 'e';
		return true;
	}
	*error = psprintf("dtmf command_info.type \"%s\" is not collect, send, disable_barge_in or enable_barge_in", type);
	return false;
}

/* parse_record reads record's command (start: recording, file, channels, with). */
static bool
parse_record(const SipAction *action, CcMediaCmd *cmd, char **error)
{
	char	   *command = sip_action_str(action, "command");

	cmd->op = CC_OP_RECORD;
	if (command == NULL || strcmp(command, "start") == 0)
	{
		char	   *recording = sip_action_str(action, "recording");
		char	   *file = sip_action_str(action, "file");
		int			channels = 2;

		if (recording == NULL || recording[0] == '\0')
		{
			*error = pstrdup("record start needs \"recording\" (the cc.recordings id)");
			return false;
		}
		if (file == NULL)
			file = psprintf("%s.wav", recording);
		if (strstr(file, "..") != NULL)
		{
			*error = psprintf("record file \"%s\" is not a file name under cc.recordings_dir", file);
			return false;
		}
		if (sip_action_int(action, "channels", &channels) && channels != 1 && channels != 2)
		{
			*error = psprintf("record channels %d: 1 (mixed) or 2 (each leg on its own)", channels);
			return false;
		}
		if (!set_peer_of(cmd, action, "with", false, error))
			return false;
		cmd->args[CC_SUB] = CC_RECORD_START;
		cmd->args[CC_SUB_ARG] = channels;
		cmd_add_str(cmd, recording);
		cmd_add_str(cmd, file);
		return true;
	}
	if (strcmp(command, "pause") == 0)
		cmd->args[CC_SUB] = CC_RECORD_PAUSE;
	else if (strcmp(command, "resume") == 0)
		cmd->args[CC_SUB] = CC_RECORD_RESUME;
	else if (strcmp(command, "stop") == 0)
		cmd->args[CC_SUB] = CC_RECORD_STOP;
	else
	{
		*error = psprintf("record command \"%s\" is not start, pause, resume or stop", command);
		return false;
	}
	return true;
}

/* parse_conference reads conference's command: join (conference, mode, whisper_to), leave, mode. */
static bool
parse_conference(const SipAction *action, CcMediaCmd *cmd, char **error)
{
	char	   *command = sip_action_str(action, "command");
	char	   *mode = sip_action_str(action, "mode");
	char	   *conference = sip_action_str(action, "conference");

	cmd->op = CC_OP_CONFERENCE;
	if (command && strcmp(command, "leave") == 0)
	{
		cmd->args[CC_SUB] = CC_CONF_LEAVE;
		return true;
	}
	if (command && strcmp(command, "join") != 0 && strcmp(command, "mode") != 0)
	{
		*error = psprintf("conference command \"%s\" is not join, leave or mode", command);
		return false;
	}
	cmd->args[CC_SUB] = (command && strcmp(command, "mode") == 0) ? CC_CONF_SET_MODE : CC_CONF_JOIN;
	if (mode == NULL || strcmp(mode, "talk") == 0)
		cmd->args[CC_SUB_ARG] = CC_CONF_TALK;
	else if (strcmp(mode, "listen") == 0)
		cmd->args[CC_SUB_ARG] = CC_CONF_LISTEN;
	else if (strcmp(mode, "muted") == 0 || strcmp(mode, "mute") == 0)
		cmd->args[CC_SUB_ARG] = CC_CONF_MUTED;
	else if (strcmp(mode, "whisper") == 0)
	{
		cmd->args[CC_SUB_ARG] = CC_CONF_WHISPER;
		if (!set_peer_of(cmd, action, "whisper_to", true, error))
			return false;
	}
	else
	{
		*error = psprintf("conference mode \"%s\" is not talk, listen, muted or whisper", mode);
		return false;
	}
	if (cmd->args[CC_SUB] == CC_CONF_JOIN)
	{
		if (conference == NULL || conference[0] == '\0' || strlen(conference) >= 40)
		{
			*error = pstrdup("conference join needs \"conference\" (an id of at most 39 characters)");
			return false;
		}
		cmd_add_str(cmd, conference);
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

	cmd_init(cmd, CC_OP_BRIDGE, action);
	if (!set_peer_of(cmd, action, "with", true, error))
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

			cmd_init(&un, CC_OP_UNBRIDGE, action);
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

	cmd_init(&cmd, CC_OP_UNBRIDGE, action);
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
	cmd_init(&cmd, CC_OP_MONITOR, action);
	if (!set_peer_of(&cmd, action, "target", true, error))
		return false;
	cmd.args[CC_SUB] = m;
	target = cmd.peer;
	partner = cc_session(target)->bridge_peer;

	/* undo any earlier injection, then add what this mode needs */
	cmd_init(&hear, CC_OP_HEAR_REMOVE, action);
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
	cmd_init(cmd, 0, action);

	if (strcmp(name, "play") == 0)
	{
		cmd->op = CC_OP_PLAY;
		ok = parse_play(action, NULL, cmd, error);
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
			cmd_add_str(cmd, text.data);
			cmd_add_str(cmd, sip_action_str(action, "voice"));
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
			cmd_add_str(cmd, source);
		}
	}
	else if (strcmp(name, "dtmf") == 0)
		ok = parse_dtmf(action, cmd, error);
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
			ok = parse_play(action, "music", cmd, error);
	}
	else if (strcmp(name, "unhold") == 0)
		cmd->op = CC_OP_UNHOLD;
	else if (strcmp(name, "mute") == 0)
		cmd->op = CC_OP_MUTE;
	else if (strcmp(name, "unmute") == 0)
		cmd->op = CC_OP_UNMUTE;
	else if (strcmp(name, "record") == 0)
		ok = parse_record(action, cmd, error);
	else if (strcmp(name, "conference") == 0)
		ok = parse_conference(action, cmd, error);
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
	cmd_init(&cmd, CC_OP_DTMF_IN, NULL);
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
