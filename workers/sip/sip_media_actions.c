/*
 * sip_media_actions.c
 *		The media actions of docs/call-model.md as cc sip checks them: each
 *		parameter read by dotted path (sip_action.h), refused with a sentence
 *		naming the bad value, and written into a CcMediaCmd of plain numbers
 *		and strings for the media worker.  Part of the media engine's side of
 *		cc sip (with sip_media.c).
 */
#include "postgres.h"

#include <ctype.h>

#include "lib/stringinfo.h"

#include "shmem.h"
#include "sip_media.h"
#include "sip_media_actions.h"

static char *path_join(const char *prefix, const char *key);
static char digit_of_code(const char *code);

/* path_join is prefix.key (or key without prefix). */
static char *
path_join(const char *prefix, const char *key)
{
	return prefix && prefix[0] ? psprintf("%s.%s", prefix, key) : pstrdup(key);
}

/* smc_cmd_init starts a command: op, no peer, the action's tag. */
void
smc_cmd_init(CcMediaCmd *cmd, int op, const SipAction *action)
{
	memset(cmd, 0, offsetof(CcMediaCmd, str));
	cmd->op = op;
	cmd->peer = -1;
	cmd->str_len = 0;
	cmd->args[CC_PLAY_BARGE] = -1;
	if (action && action->tag)
		strlcpy(cmd->tag, action->tag, sizeof(cmd->tag));
}

/* smc_cmd_add_str appends a string to the command (truncated to what fits). */
void
smc_cmd_add_str(CcMediaCmd *cmd, const char *s)
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

/*
 * smc_set_peer_of resolves the leg named at path into the command's peer
 * session; false with *error when required and missing, or not a live leg
 * with media.
 */
bool
smc_set_peer_of(CcMediaCmd *cmd, const SipAction *action, const char *path, bool required, char **error)
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
 * smc_parse_play reads a play object at prefix (the action itself, or hold's
 * "music"): one of file, tts (with voice), tone (with ms); count, loop,
 * barge_in.
 */
bool
smc_parse_play(const SipAction *action, const char *prefix, CcMediaCmd *cmd, char **error)
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
		smc_cmd_add_str(cmd, file);
	}
	else if (tts)
	{
		if (tts[0] == '\0' || strlen(tts) >= CC_CMD_STRINGS - 128)
		{
			*error = psprintf("tts text of %d characters (1 to %d allowed)", (int) strlen(tts), CC_CMD_STRINGS - 128);
			return false;
		}
		cmd->args[CC_PLAY_KIND] = CC_PLAY_TTS;
		smc_cmd_add_str(cmd, tts);
		smc_cmd_add_str(cmd, sip_action_str(action, path_join(prefix, "voice")));
	}
	else
	{
		cmd->args[CC_PLAY_KIND] = CC_PLAY_TONE;
		smc_cmd_add_str(cmd, tone);
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

/* smc_parse_dtmf reads IBM's dtmf command_info: collect, send, barge-in. */
bool
smc_parse_dtmf(const SipAction *action, CcMediaCmd *cmd, char **error)
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
		smc_cmd_add_str(cmd, buf.data);
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

/* smc_parse_record reads record's command (start: recording, file, channels, with). */
bool
smc_parse_record(const SipAction *action, CcMediaCmd *cmd, char **error)
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
		if (!smc_set_peer_of(cmd, action, "with", false, error))
			return false;
		cmd->args[CC_SUB] = CC_RECORD_START;
		cmd->args[CC_SUB_ARG] = channels;
		smc_cmd_add_str(cmd, recording);
		smc_cmd_add_str(cmd, file);
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

/* smc_parse_conference reads conference's command: join (conference, mode, whisper_to), leave, mode. */
bool
smc_parse_conference(const SipAction *action, CcMediaCmd *cmd, char **error)
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
		if (!smc_set_peer_of(cmd, action, "whisper_to", true, error))
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
		smc_cmd_add_str(cmd, conference);
	}
	return true;
}

