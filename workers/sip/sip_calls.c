/*
 * sip_calls.c
 *		Carrying out the actions of the SQL decisions on call legs, and the
 *		in-dialog life of a leg.
 *
 * An inbound leg is made when the decisions accept a new INVITE; an
 * outbound one when they dial (sip_dial.c).  Each runs the actions it was
 * given, in order: answer (200 with our SDP), ring (180, or 183 with SDP
 * for early media), wait (an su_timer), hangup (BYE, a final error before
 * answer, or CANCEL), dial, connect_to_agent and refer_notify
 * (sip_refer.c); media actions go to the media side.  What happens in the
 * dialog (ACK, BYE, CANCEL, re-INVITE and UPDATE with hold and resume,
 * INFO DTMF, REFER, a session timer that expired) becomes an event of the
 * leg (sip_legs.c).
 *
 * Callbacks only set flags and queue events; answering a re-offer needs
 * palloc, so it waits for the loop (sip_calls_process).
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "guc.h"
#include "shmem.h"
#include "sip_calls.h"
#include "sip_legs.h"
#include "sip_media.h"
#include "sip_stack.h"

/* A re-offer waiting for the loop. */
typedef struct SipReoffer
{
	struct SipReoffer *next;
	SipLeg	   *leg;
	nua_saved_event_t saved[1];
	const char *method;
} SipReoffer;

static SipReoffer *reoffers = NULL;

static void leg_timer_fired(su_root_magic_t *magic, su_timer_t *timer, su_timer_arg_t *arg);
static bool answer_leg(SipLeg *leg, bool early);
static bool open_media_for_offer(SipLeg *leg);
static void answer_reoffer(SipLeg *leg, nua_saved_event_t *saved, const char *method);
static void hangup(SipLeg *leg, const SipAction *a);
static void info_dtmf(SipLeg *leg, sip_t const *sip);
static void run_if_ready(SipLeg *leg);

/* sip_calls_init prepares the legs' tables and memory. */
void
sip_calls_init(void)
{
	sip_legs_init();
	cc_session_release_all();
}

/* sip_local_ip is the address we put in SDP: cc.rtp_ip, or the host of cc.sip_listen. */
const char *
sip_local_ip(void)
{
	static char host[64];
	const char *start;
	const char *end;

	if (cc_rtp_ip && cc_rtp_ip[0])
		return cc_rtp_ip;
	start = cc_sip_listen + 4;	/* after "sip:" */
	end = strchr(start, ':');
	if (end == NULL)
		end = start + strlen(start);
	if (end - start <= 0 || end - start >= (long) sizeof(host) || *start == '*')
		return "127.0.0.1";
	memcpy(host, start, end - start);
	host[end - start] = '\0';
	if (strcmp(host, "0.0.0.0") == 0)
		return "127.0.0.1";
	return host;
}

/* sip_leg_sdp is our SDP for a leg: its media session, its agreed media, its version. */
char *
sip_leg_sdp(SipLeg *leg)
{
	return sip_sdp_answer(sip_local_ip(), sip_media_local_port(leg->session), &leg->media,
						  (unsigned long) leg->session + 1, leg->sdp_version);
}

/*
 * sip_calls_parse_actions reads a decision's actions into the current
 * memory context (the legs copy theirs).  In a transaction.
 */
SipAction *
sip_calls_parse_actions(const char *json, int *count)
{
	return sip_actions_parse(json, count, CurrentMemoryContext);
}

/*
 * sip_calls_start makes a leg of an accepted INVITE and starts its actions.
 * It takes over the saved INVITE.
 */
void
sip_calls_start(nua_handle_t *nh, nua_saved_event_t *invite,
				const char *call_id, const char *leg_id,
				SipAction *actions, int n_actions)
{
	SipLeg	   *leg = sip_leg_create(leg_id, call_id, false);
	int			missing;
	const char *missing_leg = NULL;

	leg->nh = nh;
	memcpy(leg->invite, invite, sizeof(nua_saved_event_t));
	leg->invite_saved = true;
	nua_handle_bind(nh, &leg->magic);
	sip_legs_apply(leg, actions, n_actions, &missing, &missing_leg);
	if (missing > 0)
		elog(LOG, "cc sip: %d first action(s) of leg %s are for leg %s, which is not live here",
			 missing, leg->id, missing_leg);
	sip_calls_run_actions(leg);
}

