/*
 * sip_calls.c
 *		Call legs in cc sip.
 *
 * A leg is created when the decisions accept a new INVITE.  It then runs
 * the actions they returned, in order: answer (200 with our SDP), ring,
 * wait (an su_timer), hangup (BYE, or a final error before answer); media
 * actions wait for the media engine.  What happens on the leg (answered,
 * DTMF by INFO, hold by re-INVITE, ended) is reported to cc.call_event(),
 * which may return new actions.
 *
 * Callbacks (nua's and the timers') only set flags and queue malloc'd
 * events; sip_calls_process() runs in the loop, reports the events in one
 * transaction, and acts after the commit.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/ilist.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/memutils.h"

#include "guc.h"
#include "shmem.h"
#include "sip_calls.h"
#include "sip_media.h"
#include "sip_stack.h"
#include "worker_common.h"

#define LEG_EVENT_MAX_TRIES 3

struct SipLeg
{
	SipHandleMagic magic;		/* kind SIP_HANDLE_LEG: the handle points here */
	char		id[37];			/* cc.legs.id */
	char		call_id[37];	/* cc.calls.id */
	nua_handle_t *nh;
	nua_saved_event_t invite[1];	/* the INVITE, until its final response */
	bool		invite_saved;
	bool		answered;
	bool		hangup_sent;	/* we sent BYE or the final error */
	bool		cancelled;		/* the caller sent CANCEL */
	bool		ended;			/* nua says the dialog is over */
	int			session;		/* media session index, or -1 */
	SipMediaChoice media;
	unsigned long sdp_version;
	SipAction  *actions;
	int			n_actions;
	int			next_action;
	su_timer_t *timer;
	bool		waiting;		/* a wait action's timer runs */
	const char *wait_tag;		/* its tag: a wait_done event follows */
	dlist_node	node;
};

/* Something that happened on a leg, queued by a callback. */
typedef struct SipLegEvent
{
	struct SipLegEvent *next;
	SipLeg	   *leg;
	char	   *json;			/* malloc'd JSON object, e.g. {"type":"dtmf",...} */
	bool		ends_leg;
	int			tries;
} SipLegEvent;

static MemoryContext legs_context = NULL;
static dlist_head legs = DLIST_STATIC_INIT(legs);
static SipLegEvent *events_head = NULL;
static SipLegEvent **events_tail = &events_head;

static void queue_event(SipLeg *leg, bool ends_leg, const char *fmt,...) pg_attribute_printf(3, 4);
static void leg_timer_fired(su_root_magic_t *magic, su_timer_t *timer, su_timer_arg_t *arg);
static void run_actions(SipLeg *leg);
static bool answer_leg(SipLeg *leg);
static void answer_reoffer(SipLeg *leg, nua_saved_event_t *saved, const char *method);
static void free_leg(SipLeg *leg);
static SipLeg *find_leg(const char *leg_id);
static void report_events(void *arg);
static void give_actions(SipLeg *leg, SipAction *actions, int n);
static void apply_actions(SipLeg *default_leg, SipAction *actions, int n, int *missing, const char **missing_leg);
static const char *local_ip(void);
static char *leg_sdp(SipLeg *leg);
static const char *json_quote(const char *s, char *buf, size_t size);

/* sip_calls_init prepares the memory of the legs. */
void
sip_calls_init(void)
{
	legs_context = AllocSetContextCreate(TopMemoryContext, "cc sip legs", ALLOCSET_DEFAULT_SIZES);
	cc_session_release_all();
}

/*
 * json_quote quotes s as a JSON string into buf without palloc (callbacks
 * use it); control characters become spaces, and a value that does not fit
 * is cut.
 */
