/*
 * sip_request.h
 *		Requests that the SQL decisions answer: the sofia-sip callback saves
 *		them, the loop asks cc.sip_request() what to answer, then answers.
 */
#ifndef CC_SIP_REQUEST_H
#define CC_SIP_REQUEST_H

#include "sip_sofia.h"

extern void sip_request_save(nua_t *nua, nua_event_t event, nua_handle_t *nh);
extern void sip_request_process(void);
extern uint64 sip_request_report_shed(void);
extern void sip_request_shed_reported(uint64 n);

#endif