/* leg_timer_fired ends a wait action; the loop resumes the leg. */
static void
leg_timer_fired(su_root_magic_t *magic, su_timer_t *timer, su_timer_arg_t *arg)
{
	SipLeg	   *leg = (SipLeg *) arg;
	char		q1[256];

	leg->waiting = false;
	sip_legs_mark_ready();
	if (leg->wait_tag != NULL)
		sip_leg_event(leg, false, "{\"type\":\"wait_done\",\"tag\":%s}",
					  sip_json_quote(leg->wait_tag, q1, sizeof(q1)));
}

/*
 * open_media_for_offer agrees media with the INVITE's offer and opens the
 * leg's session (once); on failure it answers 488 or 503 and reports failed.
 */
static bool
open_media_for_offer(SipLeg *leg)
{
	nua_event_data_t const *data = nua_event_data(leg->invite);
	sip_t const *sip = sip_object(data->e_msg);
	char	   *offer = NULL;
	char	   *error = NULL;
	char		q1[256];
	int			session;

	if (leg->session >= 0)
		return true;
	if (sip && sip->sip_payload && sip->sip_payload->pl_data)
		offer = pnstrdup(sip->sip_payload->pl_data, sip->sip_payload->pl_len);
	if (!sip_sdp_negotiate(offer, &leg->media, &error))
	{
		nua_respond(leg->nh, SIP_488_NOT_ACCEPTABLE, NUTAG_WITH_SAVED(leg->invite),
					SIPTAG_WARNING_STR(psprintf("399 pg_callcenter \"%s\"", error)), TAG_END());
		sip_leg_event(leg, false, "{\"type\":\"failed\",\"code\":488,\"cause\":\"media_refused\",\"reason\":%s}",
					  sip_json_quote(error, q1, sizeof(q1)));
		leg->hangup_sent = true;
		return false;
	}
	session = sip_media_open(leg->id, &leg->media, &error);
	if (session < 0)
	{
		nua_respond(leg->nh, SIP_503_SERVICE_UNAVAILABLE, NUTAG_WITH_SAVED(leg->invite),
					SIPTAG_RETRY_AFTER_STR("5"), TAG_END());
		sip_leg_event(leg, false, "{\"type\":\"failed\",\"code\":503,\"cause\":\"unavailable\",\"reason\":%s}",
					  sip_json_quote(error, q1, sizeof(q1)));
		leg->hangup_sent = true;
		return false;
	}
	sip_leg_set_session(leg, session);
	leg->sdp_version = 1;
	return true;
}

/*
 * answer_leg answers the saved INVITE with our SDP on the leg's media
 * session: 183 for early media (the INVITE stays open), else 200.
 * Reports answered (or failed).
 */
static bool
answer_leg(SipLeg *leg, bool early)
{
	char	   *sdp;

	if (!open_media_for_offer(leg))
		return false;
	sdp = sip_leg_sdp(leg);
	if (early)
	{
		nua_respond(leg->nh, SIP_183_SESSION_PROGRESS, NUTAG_WITH_SAVED(leg->invite),
					SIPTAG_CONTENT_TYPE_STR("application/sdp"),
					SIPTAG_PAYLOAD_STR(sdp), TAG_END());
		leg->early_media = true;
		return true;
	}
	nua_respond(leg->nh, SIP_200_OK, NUTAG_WITH_SAVED(leg->invite),
				SIPTAG_CONTENT_TYPE_STR("application/sdp"),
				SIPTAG_PAYLOAD_STR(sdp), TAG_END());
	leg->answered = true;
	sip_leg_event(leg, false,
				  "{\"type\":\"answered\",\"codec\":\"%s\",\"remote_rtp\":\"%s:%d\",\"local_rtp_port\":%d,"
				  "\"dtmf_pt\":%d,\"session\":%d}",
				  leg->media.codec_name, leg->media.remote_ip, leg->media.remote_port,
				  sip_media_local_port(leg->session), leg->media.dtmf_pt, leg->session);
	return true;
}

/*
 * hangup ends a leg the way its state allows: BYE when answered (with the
 * action's headers), a final error to an inbound INVITE not answered yet,
 * CANCEL of an outbound one.
 */
