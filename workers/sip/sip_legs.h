/*
 * sip_legs.h
 *		The call legs cc sip holds: what a leg is, where legs are found (by
 *		leg id, by media session), the queue of their events for
 *		cc.call_event(), and the handing out of actions.  sip_calls.c
 *		(inbound legs and the actions), sip_dial.c (outbound legs) and
 *		sip_refer.c (transfers) share it.
 */
#ifndef CC_SIP_LEGS_H
#define CC_SIP_LEGS_H

#include "sip_sofia.h"
#include "sip_action.h"
#include "sip_sdp.h"

typedef struct SipLeg SipLeg;

/* One INVITE of an outbound leg (several when forked); the handle's magic. */
typedef struct SipFork
{
	SipHandleMagic magic;		/* kind SIP_HANDLE_FORK */
	SipLeg	   *leg;
	nua_handle_t *nh;
	char	   *target;			/* Request-URI (in the leg's memory) */
	int			status;			/* last final status, 0 while pending */
	char		phrase[64];
	bool		done;			/* final answer (or error) received */
	bool		answered;		/* 2xx received */
	bool		auth_tried;		/* we answered one challenge already */
	bool		cancelled;		/* we sent CANCEL (or BYE for a late 2xx) */
	char	   *answer_sdp;		/* malloc'd body of its 2xx */
	char	   *contact;		/* malloc'd Contact URI of its 2xx */
	char	   *call_id;		/* malloc'd Call-ID */
	char	   *remote_ip;		/* malloc'd source address of its 2xx */
	int			remote_port;
} SipFork;

struct SipLeg
{
	SipHandleMagic magic;		/* kind SIP_HANDLE_LEG: an inbound leg's handle points here */
	char		id[37];			/* cc.legs.id: the hash key */
	char		call_id[37];	/* cc.calls.id */
	MemoryContext context;		/* everything of the leg; deleted with it */
	MemoryContext actions_context;	/* the current actions; replaced with them */
	bool		outbound;
	nua_handle_t *nh;			/* the dialog: inbound from the start, outbound once a fork answers */
	nua_saved_event_t invite[1];	/* inbound: the INVITE, until its final response */
	bool		invite_saved;
	bool		early_media;	/* 183 with our SDP sent */
	bool		answered;
	bool		hangup_sent;	/* we sent BYE, CANCEL or the final error */
	bool		cancelled;		/* the caller sent CANCEL */
	bool		ended;			/* the dialog is over */
	bool		end_queued;		/* the event that ends the leg is queued: it is freed after it */
	bool		bye_seen;		/* nua sent BYE on its own: the session timer expired */
	const char *end_cause;		/* a cause we know better than the SIP code */
	int			session;		/* media session index, or -1 */
	SipMediaChoice media;
	unsigned long sdp_version;
	SipAction  *actions;
	int			n_actions;
	int			next_action;
	su_timer_t *timer;			/* wait actions */
	bool		waiting;
	const char *wait_tag;
	/* outbound (sip_dial.c) */
	SipFork   **forks;
	int			n_forks;
	su_timer_t *ring_timer;
	bool		ring_timed_out;
	bool		dial_dirty;		/* a fork changed: sip_dial_process looks */
	char	   *dial_tag;
	char	   *auth_user;		/* a trunk's credentials, for challenges */
	char	   *auth_pass;
	char	   *answered_target;
	bool		ringing_reported[2];	/* 180, 183 */
	/* transfers (sip_refer.c) */
	char	   *refer_event;	/* Event of the REFER we accepted, for its NOTIFYs (malloc'd) */
	bool		refer_sent;		/* our REFER waits for its outcome */
	char	   *refer_tag;
};

/* A leg's event, as JSON, for cc.call_event() (callback-safe: no palloc). */
extern void sip_leg_event(SipLeg *leg, bool ends_leg, const char *fmt,...) pg_attribute_printf(3, 4);
extern const char *sip_json_quote(const char *s, char *buf, size_t size);

extern SipLeg *sip_leg_create(const char *leg_id, const char *call_id, bool outbound);
extern SipLeg *sip_leg_find(const char *leg_id);
extern void sip_leg_set_session(SipLeg *leg, int session);
extern void sip_legs_init(void);
extern void sip_legs_apply(SipLeg *default_leg, SipAction *actions, int n, int *missing, const char **missing_leg);
extern void sip_legs_report(void);
extern void sip_legs_foreach_live(void (*fn) (SipLeg *leg));
extern void sip_legs_mark_ready(void);
extern void sip_legs_foreach_ready(void (*fn) (SipLeg *leg));
extern MemoryContext sip_legs_batch_context(void);

/* sip_calls.c */
extern void sip_calls_run_actions(SipLeg *leg);
extern const char *sip_local_ip(void);
extern char *sip_leg_sdp(SipLeg *leg);
extern void sip_calls_free_dialog(SipLeg *leg);
extern void sip_calls_leg_callback(nua_event_t event, int status, char const *phrase,
								   nua_t *nua, nua_handle_t *nh, SipLeg *leg,
								   sip_t const *sip, tagi_t tags[]);

/* sip_dial.c */
extern void sip_dial_start(SipLeg *leg, const SipAction *action);
extern void sip_dial_cancel(SipLeg *leg);
extern void sip_dial_callback(nua_event_t event, int status, char const *phrase,
							  nua_t *nua, nua_handle_t *nh, SipFork *fork,
							  sip_t const *sip, tagi_t tags[]);
extern void sip_dial_process(SipLeg *leg);
extern void sip_dial_free(SipLeg *leg);

/* sip_refer.c */
extern void sip_refer_connect_to_agent(SipLeg *leg, const SipAction *action);
extern void sip_refer_notify_action(SipLeg *leg, const SipAction *action);
extern void sip_refer_received(SipLeg *leg, nua_handle_t *nh, sip_t const *sip, tagi_t tags[]);
extern void sip_refer_notify_received(SipLeg *leg, int status, sip_t const *sip);
extern void sip_refer_answered(SipLeg *leg, int status, char const *phrase);
extern char *sip_header_wire_value(const char *name, const char *value);

#endif