static const char *
json_quote(const char *s, char *buf, size_t size)
{
	size_t		o = 0;

	if (size < 3)
		return "\"\"";
	buf[o++] = '"';
	for (; s && *s && o + 3 < size; s++)
	{
		unsigned char ch = (unsigned char) *s;

		if (ch == '"' || ch == '\\')
		{
			buf[o++] = '\\';
			buf[o++] = ch;
		}
		else
			buf[o++] = ch < 0x20 ? ' ' : ch;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

/* queue_event appends an event of leg, as JSON, for the next report (callback-safe). */
static void
queue_event(SipLeg *leg, bool ends_leg, const char *fmt,...)
{
	SipLegEvent *ev = calloc(1, sizeof(SipLegEvent));
	char		json[2048];
	va_list		args;

	if (ev == NULL)
		return;
	va_start(args, fmt);
	vsnprintf(json, sizeof(json), fmt, args);
	va_end(args);
	ev->leg = leg;
	ev->json = strdup(json);
	ev->ends_leg = ends_leg;
	*events_tail = ev;
	events_tail = &ev->next;
}

/* local_ip is the address we put in SDP: cc.rtp_ip, or the host of cc.sip_listen. */
static const char *
local_ip(void)
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

/* leg_sdp is our SDP for a leg: its media session, its agreed media, its version. */
static char *
leg_sdp(SipLeg *leg)
{
	return sip_sdp_answer(local_ip(), sip_media_local_port(leg->session), &leg->media,
						  (unsigned long) leg->session + 1, leg->sdp_version);
}

/*
 * sip_calls_parse_actions reads a decision's actions into the legs' memory
 * (they outlive the transaction that produced them).  In a transaction.
 */
SipAction *
sip_calls_parse_actions(const char *json, int *count)
{
	return sip_actions_parse(json, count, legs_context);
}

/* find_leg returns the live leg with this id, or NULL. */
static SipLeg *
find_leg(const char *leg_id)
{
	dlist_iter	iter;

	if (leg_id == NULL)
		return NULL;
	dlist_foreach(iter, &legs)
	{
		SipLeg	   *leg = dlist_container(SipLeg, node, iter.cur);

		if (strcmp(leg->id, leg_id) == 0)
			return leg;
	}
	return NULL;
}

/* sip_calls_session_of is the media session of a live leg, or -1. */
int
sip_calls_session_of(const char *leg_id)
{
	SipLeg	   *leg = find_leg(leg_id);

	return leg && !leg->ended ? leg->session : -1;
}

/*
 * sip_calls_media_event queues an event the media side reported for a
 * session, on the leg that holds it; dropped if no live leg does.
 */
void
sip_calls_media_event(int session, uint32 generation, const char *json)
{
	dlist_iter	iter;

	dlist_foreach(iter, &legs)
	{
		SipLeg	   *leg = dlist_container(SipLeg, node, iter.cur);

		if (leg->session == session && !leg->ended)
		{
			queue_event(leg, false, "%s", json);
			return;
		}
	}
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
	SipLeg	   *leg = MemoryContextAllocZero(legs_context, sizeof(SipLeg));

	leg->magic.kind = SIP_HANDLE_LEG;
	strlcpy(leg->id, leg_id, sizeof(leg->id));
	strlcpy(leg->call_id, call_id, sizeof(leg->call_id));
	leg->nh = nh;
	memcpy(leg->invite, invite, sizeof(nua_saved_event_t));
	leg->invite_saved = true;
	leg->session = -1;
	dlist_push_tail(&legs, &leg->node);
	nua_handle_bind(nh, &leg->magic);
	{
		int			missing;
		const char *missing_leg = NULL;

		apply_actions(leg, actions, n_actions, &missing, &missing_leg);
		if (missing > 0)
			elog(LOG, "cc sip: %d first action(s) of leg %s are for leg %s, which is not live here",
				 missing, leg->id, missing_leg);
	}
	run_actions(leg);
}

/* leg_timer_fired ends a wait action; the loop resumes the leg. */
static void
leg_timer_fired(su_root_magic_t *magic, su_timer_t *timer, su_timer_arg_t *arg)
{
	SipLeg	   *leg = (SipLeg *) arg;
	char		q1[256];

	leg->waiting = false;
	if (leg->wait_tag != NULL)
		queue_event(leg, false, "{\"type\":\"wait_done\",\"tag\":%s}",
					json_quote(leg->wait_tag, q1, sizeof(q1)));
}

/*
 * answer_leg answers the saved INVITE with 200 and our SDP on a new media
 * session; 488 if the offer has nothing we carry, 503 if no media session
 * is free.  Reports answered or failed.
 */
static bool
answer_leg(SipLeg *leg)
{
	nua_event_data_t const *data = nua_event_data(leg->invite);
	sip_t const *sip = sip_object(data->e_msg);
	char	   *offer = NULL;
	char	   *error = NULL;
	char	   *sdp;
	char		q1[256];

	if (sip && sip->sip_payload && sip->sip_payload->pl_data)
		offer = pnstrdup(sip->sip_payload->pl_data, sip->sip_payload->pl_len);
	if (!sip_sdp_negotiate(offer, &leg->media, &error))
	{
		nua_respond(leg->nh, SIP_488_NOT_ACCEPTABLE, NUTAG_WITH_SAVED(leg->invite),
					SIPTAG_WARNING_STR(psprintf("399 pg_callcenter \"%s\"", error)), TAG_END());
		queue_event(leg, false, "{\"type\":\"failed\",\"code\":488,\"reason\":%s}",
					json_quote(error, q1, sizeof(q1)));
		leg->hangup_sent = true;
		return false;
	}
	leg->session = sip_media_open(leg->id, &leg->media, &error);
	if (leg->session < 0)
	{
		nua_respond(leg->nh, SIP_503_SERVICE_UNAVAILABLE, NUTAG_WITH_SAVED(leg->invite),
					SIPTAG_RETRY_AFTER_STR("5"), TAG_END());
		queue_event(leg, false, "{\"type\":\"failed\",\"code\":503,\"reason\":%s}",
					json_quote(error, q1, sizeof(q1)));
		leg->hangup_sent = true;
		return false;
	}
	leg->sdp_version = 1;
	sdp = leg_sdp(leg);
	nua_respond(leg->nh, SIP_200_OK, NUTAG_WITH_SAVED(leg->invite),
				SIPTAG_CONTENT_TYPE_STR("application/sdp"),
				SIPTAG_PAYLOAD_STR(sdp), TAG_END());
	leg->answered = true;
	queue_event(leg, false,
				"{\"type\":\"answered\",\"codec\":\"%s\",\"remote_rtp\":\"%s:%d\",\"local_rtp_port\":%d,\"dtmf_pt\":%d}",
				leg->media.codec_name, leg->media.remote_ip, leg->media.remote_port,
				sip_media_local_port(leg->session), leg->media.dtmf_pt);
	return true;
}

/* run_actions carries out the leg's actions until one waits or the leg ends. */
static void
run_actions(SipLeg *leg)
{
	while (!leg->waiting && !leg->ended && leg->next_action < leg->n_actions)
	{
		SipAction  *a = &leg->actions[leg->next_action++];

		switch (a->type)
		{
			case SIP_ACTION_ANSWER:
				if (leg->invite_saved && !leg->answered && !leg->hangup_sent)
				{
					answer_leg(leg);
					nua_destroy_event(leg->invite);
					leg->invite_saved = false;
				}
				break;

			case SIP_ACTION_RING:
				if (leg->invite_saved && !leg->hangup_sent)
					nua_respond(leg->nh, SIP_180_RINGING, NUTAG_WITH_SAVED(leg->invite), TAG_END());
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
				{
					int			code = 0;
					char	   *reason = sip_action_str(a, "reason");
					char	   *headers = sip_action_headers(a, "headers");

					if (headers == NULL)
						headers = sip_action_headers(a, "channel_options.voice_telephony.sip.headers");
					if (leg->hangup_sent)
						break;
					leg->hangup_sent = true;
					if (leg->answered)
						nua_bye(leg->nh, TAG_IF(headers != NULL, SIPTAG_HEADER_STR(headers)), TAG_END());
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
				break;

			case SIP_ACTION_MEDIA:
				{
					char	   *error = NULL;

					if (!sip_media_action(leg->id, leg->session, a, &error))
						elog(DEBUG1, "cc sip: leg %s: %s", leg->id, error);
				}
				break;

			default:
				elog(LOG, "cc sip: leg %s: action \"%s\" is not carried out yet", leg->id, a->name);
				break;
		}
	}
}

/*
 * answer_reoffer answers a re-INVITE or UPDATE: same session, new version,
 * direction mirrored; reports hold or resume.
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
		char	   *current = leg->session >= 0 ? leg_sdp(leg) : NULL;

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
	nua_respond(leg->nh, SIP_200_OK, NUTAG_WITH_SAVED(saved),
				SIPTAG_CONTENT_TYPE_STR("application/sdp"),
				SIPTAG_PAYLOAD_STR(leg_sdp(leg)),
				TAG_END());
	if (sip_media_on_hold(&choice) != was_held)
		queue_event(leg, false, "{\"type\":\"%s\",\"by\":\"%s\",\"mode\":\"%s\"}",
					sip_media_on_hold(&choice) ? "hold" : "resume", method,
					sip_media_mode_name(choice.offer_mode));
}

/* A re-offer waiting for the loop (nua_save_event needs no palloc, but answering does). */
typedef struct SipReoffer
{
	struct SipReoffer *next;
	SipLeg	   *leg;
	nua_saved_event_t saved[1];
	const char *method;
} SipReoffer;

static SipReoffer *reoffers = NULL;

/*
 * sip_calls_callback handles nua events of our legs.  It only sets flags
 * and queues events (no palloc, no ereport, no SPI).
 */
void
sip_calls_callback(nua_event_t event, int status, char const *phrase,
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
			if (sip && sip->sip_content_type && sip->sip_content_type->c_type &&
				strcasecmp(sip->sip_content_type->c_type, "application/dtmf-relay") == 0 &&
				sip->sip_payload && sip->sip_payload->pl_data)
			{
				char		body[256];
				const char *signal;
				const char *duration;
				char		digit[2] = {0, 0};

				strlcpy(body, sip->sip_payload->pl_data,
						Min(sizeof(body), sip->sip_payload->pl_len + 1));
				signal = strcasestr(body, "Signal=");
				duration = strcasestr(body, "Duration=");
				if (signal)
				{
					signal += 7;
					while (*signal == ' ')
						signal++;
					digit[0] = *signal;
				}
				if (digit[0] && strchr("0123456789*#ABCDabcd", digit[0]))
				{
					if (leg->session >= 0)
						sip_media_dtmf_in(leg->session, digit[0], duration ? atoi(duration + 9) : 0);
					else
						queue_event(leg, false, "{\"type\":\"dtmf\",\"digit\":%s,\"duration_ms\":%d,\"via\":\"info\"}",
									json_quote(digit, q1, sizeof(q1)), duration ? atoi(duration + 9) : 0);
				}
			}
			break;

		case nua_i_cancel:
			leg->cancelled = true;
			break;

		case nua_i_state:
			{
				int			state = nua_callstate_init;

				tl_gets(tags, NUTAG_CALLSTATE_REF(state), TAG_END());
				if (state == nua_callstate_ready && leg->answered)
					queue_event(leg, false, "{\"type\":\"confirmed\"}");
				else if (state == nua_callstate_terminated && !leg->ended)
				{
					leg->ended = true;
					queue_event(leg, true,
								"{\"type\":\"ended\",\"side\":\"%s\",\"cancelled\":%s,\"answered\":%s,\"status\":%d,\"reason\":%s}",
								leg->hangup_sent ? "local" : "remote",
								leg->cancelled ? "true" : "false",
								leg->answered ? "true" : "false",
								status, json_quote(phrase, q1, sizeof(q1)));
				}
			}
			break;

		default:
			break;
	}
}

/* free_leg lets go of everything a leg holds. */
static void
free_leg(SipLeg *leg)
{
	if (leg->timer)
		su_timer_destroy(leg->timer);
	if (leg->invite_saved)
		nua_destroy_event(leg->invite);
	if (leg->session >= 0)
		sip_media_close(leg->session);
	nua_handle_bind(leg->nh, NULL);
	nua_handle_destroy(leg->nh);
	dlist_delete(&leg->node);
	pfree(leg);
}

/*
 * give_actions replaces the actions a leg has not started yet by the given
 * ones (a running wait is cancelled); they run at the next turn.
 */
static void
give_actions(SipLeg *leg, SipAction *actions, int n)
{
	leg->actions = actions;
	leg->n_actions = n;
	leg->next_action = 0;
	leg->waiting = false;
	leg->wait_tag = NULL;
	if (leg->timer)
		su_timer_reset(leg->timer);
}

/*
 * apply_actions hands each action to the leg it names (its "leg"), or to
 * default_leg when it names none, keeping their order per leg.  Actions for
 * a leg that is not live here are counted in *missing and their first
 * such leg id returned in *missing_leg (for the caller to report).
 */
static void
apply_actions(SipLeg *default_leg, SipAction *actions, int n, int *missing, const char **missing_leg)
{
	bool	   *done = palloc0(sizeof(bool) * Max(n, 1));
	int			i;

	*missing = 0;
	for (i = 0; i < n; i++)
	{
		const char *target = actions[i].leg;
		SipLeg	   *leg = target ? find_leg(target) : default_leg;
		SipAction  *mine;
		int			count = 0;
		int			j;

		if (done[i])
			continue;
		if (leg == NULL || leg->ended)
		{
			/* every action for that leg is lost; say so once */
			for (j = i; j < n; j++)
				if (!done[j] && ((target && actions[j].leg && strcmp(actions[j].leg, target) == 0) ||
								 (!target && !actions[j].leg)))
				{
					done[j] = true;
					(*missing)++;
				}
			if (*missing_leg == NULL)
				*missing_leg = target ? target : "(the event's leg)";
			continue;
		}
		mine = MemoryContextAlloc(legs_context, sizeof(SipAction) * n);
		for (j = i; j < n; j++)
		{
			SipLeg	   *other = actions[j].leg ? find_leg(actions[j].leg) : default_leg;

			if (!done[j] && other == leg)
			{
				mine[count++] = actions[j];
				done[j] = true;
			}
		}
		give_actions(leg, mine, count);
	}
	pfree(done);
}

/*
 * report_events tells cc.call_event() what happened on each leg; the
 * actions it returns go to the legs they name (by default the event's).
 */
static void
report_events(void *arg)
{
	SipLegEvent *ev;

	for (ev = (SipLegEvent *) arg; ev; ev = ev->next)
	{
		Datum		values[2];
		int			ret;
		char	   *actions_json;
		int			n;
		int			missing;
		const char *missing_leg = NULL;
		SipAction  *actions;

		values[0] = DirectFunctionCall1(uuid_in, CStringGetDatum(ev->leg->id));
		values[1] = CStringGetTextDatum(ev->json);
		ret = SPI_execute_with_args("SELECT cc.call_event($1, $2::jsonb)::text", 2,
									(Oid[]) {UUIDOID, TEXTOID}, values, NULL, false, 1);
		if (ret != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "cc.call_event failed: %d", ret);
		actions_json = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		actions = sip_calls_parse_actions(actions_json, &n);
		if (n == 0)
			continue;
		/* an ending leg takes no more actions; the others may */
		apply_actions(ev->ends_leg ? NULL : ev->leg, actions, n, &missing, &missing_leg);
		if (missing > 0 && !ev->ends_leg)
			elog(LOG, "cc sip: %d action(s) after event %s of leg %s are for leg %s, which is not live here",
				 missing, ev->json, ev->leg->id, missing_leg);
	}
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

	apply_actions(NULL, actions, n, &missing, &missing_leg);
	if (missing > 0)
	{
		*error = psprintf("leg %s is not live (the call ended or is not on this cc sip); "
						  "%d of %d action(s) not carried out", missing_leg, missing, n);
		return false;
	}
	return true;
}

/*
 * sip_calls_process, once per loop turn: answers re-offers, reports the
 * queued events in one transaction, frees legs that ended, and resumes the
 * actions of every leg that is not waiting.
 */
void
sip_calls_process(void)
{
	SipLegEvent *batch;
	SipLegEvent *ev;
	SipLegEvent *keep = NULL;
	dlist_mutable_iter iter;

	while (reoffers)
	{
		SipReoffer *r = reoffers;

		reoffers = r->next;
		if (!r->leg->ended)
			answer_reoffer(r->leg, r->saved, r->method);
		nua_destroy_event(r->saved);
		free(r);
	}

	batch = events_head;
	events_head = NULL;
	events_tail = &events_head;
	if (batch != NULL)
	{
		bool		ok = cc_worker_transaction("cc sip: call events", report_events, batch);

		while (batch)
		{
			ev = batch;
			batch = ev->next;
			if (!ok && ++ev->tries < LEG_EVENT_MAX_TRIES)
			{
				ev->next = keep;
				keep = ev;
				continue;
			}
			if (!ok)
				ereport(LOG, (errmsg("cc sip: dropping event %s of leg %s after %d tries; "
									 "the leg is reconciled when cc sip restarts",
									 ev->json, ev->leg->id, ev->tries)));
			if (ev->ends_leg)
				free_leg(ev->leg);
			free(ev->json);
			free(ev);
		}
		/* put back, oldest first, what is to be tried again */
		while (keep)
		{
			ev = keep;
			keep = ev->next;
			ev->next = events_head;
			events_head = ev;
			if (events_tail == &events_head)
				events_tail = &ev->next;
		}
	}

	dlist_foreach_modify(iter, &legs)
	{
		SipLeg	   *leg = dlist_container(SipLeg, node, iter.cur);

		if (!leg->ended && !leg->waiting && leg->next_action < leg->n_actions)
			run_actions(leg);
	}
}

/* sip_calls_shutdown hangs up every answered leg as the worker stops. */
void
sip_calls_shutdown(void)
{
	dlist_iter	iter;

	dlist_foreach(iter, &legs)
	{
		SipLeg	   *leg = dlist_container(SipLeg, node, iter.cur);

		if (leg->answered && !leg->hangup_sent && !leg->ended)
			nua_bye(leg->nh, SIPTAG_REASON_STR("SIP;cause=503;text=\"pg_callcenter shutting down\""), TAG_END());
		else if (leg->invite_saved)
			nua_respond(leg->nh, SIP_503_SERVICE_UNAVAILABLE, NUTAG_WITH_SAVED(leg->invite),
						SIPTAG_RETRY_AFTER_STR("5"), TAG_END());
	}
}
