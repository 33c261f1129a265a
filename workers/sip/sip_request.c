/*
 * sip_request.c
 *		Incoming SIP requests answered by the SQL decisions.
 *
 * The nua callback may not palloc or run SPI, so it only saves the event
 * (nua_save_event keeps the message and the server transaction alive) on a
 * malloc'd list.  Each loop turn then describes every saved request as
 * JSON, asks cc.sip_request() in one transaction what to answer, and
 * answers after the commit.  If that transaction fails, every request of
 * the batch gets 500 with Retry-After: nothing waits forever.
 *
 * New calls are admitted at most cc.max_calls_per_second: a token bucket
 * holding one second of calls, filled at that rate.  An INVITE above it gets
 * 503 with Retry-After in the callback, before any SQL, so that a flood, or
 * more calls than cc sip can carry, does not slow down the calls already in
 * progress until they time out.  The refusals are reported as one
 * sip.calls_shed event per housekeeping turn.
 */
#include "postgres.h"

#include <netdb.h>
#include <sys/socket.h>
#include <time.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/url.h>

#include "guc.h"
#include "sip_calls.h"
#include "sip_request.h"
#include "sip_stack.h"
#include "worker_common.h"

/* One saved request, and later the answer the decisions chose for it. */
typedef struct SipIncoming
{
	struct SipIncoming *next;
	nua_event_t event;
	nua_handle_t *nh;
	nua_saved_event_t saved[1];
	/* filled by the loop, palloc'd in the batch context */
	int			status;
	char	   *reason;
	char	   *headers;		/* "Name: value\r\n..." or NULL */
	char	   *content_type;
	char	   *body;
	char	   *source;			/* source IP address as text */
	bool		limited;		/* answered 403 by cc sip alone (rate limit) */
	bool		stranger;		/* the decisions refused an unknown source */
	char	   *call_id;		/* set when the decisions accepted a new call */
	char	   *leg_id;
	SipAction  *actions;
	int			n_actions;
} SipIncoming;

/*
 * Refusals of unknown sources per address: within a window of
 * STRANGER_WINDOW_S seconds, the first STRANGER_MAX go to the decisions
 * (which count and block); the rest get 403 from cc sip alone, so a
 * scanner cannot keep the database busy.
 */
#define STRANGER_WINDOW_S 10
#define STRANGER_MAX 20

typedef struct StrangerEntry
{
	char		address[64];	/* key */
	time_t		window_start;
	int			refusals;
} StrangerEntry;

static HTAB *strangers = NULL;
static SPIPlanPtr request_plan = NULL;

/* The admission bucket of new calls (cc.max_calls_per_second). */
static double admission_tokens = -1;	/* calls it admits now; < 0: not started */
static int64 admission_at_us = 0;	/* when it was last filled */
static uint64 calls_shed = 0;	/* INVITEs it refused, not reported yet */

static SipIncoming *incoming_head = NULL;
static SipIncoming **incoming_tail = &incoming_head;
static MemoryContext batch_context = NULL;

static void describe_request(StringInfo buf, SipIncoming *req);
static void json_key_string(StringInfo buf, const char *key, const char *value, bool *first);
static void json_key_int(StringInfo buf, const char *key, long value, bool *first);
static void append_unquoted(StringInfo buf, const char *value);
static void describe_address(StringInfo buf, const char *key, sip_addr_t const *addr, su_home_t *home, bool *first);
static void decide_batch(void *arg);
static void answer(SipIncoming *req);
static const char *method_name(nua_event_t event);
static char *source_of(SipIncoming *req);
static void limit_strangers(SipIncoming *batch);
static void count_strangers(SipIncoming *batch);
static bool admit_new_call(void);

/*
 * sip_request_save runs inside the nua callback: it keeps the event for
 * the loop.  On malloc failure it answers 503 at once.
 */