static void
hangup(SipLeg *leg, const SipAction *a)
{
	int			code = 0;
	char	   *reason = sip_action_str(a, "reason");
	char	   *cause = sip_action_str(a, "cause");
	char	   *headers = sip_action_headers(a, "headers");

	if (headers == NULL)
		headers = sip_action_headers(a, "channel_options.voice_telephony.sip.headers");
	if (leg->hangup_sent)
		return;
	if (cause != NULL)
		leg->end_cause = MemoryContextStrdup(leg->context, cause);
	leg->hangup_sent = true;
	if (leg->answered)
		nua_bye(leg->nh, TAG_IF(headers != NULL, SIPTAG_HEADER_STR(headers)), TAG_END());
	else if (leg->outbound)
		sip_dial_cancel(leg);
	else if (leg->invite_saved)
	{
		(void) sip_action_int(a, "code", &code);
		nua_respond(leg->nh, code >= 300 && code <= 699 ? code : 480,
					reason ? reason : "Temporarily Unavailable",
					NUTAG_WITH_SAVED(leg->invite),
					TAG_IF(headers != NULL, SIPTAG_HEADER_STR(headers)), TAG_END());
		nua_destroy_event(leg->invite);
		leg->invite_saved = false;
	}
}

/* sip_calls_run_actions carries out the leg's actions until one waits or the leg ends. */
void
sip_calls_run_actions(SipLeg *leg)
{
	while (!leg->waiting && !leg->ended && leg->next_action < leg->n_actions)
	{
		SipAction  *a = &leg->actions[leg->next_action++];

		switch (a->type)
		{
			case SIP_ACTION_ANSWER:
				if (leg->invite_saved && !leg->answered && !leg->hangup_sent)
				{
					answer_leg(leg, false);
					nua_destroy_event(leg->invite);
					leg->invite_saved = false;
				}
				break;

			case SIP_ACTION_RING:
				if (leg->invite_saved && !leg->hangup_sent && !leg->early_media)
				{
					bool		early = false;

					(void) sip_action_bool(a, "early_media", &early);
					if (early)
						answer_leg(leg, true);
					else
						nua_respond(leg->nh, SIP_180_RINGING, NUTAG_WITH_SAVED(leg->invite), TAG_END());
				}
				break;

			case SIP_ACTION_WAIT:
				{
					int			ms = 0;

					if (sip_action_int(a, "ms", &ms) && ms > 0)
					{
						leg->wait_tag = a->tag;
						if (leg->timer == NULL)
							leg->timer = su_timer_create(su_root_task(sip_root), ms);
						leg->waiting = true;
						if (su_timer_set_interval(leg->timer, leg_timer_fired, leg, ms) < 0)
							leg->waiting = false;
					}
				}
				break;

			case SIP_ACTION_HANGUP:
				hangup(leg, a);
				break;

			case SIP_ACTION_DIAL:
				if (leg->outbound && leg->n_forks == 0 && !leg->hangup_sent)
					sip_dial_start(leg, a);
				else
					elog(LOG, "cc sip: leg %s: dial ignored (the leg is not a new outbound leg)", leg->id);
				break;

			case SIP_ACTION_CONNECT_TO_AGENT:
				sip_refer_connect_to_agent(leg, a);
				break;

			case SIP_ACTION_REFER_NOTIFY:
				sip_refer_notify_action(leg, a);
				break;

			case SIP_ACTION_MEDIA:
				{
					char	   *error = NULL;

					if (!sip_media_action(leg->id, leg->session, a, &error))
						elog(DEBUG1, "cc sip: leg %s: %s", leg->id, error);
				}
				break;

			default:
				elog(LOG, "cc sip: leg %s: action \"%s\" is not known; skipped", leg->id, a->name);
				break;
		}
	}
}

/*
 * answer_reoffer answers a re-INVITE or UPDATE: same session, new version,
 * direction mirrored; the media side learns the new remote; reports hold
 * or resume.
 */
static void
answer_reoffer(SipLeg *leg, nua_saved_event_t *saved, const char *method)
{
	nua_event_data_t const *data = nua_event_data(saved);
	sip_t const *sip = sip_object(data->e_msg);
	SipMediaChoice choice;
	char	   *offer = NULL;
	char	   *error = NULL;
	bool		was_held = leg->answered && sip_media_on_hold(&leg->media);

	if (sip && sip->sip_payload && sip->sip_payload->pl_data)
		offer = pnstrdup(sip->sip_payload->pl_data, sip->sip_payload->pl_len);
	if (offer == NULL || leg->session < 0)
	{
		/* no offer (or no media yet): our current SDP, if we have one */
		char	   *current = leg->session >= 0 ? sip_leg_sdp(leg) : NULL;

		nua_respond(leg->nh, SIP_200_OK, NUTAG_WITH_SAVED(saved),
					TAG_IF(current != NULL, SIPTAG_CONTENT_TYPE_STR("application/sdp")),
					TAG_IF(current != NULL, SIPTAG_PAYLOAD_STR(current)),
					TAG_END());
		return;
	}
	if (!sip_sdp_negotiate(offer, &choice, &error))
	{
		nua_respond(leg->nh, SIP_488_NOT_ACCEPTABLE, NUTAG_WITH_SAVED(saved),
					SIPTAG_WARNING_STR(psprintf("399 pg_callcenter \"%s\"", error)), TAG_END());
		return;
	}
	leg->media = choice;
	leg->sdp_version++;
	sip_media_update(leg->session, &choice);
	nua_respond(leg->nh, SIP_200_OK, NUTAG_WITH_SAVED(saved),
				SIPTAG_CONTENT_TYPE_STR("application/sdp"),
				SIPTAG_PAYLOAD_STR(sip_leg_sdp(leg)),
				TAG_END());
	if (sip_media_on_hold(&choice) != was_held)
		sip_leg_event(leg, false, "{\"type\":\"%s\",\"by\":\"%s\",\"mode\":\"%s\"}",
					  sip_media_on_hold(&choice) ? "hold" : "resume", method,
					  sip_media_mode_name(choice.offer_mode));
}

