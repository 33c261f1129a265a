/*
 * sip_dial.c
 *		Outbound legs: the dial action.
 *
 * A dial INVITEs each of its targets at once (a fork per target, each its
 * own nua handle) with our SDP offer on a media session opened first.  The
 * first fork to answer wins: it becomes the leg's dialog, the others are
 * cancelled (or, if they answered too, sent BYE).  A ring timeout cancels
 * every fork; when all forks have failed the leg fails with the best final
 * response (cc.leg_cause turns its code into a cause).  Through a trunk,
 * cc sip takes the trunk's address, proxy and credentials from its own copy
 * of cc.trunks (sip_trunks.c), never from the action, and answers 401/407
 * challenges once per fork.
 *
 * The nua callback only records what a fork got (malloc'd copies) and
 * marks the leg; sip_dial_process() decides in the loop.
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "sip_legs.h"
#include "sip_media.h"
#include "sip_stack.h"
#include "sip_trunks.h"

static void ring_timer_fired(su_root_magic_t *magic, su_timer_t *timer, su_timer_arg_t *arg);
static void dial_failed(SipLeg *leg, int code, const char *cause, const char *reason);
static char *target_uri(const SipAction *a, int i, const SipTrunk *trunk);
static void choose_winner(SipLeg *leg, SipFork *winner);
static int	status_rank(int status);
static char *strdup_n(const char *s, size_t n);

/* strdup_n is strndup that tolerates NULL (callback-safe: malloc). */
static char *
strdup_n(const char *s, size_t n)
{
	return s ? strndup(s, n) : NULL;
}

/* dial_failed reports that the leg failed before anyone answered; the leg ends. */
static void
dial_failed(SipLeg *leg, int code, const char *cause, const char *reason)
{
	char		q1[256];
	char		q2[256];

	leg->ended = true;
	if (cause)
		sip_leg_event(leg, true, "{\"type\":\"failed\",\"code\":%d,\"cause\":\"%s\",\"reason\":%s,\"tag\":%s}",
					  code, cause, sip_json_quote(reason, q1, sizeof(q1)),
					  sip_json_quote(leg->dial_tag, q2, sizeof(q2)));
	else
		sip_leg_event(leg, true, "{\"type\":\"failed\",\"code\":%d,\"reason\":%s,\"tag\":%s}",
					  code, sip_json_quote(reason, q1, sizeof(q1)),
					  sip_json_quote(leg->dial_tag, q2, sizeof(q2)));
}

/*
 * target_uri is the Request-URI of the i-th target: its "uri", or its
 * "number" at the trunk's server (register_out) or first peer address
 * (peering).  NULL when neither gives one.
 */
static char *
target_uri(const SipAction *a, int i, const SipTrunk *trunk)
{
	char		path[64];
	char	   *uri;
	char	   *number;

	snprintf(path, sizeof(path), "targets.%d.uri", i);
	uri = sip_action_str(a, path);
	if (uri != NULL)
		return uri;
	snprintf(path, sizeof(path), "targets.%d.number", i);
	number = sip_action_str(a, path);
	if (number == NULL || trunk == NULL || trunk->host == NULL)
		return NULL;
	return psprintf("sip:%s@%s:%d;transport=%s", number, trunk->host, trunk->port, trunk->transport);
}

/*
 * sip_dial_start carries out a dial on a new outbound leg: media session,
 * SDP offer, one INVITE per target, the ring timer.  Problems that stop the
 * dial before anything is sent are reported as failed.
 */
