/*
 * sip_trunks.h
 *		cc sip's copy of the trunks it sends through (register_out and
 *		peering), reloaded when cc.trunks changes, and the registrations of
 *		register_out trunks to their carriers.
 */
#ifndef CC_SIP_TRUNKS_H
#define CC_SIP_TRUNKS_H

#include <time.h>

#include "sip_sofia.h"

typedef struct SipTrunk
{
	SipHandleMagic magic;		/* kind SIP_HANDLE_TRUNK: the registration's handle points here */
	char		id[37];
	bool		register_out;
	char	   *username;
	char	   *password;		/* register_out: answers the carrier's challenges */
	char	   *host;			/* register_out: the server; peering: the first peer address */
	int			port;
	char	   *transport;
	char	   *outbound_proxy;
	int			expiry_s;
	char	   *signature;		/* the configuration as text: a change re-registers */
	/* register_out state (the callback writes, the loop reads) */
	nua_handle_t *nh;
	bool		auth_tried;
	bool		registered;
	time_t		registered_until;
	time_t		retry_at;		/* 0: no retry scheduled */
	int			failures;		/* in a row: the back-off grows with them */
	bool		failed;			/* the loop must drop the handle and schedule a retry */
	bool		status_dirty;
	char		status[16];
	char		status_reason[128];
} SipTrunk;

extern bool sip_trunks_dirty;

extern const SipTrunk *sip_trunk_find(const char *id);
extern void sip_trunks_process(void);
extern void sip_trunks_shutdown(void);
extern void sip_trunks_callback(nua_event_t event, int status, char const *phrase,
								nua_t *nua, nua_handle_t *nh, SipTrunk *trunk,
								sip_t const *sip, tagi_t tags[]);

#endif