/* info_dtmf passes on a key of an INFO with application/dtmf-relay (callback-safe). */
static void
info_dtmf(SipLeg *leg, sip_t const *sip)
{
	char		body[256];
	const char *signal;
	const char *duration;
	char		digit[2] = {0, 0};
	char		q1[16];
	int			ms;

	if (!(sip && sip->sip_content_type && sip->sip_content_type->c_type &&
		  strcasecmp(sip->sip_content_type->c_type, "application/dtmf-relay") == 0 &&
		  sip->sip_payload && sip->sip_payload->pl_data))
		return;
	strlcpy(body, sip->sip_payload->pl_data, Min(sizeof(body), sip->sip_payload->pl_len + 1));
	signal = strcasestr(body, "Signal=");
	duration = strcasestr(body, "Duration=");
	if (signal)
	{
		signal += 7;
		while (*signal == ' ')
			signal++;
		digit[0] = *signal;
	}
	if (digit[0] == '\0' || strchr("0123456789*#ABCDabcd", digit[0]) == NULL)
		return;
	ms = duration ? atoi(duration + 9) : 0;
	if (ms < 0 || ms > 60000)
		ms = 0;
	if (leg->session >= 0)
		sip_media_dtmf_in(leg->session, digit[0], ms);
	else
		sip_leg_event(leg, false, "{\"type\":\"dtmf\",\"digit\":%s,\"duration_ms\":%d,\"via\":\"info\"}",
					  sip_json_quote(digit, q1, sizeof(q1)), ms);
}

/*
 * sip_calls_leg_callback handles nua events of a leg's dialog (an inbound
 * leg's handle, or the fork of an outbound leg that answered).  It only
 * sets flags and queues events (no palloc, no ereport, no SPI).
 */
void
sip_calls_leg_callback(nua_event_t event, int status, char const *phrase,
					   nua_t *nua, nua_handle_t *nh, SipLeg *leg,
					   sip_t const *sip, tagi_t tags[])
{
	char		q1[256];

	switch (event)
	{
		case nua_i_invite:
		case nua_i_update:
			{
				SipReoffer *r = calloc(1, sizeof(SipReoffer));

				if (r == NULL || nua_save_event(nua, r->saved) == 0)
				{
					nua_respond(nh, SIP_500_INTERNAL_SERVER_ERROR, NUTAG_WITH_THIS(nua), TAG_END());
					free(r);
					break;
				}
				r->leg = leg;
				r->method = event == nua_i_invite ? "re-INVITE" : "UPDATE";
				r->next = reoffers;
				reoffers = r;
			}
			break;

		case nua_i_info:
			info_dtmf(leg, sip);
			break;

		case nua_i_refer:
			sip_refer_received(leg, nh, sip, tags);
			break;

		case nua_i_notify:
			sip_refer_notify_received(leg, status, sip);
			break;

		case nua_r_refer:
			sip_refer_answered(leg, status, phrase);
			break;

		case nua_i_cancel:
			leg->cancelled = true;
			break;

		case nua_r_bye:
			/* a BYE we did not ask for: nua's session timer gave up on the peer */
			if (!leg->hangup_sent)
				leg->bye_seen = true;
			break;

		case nua_i_state:
			{
				int			state = nua_callstate_init;
				const char *cause;

				tl_gets(tags, NUTAG_CALLSTATE_REF(state), TAG_END());
				if (state == nua_callstate_ready && leg->answered && !leg->outbound)
					sip_leg_event(leg, false, "{\"type\":\"confirmed\"}");
				else if (state == nua_callstate_terminated && !leg->ended)
				{
					leg->ended = true;
					if (leg->end_cause)
						cause = leg->end_cause;
					else if (leg->bye_seen)
						cause = "session_timeout";
					else if (leg->cancelled && !leg->answered)
						cause = "canceled";
					else
						cause = "normal";
					sip_leg_event(leg, true,
								  "{\"type\":\"ended\",\"side\":\"%s\",\"cause\":\"%s\",\"answered\":%s,"
								  "\"status\":%d,\"reason\":%s}",
								  leg->hangup_sent || leg->bye_seen ? "local" : "remote", cause,
								  leg->answered ? "true" : "false",
								  status, sip_json_quote(phrase, q1, sizeof(q1)));
				}
			}
			break;

		default:
			break;
	}
}