void
sip_dial_start(SipLeg *leg, const SipAction *a)
{
	char	   *trunk_id = sip_action_str(a, "trunk");
	const SipTrunk *trunk = NULL;
	int			n = sip_action_length(a, "targets");
	int			ring_ms = 0;
	char	   *from_uri = sip_action_str(a, "from.uri");
	char	   *from_display = sip_action_str(a, "from.display");
	char	   *to = sip_action_str(a, "to");
	char	   *headers = sip_action_headers(a, "headers");
	char	   *from = NULL;
	char	   *route = NULL;
	char	   *error = NULL;
	char	   *sdp;
	int			session;
	int			i;
	MemoryContext old;
	char		q1[512];
	char		q2[512];

	if (a->tag)
		leg->dial_tag = MemoryContextStrdup(leg->context, a->tag);
	if (trunk_id != NULL)
	{
		trunk = sip_trunk_find(trunk_id);
		if (trunk == NULL)
		{
			dial_failed(leg, 0, "unavailable", psprintf("trunk %s is not known to cc sip or not enabled", trunk_id));
			return;
		}
		if (trunk->username && trunk->password)
		{
			leg->auth_user = MemoryContextStrdup(leg->context, trunk->username);
			leg->auth_pass = MemoryContextStrdup(leg->context, trunk->password);
		}
		if (trunk->outbound_proxy)
			route = psprintf("<sip:%s;lr>", trunk->outbound_proxy);
		if (from_uri == NULL && trunk->username && trunk->host)
			from_uri = psprintf("sip:%s@%s", trunk->username, trunk->host);
	}
	if (n <= 0)
	{
		dial_failed(leg, 0, "not_found", "dial without targets");
		return;
	}
	if (from_uri != NULL)
		from = from_display ? psprintf("\"%s\" <%s>", from_display, from_uri) : psprintf("<%s>", from_uri);

	session = sip_media_open(leg->id, NULL, &error);
	if (session < 0)
	{
		dial_failed(leg, 503, "unavailable", error);
		return;
	}
	sip_leg_set_session(leg, session);
	leg->sdp_version = 1;
	sdp = sip_sdp_offer(sip_local_ip(), sip_media_local_port(session), (unsigned long) session + 1, 1);

	old = MemoryContextSwitchTo(leg->context);
	leg->forks = palloc0(sizeof(SipFork *) * n);
	MemoryContextSwitchTo(old);
	for (i = 0; i < n; i++)
	{
		char	   *uri = target_uri(a, i, trunk);
		SipFork    *fork;

		if (uri == NULL || strncmp(uri, "sip", 3) != 0)
		{
			elog(LOG, "cc sip: leg %s: dial target %d has no SIP URI (or number with a trunk); skipped", leg->id, i);
			continue;
		}
		fork = MemoryContextAllocZero(leg->context, sizeof(SipFork));
		fork->magic.kind = SIP_HANDLE_FORK;
		fork->leg = leg;
		fork->target = MemoryContextStrdup(leg->context, uri);
		fork->nh = nua_handle(sip_nua, &fork->magic, NUTAG_URL(uri),
							  SIPTAG_TO_STR(to ? to : uri),
							  TAG_IF(from != NULL, SIPTAG_FROM_STR(from)),
							  TAG_IF(route != NULL, NUTAG_INITIAL_ROUTE_STR(route)),
							  TAG_END());
		if (fork->nh == NULL)
		{
			elog(LOG, "cc sip: leg %s: sofia-sip refused a handle for %s", leg->id, uri);
			continue;
		}
		leg->forks[leg->n_forks++] = fork;
		nua_invite(fork->nh,
				   SIPTAG_CONTENT_TYPE_STR("application/sdp"),
				   SIPTAG_PAYLOAD_STR(sdp),
				   TAG_IF(headers != NULL, SIPTAG_HEADER_STR(headers)),
				   TAG_END());
	}
	if (leg->n_forks == 0)
	{
		dial_failed(leg, 0, "not_found", "no dial target could be sent to");
		return;
	}
	if (sip_action_int(a, "ring_timeout_ms", &ring_ms) && ring_ms > 0)
	{
		leg->ring_timer = su_timer_create(su_root_task(sip_root), ring_ms);
		if (leg->ring_timer)
			su_timer_set(leg->ring_timer, ring_timer_fired, leg);
	}
	sip_leg_event(leg, false, "{\"type\":\"dialing\",\"forks\":%d,\"trunk\":%s,\"sip\":{\"from\":%s,\"to\":%s,\"transport\":\"%s\"}}",
				  leg->n_forks, trunk ? psprintf("\"%s\"", trunk->id) : "null",
				  sip_json_quote(from_uri ? from_uri : "", q1, sizeof(q1)),
				  sip_json_quote(to ? to : leg->forks[0]->target, q2, sizeof(q2)),
				  trunk ? trunk->transport : "udp");
}

/* ring_timer_fired: nobody answered in time; every fork is cancelled (callback). */
static void
ring_timer_fired(su_root_magic_t *magic, su_timer_t *timer, su_timer_arg_t *arg)
{
	SipLeg	   *leg = (SipLeg *) arg;

	if (leg->answered || leg->ended)
		return;
	leg->ring_timed_out = true;
	sip_dial_cancel(leg);
}

/* sip_dial_cancel sends CANCEL on every fork still ringing (callback-safe). */
void
sip_dial_cancel(SipLeg *leg)
{
	int			i;

	for (i = 0; i < leg->n_forks; i++)
	{
		SipFork    *f = leg->forks[i];

		if (!f->done && !f->answered && !f->cancelled)
		{
			f->cancelled = true;
			nua_cancel(f->nh, TAG_END());
		}
	}
	leg->dial_dirty = true;
	sip_legs_mark_ready();
}

