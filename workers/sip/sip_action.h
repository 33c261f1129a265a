/*
 * sip_action.h
 *		Actions returned by the SQL decisions, as cc sip keeps them: the
 *		type, the leg and tag every action may carry, and the whole action
 *		as jsonb for its other parameters (docs/call-model.md lists them).
 *
 * Parsing needs a transaction (it runs where the JSON was produced); the
 * accessors do not, so the loop reads parameters at any time.
 */
#ifndef CC_SIP_ACTION_H
#define CC_SIP_ACTION_H

#include "utils/jsonb.h"

typedef enum SipActionType
{
	SIP_ACTION_UNKNOWN = 0,		/* logged and skipped */
	SIP_ACTION_ANSWER,			/* 200 with our SDP */
	SIP_ACTION_RING,			/* 180 (183 with early_media) */
	SIP_ACTION_WAIT,			/* pause the rest of the array */
	SIP_ACTION_HANGUP,			/* hangup, end_session */
	SIP_ACTION_DIAL,			/* INVITE a new outbound leg */
	SIP_ACTION_CONNECT_TO_AGENT,	/* REFER (or BYE with a target header) */
	SIP_ACTION_REFER_NOTIFY,	/* final NOTIFY of a REFER we accepted */
	SIP_ACTION_MEDIA			/* play, text, audio, dtmf, stop_media, bridge, hold, ...:
								 * handed to sip_media_action() */
} SipActionType;

typedef struct SipAction
{
	SipActionType type;
	char	   *name;			/* "type" as the decision wrote it */
	char	   *leg;			/* "leg": the leg acted on; NULL = the default leg */
	char	   *tag;			/* "tag", echoed in the events the action leads to */
	Jsonb	   *json;			/* the whole action object */
} SipAction;

extern SipAction *sip_actions_parse(const char *json, int *count, MemoryContext context);
extern SipActionType sip_action_type_of(const char *name);

extern char *sip_action_str(const SipAction *action, const char *path);
extern bool sip_action_int(const SipAction *action, const char *path, int *value);
extern bool sip_action_bool(const SipAction *action, const char *path, bool *value);
extern int	sip_action_length(const SipAction *action, const char *path);
extern char *sip_action_headers(const SipAction *action, const char *path);
extern char *sip_action_json(const SipAction *action, const char *path);

#endif
