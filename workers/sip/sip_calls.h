/*
 * sip_calls.h
 *		Call legs in cc sip: carrying out the actions the SQL decisions
 *		return (answer, wait, hangup, ...) and reporting what happens on each
 *		leg back to them (cc.call_event).
 */
#ifndef CC_SIP_CALLS_H
#define CC_SIP_CALLS_H

#include "sip_sofia.h"
#include "sip_action.h"
#include "sip_sdp.h"

#include "sip_legs.h"

extern void sip_calls_init(void);
extern SipAction *sip_calls_parse_actions(const char *json, int *count);
extern void sip_calls_start(nua_handle_t *nh, nua_saved_event_t *invite,
							const char *call_id, const char *leg_id,
							SipAction *actions, int n_actions);
extern void sip_calls_callback(nua_event_t event, int status, char const *phrase,
							   nua_t *nua, nua_handle_t *nh, SipLeg *leg,
							   sip_t const *sip, tagi_t tags[]);
extern bool sip_calls_run_command(SipAction *actions, int n, char **error);
extern void sip_calls_process(void);
extern void sip_calls_run_ready(void);
extern void sip_calls_shutdown(void);

#endif
