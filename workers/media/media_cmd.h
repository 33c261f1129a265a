/*
 * media_cmd.h
 *		The media commands cc sip sends a media worker through its ring
 *		(CC_MSG_COMMAND): one per media action of docs/call-model.md, already
 *		checked and reduced to numbers and strings by sip_media.c, so the media
 *		loop never parses JSON.
 */
#ifndef CC_MEDIA_CMD_H
#define CC_MEDIA_CMD_H

typedef enum CcMediaOp
{
	CC_OP_PLAY = 1,				/* play, text, audio */
	CC_OP_COLLECT,				/* dtmf collect */
	CC_OP_SEND_DTMF,			/* dtmf send */
	CC_OP_BARGE,				/* dtmf enable_barge_in / disable_barge_in */
	CC_OP_STOP,					/* stop_media */
	CC_OP_BRIDGE,				/* hear peer (sent to both sides) */
	CC_OP_UNBRIDGE,				/* leave the bridge (sent to both sides) */
	CC_OP_HOLD,					/* hold music instead of the bridge; others hear silence */
	CC_OP_UNHOLD,
	CC_OP_MUTE,					/* others hear silence; we still hear them */
	CC_OP_UNMUTE,
	CC_OP_RECORD,				/* start / pause / resume / stop */
	CC_OP_CONFERENCE,			/* join / leave / mode */
	CC_OP_MONITOR,				/* supervisor side: listen to a target's bridge */
	CC_OP_HEAR_ADD,				/* also hear a source (whisper and barge injections) */
	CC_OP_HEAR_REMOVE,
	CC_OP_DTMF_IN				/* a key received by SIP INFO */
} CcMediaOp;

/* args of CC_OP_PLAY and CC_OP_HOLD (music) */
#define CC_PLAY_KIND 0			/* CC_PLAY_FILE, CC_PLAY_TTS, CC_PLAY_TONE */
#define CC_PLAY_COUNT 1
#define CC_PLAY_LOOP 2
#define CC_PLAY_BARGE 3			/* -1 = the session's setting, 0, 1 */
#define CC_PLAY_MS 4			/* tone or silence length, 0 = the tone's own */
#define CC_PLAY_NONE 5			/* CC_OP_HOLD: 1 = no music (silence) */

#define CC_PLAY_FILE 0
#define CC_PLAY_TTS 1
#define CC_PLAY_TONE 2

/* args of CC_OP_COLLECT */
#define CC_COLLECT_TERM 0		/* termination key (a char), 0 none */
#define CC_COLLECT_COUNT 1		/* exact count, 0 none */
#define CC_COLLECT_MIN 2
#define CC_COLLECT_MAX 3
#define CC_COLLECT_INTER_MS 4	/* inter-digit timeout, -1: the first-digit timer restarts */
#define CC_COLLECT_FIRST_MS 5
#define CC_COLLECT_STOP_AFTER 6

/* args of CC_OP_RECORD, CC_OP_CONFERENCE, CC_OP_MONITOR */
#define CC_SUB 0
#define CC_SUB_ARG 1
#define CC_RECORD_START 1
#define CC_RECORD_PAUSE 2
#define CC_RECORD_RESUME 3
#define CC_RECORD_STOP 4
#define CC_CONF_JOIN 1
#define CC_CONF_LEAVE 2
#define CC_CONF_SET_MODE 3
#define CC_MONITOR_STOP 0
#define CC_MONITOR_LISTEN 1
#define CC_MONITOR_WHISPER 2
#define CC_MONITOR_BARGE 3

#define CC_CMD_ARGS 8
#define CC_CMD_TAG 96
#define CC_CMD_STRINGS 4096		/* text of a TTS prompt, file names, digits */

/*
 * CcMediaCmd: op, an optional other session (peer) with its generation,
 * integer args by op, the action's tag, and up to four NUL-terminated
 * strings one after the other in str (str_len bytes used).  Only
 * offsetof(str) + str_len bytes travel.
 */
typedef struct CcMediaCmd
{
	int32		op;
	int32		peer;
	uint32		peer_generation;
	int32		args[CC_CMD_ARGS];
	char		tag[CC_CMD_TAG];
	int32		str_len;
	char		str[CC_CMD_STRINGS];
} CcMediaCmd;

#endif
