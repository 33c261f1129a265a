/*
 * sip_calls.h
 *		Call legs in cc sip: carrying out the actions the SQL decisions
 *		return (answer, wait, hangup, ...) and reporting what happens on each
 *		leg back to them (cc.call_event).
 */
#ifndef CC_SIP_CALLS_H
#define CC_SIP_CALLS_H

#include "sip_sofia.h"
#include "sip_sdp.h"

typedef enum SipActionType
{
	SIP_ACTION_ANSWER,			/* 200 with our SDP */
	SIP_ACTION_RING,			/* 180 Ringing */
	SIP_ACTION_WAIT,			/* do nothing for ms */
	SIP_ACTION_HANGUP,			/* BYE, or a final error before answer */
	SIP_ACTION_MEDIA			/* play, collect, ...: the media engine's (not yet) */
} SipActionType;

typedef struct SipAction
{
	SipActionType type;
	int			ms;				/* wait: how long */
	int			code;			/* hangup before answer: the status */
	char	   *reason;
	char	   *headers;		/* "Name: value\r\n..." for BYE or the final response */
	char	   *name;			/* the action's own name, for logs */
} SipAction;

typedef struct SipLeg SipLeg;

extern void sip_calls_init(void);
extern SipAction *sip_actions_parse(const char *json, int *count);
extern void sip_calls_start(nua_handle_t *nh, nua_saved_event_t *invite,
							const char *call_id, const char *leg_id,
							SipAction *actions, int n_actions);
extern void sip_calls_callback(nua_event_t event, int status, char const *phrase,
							   nua_t *nua, nua_handle_t *nh, SipLeg *leg,
							   sip_t const *sip, tagi_t tags[]);
extern void sip_calls_process(void);
extern void sip_calls_shutdown(void);

#endif