/*
 * sip_dial_callback handles nua events of a fork.  The fork that answered
 * is the leg's dialog: its events go to sip_calls_leg_callback.  Otherwise
 * it records responses (no palloc) and answers a challenge with the
 * trunk's credentials, once.
 */
void
sip_dial_callback(nua_event_t event, int status, char const *phrase,
				  nua_t *nua, nua_handle_t *nh, SipFork *fork,
				  sip_t const *sip, tagi_t tags[])
{
	SipLeg	   *leg = fork->leg;
	char		q1[128];

	if (leg->answered && leg->nh == nh)
	{
		sip_calls_leg_callback(event, status, phrase, nua, nh, leg, sip, tags);
		return;
	}
	switch (event)
	{
		case nua_r_invite:
			if (sip && sip->sip_call_id && fork->call_id == NULL)
				fork->call_id = strdup(sip->sip_call_id->i_id);
			if ((status == 401 || status == 407) && !fork->auth_tried && leg->auth_user && sip)
			{
				msg_auth_t const *au = status == 401 ? (msg_auth_t const *) sip->sip_www_authenticate
					: (msg_auth_t const *) sip->sip_proxy_authenticate;
				char const *realm = au ? msg_params_find(au->au_params, "realm=") : NULL;
				char		cred[512];

				if (au && realm)
				{
					fork->auth_tried = true;
					snprintf(cred, sizeof(cred), "%s:%s:%s:%s", au->au_scheme, realm,
							 leg->auth_user, leg->auth_pass);
					nua_authenticate(nh, NUTAG_AUTH(cred), TAG_END());
					return;
				}
			}
			if ((status == 180 || status == 183) && !leg->ringing_reported[status == 183])
			{
				leg->ringing_reported[status == 183] = true;
				sip_leg_event(leg, false, "{\"type\":\"ringing\",\"code\":%d,\"tag\":%s}", status,
							  sip_json_quote(leg->dial_tag, q1, sizeof(q1)));
			}
			if (status >= 200 && status < 300 && !fork->answered)
			{
				fork->answered = true;
				if (sip && sip->sip_payload && sip->sip_payload->pl_data)
					fork->answer_sdp = strdup_n(sip->sip_payload->pl_data, sip->sip_payload->pl_len);
				if (sip && sip->sip_contact)
				{
					url_t const *u = sip->sip_contact->m_url;
					char		buf[512];

					snprintf(buf, sizeof(buf), "sip:%s%s%s%s%s", u->url_user ? u->url_user : "",
							 u->url_user ? "@" : "", u->url_host ? u->url_host : "",
							 u->url_port ? ":" : "", u->url_port ? u->url_port : "");
					fork->contact = strdup(buf);
				}
				leg->dial_dirty = true;
				sip_legs_mark_ready();
			}
			else if (status >= 300)
			{
				fork->status = status;
				strlcpy(fork->phrase, phrase ? phrase : "", sizeof(fork->phrase));
				leg->dial_dirty = true;
				sip_legs_mark_ready();
			}
			break;

		case nua_i_state:
			{
				int			state = nua_callstate_init;

				tl_gets(tags, NUTAG_CALLSTATE_REF(state), TAG_END());
				if (state == nua_callstate_terminated)
				{
					fork->done = true;
					if (!fork->answered && fork->status == 0)
					{
						fork->status = status >= 300 ? status : 408;
						strlcpy(fork->phrase, phrase ? phrase : "", sizeof(fork->phrase));
					}
					leg->dial_dirty = true;
					sip_legs_mark_ready();
				}
			}
			break;

		default:
			break;
	}
}

/* status_rank orders final responses as RFC 3261 16.7 prefers them (higher wins). */
static int
status_rank(int status)
{
	if (status >= 600)
		return 5;
	if (status == 486)
		return 4;
	if (status >= 400 && status != 487 && status != 408)
		return 3;
	if (status >= 500)
		return 2;
	if (status == 408)
		return 1;
	return 0;
}

/*
 * choose_winner makes an answered fork the leg's dialog: its SDP answer
 * goes to the media session, the other forks are cancelled, answered is
 * reported with the dialog's facts.
 */