/* sip_calls_callback: nua events of a handle that points at a leg. */
void
sip_calls_callback(nua_event_t event, int status, char const *phrase,
				   nua_t *nua, nua_handle_t *nh, SipLeg *leg,
				   sip_t const *sip, tagi_t tags[])
{
	sip_calls_leg_callback(event, status, phrase, nua, nh, leg, sip, tags);
}

/* sip_calls_free_dialog lets go of an inbound leg's handle and saved INVITE. */
void
sip_calls_free_dialog(SipLeg *leg)
{
	if (leg->invite_saved)
		nua_destroy_event(leg->invite);
	leg->invite_saved = false;
	if (!leg->outbound && leg->nh)
	{
		nua_handle_bind(leg->nh, NULL);
		nua_handle_destroy(leg->nh);
	}
	leg->nh = NULL;
}

/*
 * sip_calls_run_command carries out the actions of a call_actions command
 * (each names its leg).  False, with *error, when some leg is not live
 * here (the call ended, or another cc sip holds it): the other legs' actions
 * still run.
 */
bool
sip_calls_run_command(SipAction *actions, int n, char **error)
{
	int			missing;
	const char *missing_leg = NULL;

	sip_legs_apply(NULL, actions, n, &missing, &missing_leg);
	if (missing > 0)
	{
		*error = psprintf("leg %s is not live (the call ended or is not on this cc sip); "
						  "%d of %d action(s) not carried out", missing_leg, missing, n);
		return false;
	}
	return true;
}

/* run_if_ready resumes a leg's actions, and looks at its forks. */
static void
run_if_ready(SipLeg *leg)
{
	if (leg->dial_dirty)
		sip_dial_process(leg);
	if (!leg->ended && !leg->waiting && leg->next_action < leg->n_actions)
		sip_calls_run_actions(leg);
}

/*
 * sip_calls_process, once per loop turn: answers re-offers, looks at the
 * forks of outbound legs, reports the queued events in one transaction,
 * frees legs that ended, and resumes the actions of every leg that is not
 * waiting.
 */
void
sip_calls_process(void)
{
	while (reoffers)
	{
		SipReoffer *r = reoffers;

		reoffers = r->next;
		if (!r->leg->ended)
			answer_reoffer(r->leg, r->saved, r->method);
		nua_destroy_event(r->saved);
		free(r);
	}
	sip_legs_foreach_ready(run_if_ready);
	sip_legs_report();
	sip_legs_foreach_ready(run_if_ready);
}

/*
 * sip_calls_run_ready starts the actions that this turn's timers and
 * commands handed to legs (a queue's dial, a wrap-up's end), so they do not
 * wait for the next turn, which may first sleep SIP_STEP_MS in
 * su_root_step (a cc.hangup()'s BYE leaves in the turn that claimed it).
 * Their events are reported by the next sip_calls_process.
 */
void
sip_calls_run_ready(void)
{
	sip_legs_foreach_ready(run_if_ready);
}

/* hangup_at_shutdown is sip_calls_shutdown's work on one leg. */
static void
hangup_at_shutdown(SipLeg *leg)
{
	if (leg->answered && !leg->hangup_sent)
		nua_bye(leg->nh, SIPTAG_REASON_STR("SIP;cause=503;text=\"pg_callcenter shutting down\""), TAG_END());
	else if (leg->invite_saved)
		nua_respond(leg->nh, SIP_503_SERVICE_UNAVAILABLE, NUTAG_WITH_SAVED(leg->invite),
					SIPTAG_RETRY_AFTER_STR("5"), TAG_END());
	else if (leg->outbound && !leg->answered)
		sip_dial_cancel(leg);
}

/* sip_calls_shutdown hangs up every leg as the worker stops. */
void
sip_calls_shutdown(void)
{
	sip_legs_foreach_live(hangup_at_shutdown);
}