void
sip_request_save(nua_t *nua, nua_event_t event, nua_handle_t *nh)
{
	SipIncoming *req;

	if (event == nua_i_invite && !admit_new_call())
	{
		calls_shed++;
		nua_respond(nh, SIP_503_SERVICE_UNAVAILABLE, NUTAG_WITH_THIS(nua),
					SIPTAG_RETRY_AFTER_STR("1"), TAG_END());
		nua_handle_destroy(nh);
		return;
	}
	req = calloc(1, sizeof(SipIncoming));
	if (req == NULL || nua_save_event(nua, req->saved) == 0)
	{
		nua_respond(nh, SIP_503_SERVICE_UNAVAILABLE, NUTAG_WITH_THIS(nua),
					SIPTAG_RETRY_AFTER_STR("5"), TAG_END());
		free(req);
		return;
	}
	req->event = event;
	req->nh = nh;
	sip_work_queued++;
	*incoming_tail = req;
	incoming_tail = &req->next;
}

/*
 * admit_new_call takes a call from the admission bucket; false when
 * cc.max_calls_per_second is reached (0: no limit).  A lowered limit caps
 * the bucket at the next call.
 */
static bool
admit_new_call(void)
{
	int			rate = cc_max_calls_per_second;
	struct timespec ts;
	int64		now_us;

	if (rate <= 0)
	{
		admission_tokens = -1;
		return true;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now_us = (int64) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	if (admission_tokens < 0)
		admission_tokens = rate;
	else
		admission_tokens = Min((double) rate, admission_tokens + (double) (now_us - admission_at_us) * rate / 1e6);
	admission_at_us = now_us;
	if (admission_tokens < 1.0)
		return false;
	admission_tokens -= 1.0;
	return true;
}

/*
 * sip_request_report_shed, inside a transaction: appends one sip.calls_shed
 * event for the INVITEs refused by the admission limit and not reported
 * yet; returns how many it reported.  The count is kept until the caller,
 * once the transaction has committed, hands that number to
 * sip_request_shed_reported: a report rolled back is made again next time.
 */
uint64
sip_request_report_shed(void)
{
	Oid			types[2] = {INT8OID, INT4OID};
	Datum		values[2];

	if (calls_shed == 0)
		return 0;
	values[0] = Int64GetDatum((int64) calls_shed);
	values[1] = Int32GetDatum(cc_max_calls_per_second);
	if (SPI_execute_with_args("SELECT cc.event_append('sip.calls_shed', "
							  "jsonb_build_object('calls', $1, 'max_calls_per_second', $2))",
							  2, types, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "cc.event_append of sip.calls_shed failed");
	return calls_shed;
}

/* sip_request_shed_reported: n refusals were reported by a committed transaction. */
void
sip_request_shed_reported(uint64 n)
{
	if (n == 0)
		return;
	elog(LOG, "cc sip: refused " UINT64_FORMAT " new calls above cc.max_calls_per_second = %d",
		 n, cc_max_calls_per_second);
	calls_shed -= Min(n, calls_shed);
}

static const char *
method_name(nua_event_t event)
{
	switch (event)
	{
		case nua_i_register:
			return "REGISTER";
		case nua_i_invite:
			return "INVITE";
		default:
			return nua_event_name(event);
	}
}

static void
json_key(StringInfo buf, const char *key, bool *first)
{
	if (!*first)
		appendStringInfoChar(buf, ',');
	*first = false;
	escape_json(buf, key);
	appendStringInfoChar(buf, ':');
}

/* json_key_string appends "key": "value", or nothing for a NULL value. */
static void
json_key_string(StringInfo buf, const char *key, const char *value, bool *first)
{
	if (value == NULL)
		return;
	json_key(buf, key, first);
	escape_json(buf, value);
}

static void
json_key_int(StringInfo buf, const char *key, long value, bool *first)
{
	json_key(buf, key, first);
	appendStringInfo(buf, "%ld", value);
}

/* append_unquoted appends a header parameter value as JSON, without its quotes. */
static void
append_unquoted(StringInfo buf, const char *value)
{
	StringInfoData plain;
	size_t		len = strlen(value);

	initStringInfo(&plain);
	if (len >= 2 && value[0] == '"' && value[len - 1] == '"')
	{
		size_t		i;

		for (i = 1; i < len - 1; i++)
		{
			if (value[i] == '\\' && i + 1 < len - 1)
				i++;
			appendStringInfoChar(&plain, value[i]);
		}
	}
	else
		appendStringInfoString(&plain, value);
	escape_json(buf, plain.data);
	pfree(plain.data);
}

/* describe_address appends {"uri", "user", "host", "display", "tag"} of From or To. */
static void
describe_address(StringInfo buf, const char *key, sip_addr_t const *addr, su_home_t *home, bool *first)
{
	bool		inner = true;

	if (addr == NULL)
		return;
	json_key(buf, key, first);
	appendStringInfoChar(buf, '{');
	json_key_string(buf, "uri", url_as_string(home, addr->a_url), &inner);
	json_key_string(buf, "user", addr->a_url->url_user, &inner);
	json_key_string(buf, "host", addr->a_url->url_host, &inner);
	json_key_string(buf, "display", addr->a_display, &inner);
	json_key_string(buf, "tag", addr->a_tag, &inner);
	appendStringInfoChar(buf, '}');
}

/*
 * describe_request writes what the decisions need to know of a request as
 * a JSON object: method, URIs, From/To, Call-ID, CSeq, contacts, Expires,
 * User-Agent, the source address and transport, the Authorization
 * parameters, and the body.
 */
static void
describe_request(StringInfo buf, SipIncoming *req)
{
	nua_event_data_t const *data = nua_event_data(req->saved);
	msg_t	   *msg = data->e_msg;
	sip_t const *sip = sip_object(msg);
	su_home_t  *home = su_home_new(sizeof(su_home_t));
	su_addrinfo_t *ai = msg_addrinfo(msg);
	bool		first = true;

	appendStringInfoChar(buf, '{');
	json_key_string(buf, "method", sip && sip->sip_request ? sip->sip_request->rq_method_name : method_name(req->event), &first);
	if (sip == NULL)
	{
		appendStringInfoChar(buf, '}');
		su_home_unref(home);
		return;
	}
	if (sip->sip_request)
		json_key_string(buf, "request_uri", url_as_string(home, sip->sip_request->rq_url), &first);
	describe_address(buf, "from", sip->sip_from, home, &first);
	describe_address(buf, "to", sip->sip_to, home, &first);
	if (sip->sip_call_id)
		json_key_string(buf, "call_id", sip->sip_call_id->i_id, &first);
	if (sip->sip_cseq)
		json_key_int(buf, "cseq", (long) sip->sip_cseq->cs_seq, &first);
	if (sip->sip_expires)
		json_key_int(buf, "expires", (long) sip->sip_expires->ex_delta, &first);
	if (sip->sip_user_agent)
		json_key_string(buf, "user_agent", sip->sip_user_agent->g_string, &first);

	if (sip->sip_contact)
	{
		sip_contact_t const *m;
		bool		first_contact = true;

		json_key(buf, "contacts", &first);
		appendStringInfoChar(buf, '[');
		for (m = sip->sip_contact; m; m = m->m_next)
		{
			bool		inner = true;

			if (!first_contact)
				appendStringInfoChar(buf, ',');
			first_contact = false;
			appendStringInfoChar(buf, '{');
			if (m->m_url->url_type == url_any)
				json_key_string(buf, "uri", "*", &inner);
			else
				json_key_string(buf, "uri", url_as_string(home, m->m_url), &inner);
			if (m->m_expires)
				json_key_int(buf, "expires", strtol(m->m_expires, NULL, 10), &inner);
			appendStringInfoChar(buf, '}');
		}
		appendStringInfoChar(buf, ']');
	}

	if (ai && ai->ai_addr)
	{
		char		host[NI_MAXHOST];
		char		port[NI_MAXSERV];
		bool		inner = true;

		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof(host), port, sizeof(port),
						NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		{
			json_key(buf, "source", &first);
			appendStringInfoChar(buf, '{');
			json_key_string(buf, "ip", host, &inner);
			json_key_int(buf, "port", strtol(port, NULL, 10), &inner);
			json_key_string(buf, "transport", ai->ai_protocol == IPPROTO_TCP ? "tcp" : "udp", &inner);
			appendStringInfoChar(buf, '}');
		}
	}

	if ((sip->sip_authorization && sip->sip_authorization->au_params) ||
		(sip->sip_proxy_authorization && sip->sip_proxy_authorization->au_params))
	{
		msg_param_t const *p;
		bool		inner = true;
		msg_auth_t const *au = sip->sip_authorization && sip->sip_authorization->au_params
			? (msg_auth_t const *) sip->sip_authorization
			: (msg_auth_t const *) sip->sip_proxy_authorization;

		json_key(buf, "authorization", &first);
		appendStringInfoChar(buf, '{');
		json_key_string(buf, "scheme", au->au_scheme, &inner);
		for (p = au->au_params; *p; p++)
		{
			const char *eq = strchr(*p, '=');
			char	   *name;

			if (eq == NULL)
				continue;
			name = pnstrdup(*p, eq - *p);
			json_key(buf, name, &inner);
			append_unquoted(buf, eq + 1);
			pfree(name);
		}
		appendStringInfoChar(buf, '}');
	}

	if (sip->sip_content_type && sip->sip_content_type->c_type)
		json_key_string(buf, "content_type", sip->sip_content_type->c_type, &first);
	if (sip->sip_payload && sip->sip_payload->pl_data && sip->sip_payload->pl_len > 0)
	{
		char	   *body = pnstrdup(sip->sip_payload->pl_data, sip->sip_payload->pl_len);

		json_key_string(buf, "body", body, &first);
	}
	appendStringInfoChar(buf, '}');
	su_home_unref(home);
}

/* decide_batch asks cc.sip_request() for the answer to each saved request. */
static void
decide_batch(void *arg)
{
	SipIncoming *req;
	StringInfoData buf;

	initStringInfo(&buf);
	for (req = (SipIncoming *) arg; req; req = req->next)
	{
		Datum		value;
		char	   *stranger;
		int			ret;
		bool		isnull;
		MemoryContext old;
		TupleDesc	desc;
		HeapTuple	tuple;

		if (req->limited)
			continue;
		resetStringInfo(&buf);
		describe_request(&buf, req);
		value = CStringGetTextDatum(buf.data);
		if (request_plan == NULL)
		{
			/* prepared once for the life of the worker */
			SPIPlanPtr	plan = SPI_prepare(
				"SELECT (r->>'status')::int, r->>'reason', "
				"       (SELECT string_agg(h.key || ': ' || h.value, E'\\r\\n') "
				"          FROM jsonb_each_text(r->'headers') AS h), "
				"       r->>'content_type', r->>'body', r->>'call_id', r->>'leg_id', r->>'actions', "
				"       r->>'stranger' "
				"  FROM cc.sip_request($1::jsonb) AS r",
				1, (Oid[]) {TEXTOID});

			if (plan == NULL || SPI_keepplan(plan) != 0)
				elog(ERROR, "cannot prepare cc.sip_request: %s", SPI_result_code_string(SPI_result));
			request_plan = plan;
		}
		ret = SPI_execute_plan(request_plan, &value, NULL, false, 1);
		if (ret != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "cc.sip_request failed: %d", ret);
		desc = SPI_tuptable->tupdesc;
		tuple = SPI_tuptable->vals[0];
		old = MemoryContextSwitchTo(batch_context);
		stranger = SPI_getvalue(tuple, desc, 9);
		req->stranger = stranger != NULL && strcmp(stranger, "true") == 0;
		req->leg_id = SPI_getvalue(tuple, desc, 7);
		if (req->event == nua_i_invite && req->leg_id != NULL)
		{
			char	   *actions = SPI_getvalue(tuple, desc, 8);

			/* a new call: its leg runs these actions */
			req->call_id = SPI_getvalue(tuple, desc, 6);
			if (req->call_id == NULL)
				elog(ERROR, "cc.sip_request accepted a call without a call_id");
			req->actions = sip_calls_parse_actions(actions, &req->n_actions);
		}
		else
		{
			req->leg_id = NULL;
			req->status = DatumGetInt32(SPI_getbinval(tuple, desc, 1, &isnull));
			if (isnull || req->status < 100 || req->status > 699)
				elog(ERROR, "cc.sip_request returned no valid status for a %s", method_name(req->event));
			req->reason = SPI_getvalue(tuple, desc, 2);
			req->headers = SPI_getvalue(tuple, desc, 3);
			req->content_type = SPI_getvalue(tuple, desc, 4);
			req->body = SPI_getvalue(tuple, desc, 5);
		}
		MemoryContextSwitchTo(old);
	}
}

/* answer sends the chosen response and lets go of the saved event. */
static void
answer(SipIncoming *req)
{
	nua_respond(req->nh, req->status, req->reason ? req->reason : "",
				NUTAG_WITH_SAVED(req->saved),
				TAG_IF(req->headers != NULL, SIPTAG_HEADER_STR(req->headers)),
				TAG_IF(req->content_type != NULL, SIPTAG_CONTENT_TYPE_STR(req->content_type)),
				TAG_IF(req->body != NULL, SIPTAG_PAYLOAD_STR(req->body)),
				TAG_END());
	nua_destroy_event(req->saved);
	if (req->event != nua_i_invite || req->status >= 300)
		nua_handle_destroy(req->nh);
}

/* source_of is the source IP address of a saved request, as text (palloc'd), or NULL. */
static char *
source_of(SipIncoming *req)
{
	nua_event_data_t const *data = nua_event_data(req->saved);
	su_addrinfo_t *ai = data && data->e_msg ? msg_addrinfo(data->e_msg) : NULL;
	char		host[NI_MAXHOST];

	if (ai == NULL || ai->ai_addr == NULL ||
		getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof(host), NULL, 0, NI_NUMERICHOST) != 0)
		return NULL;
	return pstrdup(host);
}

/*
 * limit_strangers marks the requests of addresses that were refused too
 * often in the current window: cc sip answers them 403 itself.
 */
static void
limit_strangers(SipIncoming *batch)
{
	SipIncoming *req;
	time_t		now = time(NULL);
	MemoryContext old = MemoryContextSwitchTo(batch_context);

	if (strangers == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = 64;
		ctl.entrysize = sizeof(StrangerEntry);
		strangers = hash_create("cc sip refused sources", 256, &ctl, HASH_ELEM | HASH_STRINGS);
	}
	for (req = batch; req; req = req->next)
	{
		StrangerEntry *e;
		char		key[64];

		req->source = source_of(req);
		if (req->source == NULL)
			continue;
		strlcpy(key, req->source, sizeof(key));
		e = hash_search(strangers, key, HASH_FIND, NULL);
		if (e != NULL && now - e->window_start < STRANGER_WINDOW_S && e->refusals >= STRANGER_MAX)
		{
			req->limited = true;
			req->status = 403;
			req->reason = "Forbidden";
		}
	}
	MemoryContextSwitchTo(old);
}

/* count_strangers counts the refusals of unknown sources the decisions made. */
static void
count_strangers(SipIncoming *batch)
{
	SipIncoming *req;
	time_t		now = time(NULL);

	for (req = batch; req; req = req->next)
	{
		StrangerEntry *e;
		bool		found;
		char		key[64];

		if (req->source == NULL || !(req->stranger || req->limited))
			continue;
		strlcpy(key, req->source, sizeof(key));
		e = hash_search(strangers, key, HASH_ENTER, &found);
		if (!found || now - e->window_start >= STRANGER_WINDOW_S)
		{
			e->window_start = now;
			e->refusals = 0;
		}
		e->refusals++;
	}
	/* forget old windows now and then, so the table stays small */
	if (hash_get_num_entries(strangers) > 10000)
	{
		hash_destroy(strangers);
		strangers = NULL;
	}
}

/*
 * sip_request_process answers every request saved since the last turn.
 * If the decisions fail, each gets 500 and a Retry-After.
 */
void
sip_request_process(void)
{
	SipIncoming *batch = incoming_head;
	SipIncoming *req;
	bool		decided;

	if (batch == NULL)
		return;
	incoming_head = NULL;
	incoming_tail = &incoming_head;

	if (batch_context == NULL)
		batch_context = AllocSetContextCreate(TopMemoryContext, "cc sip requests",
											  ALLOCSET_DEFAULT_SIZES);
	limit_strangers(batch);
	decided = cc_worker_transaction("cc sip: answer requests", decide_batch, batch);
	count_strangers(batch);

	while (batch)
	{
		req = batch;
		batch = req->next;
		if (decided && req->leg_id != NULL)
		{
			/* the leg takes over the saved INVITE */
			sip_calls_start(req->nh, req->saved, req->call_id, req->leg_id,
							req->actions, req->n_actions);
			free(req);
			continue;
		}
		if (!decided && !req->limited)
		{
			req->leg_id = NULL;
			req->status = 500;
			req->reason = "Server Internal Error";
			req->headers = "Retry-After: 5";
			req->content_type = NULL;
			req->body = NULL;
		}
		answer(req);
		free(req);
	}
	MemoryContextReset(batch_context);
}