static void
choose_winner(SipLeg *leg, SipFork *winner)
{
	char	   *error = NULL;
	int			i;
	char		q1[512];
	char		q2[512];
	char		q3[256];
	char		q4[128];

	leg->nh = winner->nh;
	leg->answered = true;
	leg->answered_target = winner->target;
	if (leg->ring_timer)
		su_timer_reset(leg->ring_timer);
	for (i = 0; i < leg->n_forks; i++)
	{
		SipFork    *f = leg->forks[i];

		if (f == winner || f->cancelled)
			continue;
		f->cancelled = true;
		if (f->answered && !f->done)
			nua_bye(f->nh, TAG_END());
		else if (!f->done)
			nua_cancel(f->nh, TAG_END());
	}
	if (!sip_sdp_negotiate(winner->answer_sdp, &leg->media, &error))
	{
		/* we offered; an answer we cannot use ends the call */
		leg->end_cause = "media_refused";
		leg->hangup_sent = true;
		nua_bye(leg->nh, SIPTAG_REASON_STR("SIP;cause=488;text=\"no usable SDP answer\""), TAG_END());
		elog(LOG, "cc sip: leg %s: answer from %s has no usable SDP: %s", leg->id, winner->target, error);
		return;
	}
	sip_media_update(leg->session, &leg->media);
	sip_leg_event(leg, false,
				  "{\"type\":\"answered\",\"codec\":\"%s\",\"remote_rtp\":\"%s:%d\",\"local_rtp_port\":%d,"
				  "\"dtmf_pt\":%d,\"session\":%d,\"target\":%s,\"contact\":%s,\"tag\":%s,"
				  "\"sip\":{\"call_id\":%s,\"contact\":%s}}",
				  leg->media.codec_name, leg->media.remote_ip, leg->media.remote_port,
				  sip_media_local_port(leg->session), leg->media.dtmf_pt, leg->session,
				  sip_json_quote(winner->target, q1, sizeof(q1)),
				  sip_json_quote(winner->contact ? winner->contact : "", q2, sizeof(q2)),
				  sip_json_quote(leg->dial_tag, q4, sizeof(q4)),
				  sip_json_quote(winner->call_id ? winner->call_id : "", q3, sizeof(q3)),
				  sip_json_quote(winner->contact ? winner->contact : "", q2, sizeof(q2)));
}

/*
 * sip_dial_process, in the loop, for a leg whose forks changed: the first
 * answer wins; late answers get BYE; when every fork failed, the leg fails
 * with the best response (no_answer after the ring timeout, canceled when
 * we hung up).
 */
void
sip_dial_process(SipLeg *leg)
{
	int			i;
	int			best = 0;
	const char *best_phrase = "";
	bool		all_done = true;

	leg->dial_dirty = false;
	for (i = 0; i < leg->n_forks; i++)
	{
		SipFork    *f = leg->forks[i];

		if (f->answered && !leg->answered && !leg->hangup_sent)
			choose_winner(leg, f);
		else if (f->answered && leg->nh != f->nh && !f->cancelled)
		{
			/* answered after another fork won (or after we hung up) */
			f->cancelled = true;
			nua_bye(f->nh, TAG_END());
		}
	}
	if (leg->answered)
	{
		SipFork    *winner = NULL;

		for (i = 0; i < leg->n_forks; i++)
			if (leg->forks[i]->nh == leg->nh)
				winner = leg->forks[i];
		/* the dialog ended before the loop saw the answer: end the leg too */
		if (winner && winner->done && !leg->ended)
		{
			leg->ended = true;
			sip_leg_event(leg, true, "{\"type\":\"ended\",\"side\":\"remote\",\"cause\":\"normal\",\"answered\":true}");
		}
		return;
	}
	for (i = 0; i < leg->n_forks; i++)
	{
		SipFork    *f = leg->forks[i];

		if (!f->done && !f->answered)
			all_done = false;
		else if (status_rank(f->status) > status_rank(best) || best == 0)
		{
			best = f->status;
			best_phrase = f->phrase;
		}
	}
	if (!all_done || leg->ended)
		return;
	if (leg->ring_timer)
		su_timer_reset(leg->ring_timer);
	if (leg->ring_timed_out)
		dial_failed(leg, best ? best : 408, "no_answer", "ring timeout");
	else if (leg->hangup_sent)
		dial_failed(leg, best ? best : 487, leg->end_cause ? leg->end_cause : "canceled", "canceled");
	else
		dial_failed(leg, best ? best : 500, NULL, best_phrase);
}

/* sip_dial_free lets go of an outbound leg's forks and their handles. */
void
sip_dial_free(SipLeg *leg)
{
	int			i;

	for (i = 0; i < leg->n_forks; i++)
	{
		SipFork    *f = leg->forks[i];

		if (f->nh)
		{
			nua_handle_bind(f->nh, NULL);
			nua_handle_destroy(f->nh);
		}
		free(f->answer_sdp);
		free(f->contact);
		free(f->call_id);
		free(f->remote_ip);
	}
	leg->n_forks = 0;
	if (leg->outbound)
		leg->nh = NULL;
}
