/*
 * sip_legs.c
 *		The legs cc sip holds, their events and their actions.
 *
 * Legs are found by id in a hash table (dispatch addresses actions by leg
 * id; at 200 calls per second a list would not do) and by media session in
 * another.  Each leg owns a memory context, deleted with the leg, and a
 * child context for its current actions, replaced with them: nothing of a
 * call outlives it.
 *
 * Callbacks (nua's and the timers') queue events with sip_leg_event()
 * (malloc, no palloc); sip_legs_report() runs in the loop, gives them to
 * cc.call_event() in one transaction, hands the actions returned to the
 * legs they name, and frees the legs that ended.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "sip_calls.h"
#include "sip_legs.h"
#include "sip_media.h"
#include "sip_stack.h"
#include "worker_common.h"

#define LEG_EVENT_MAX_TRIES 3
#define LEG_EVENT_JSON_MAX 4096

/* Something that happened on a leg, queued by a callback. */
typedef struct SipLegEvent
{
	struct SipLegEvent *next;
	SipLeg	   *leg;
	char	   *json;			/* malloc'd JSON object, e.g. {"type":"dtmf",...} */
	bool		ends_leg;
	int			tries;
} SipLegEvent;

typedef struct LegById
{
	char		id[37];			/* key */
	SipLeg	   *leg;
} LegById;

typedef struct LegBySession
{
	int			session;		/* key */
	SipLeg	   *leg;
} LegBySession;

static MemoryContext legs_context = NULL;
static MemoryContext batch_context = NULL;
static HTAB *legs_by_id = NULL;
static HTAB *legs_by_session = NULL;
static SPIPlanPtr call_event_plan = NULL;
static SipLegEvent *events_head = NULL;
static SipLegEvent **events_tail = &events_head;

static void report_events(void *arg);
static void give_actions(SipLeg *leg, SipAction *actions, int n);
static void copy_action(SipAction *to, const SipAction *from);
static void free_leg(SipLeg *leg);

/* sip_legs_init makes the tables and memory of the legs. */
void
sip_legs_init(void)
{
	HASHCTL		ctl;

	legs_context = AllocSetContextCreate(TopMemoryContext, "cc sip legs", ALLOCSET_DEFAULT_SIZES);
	batch_context = AllocSetContextCreate(TopMemoryContext, "cc sip leg events", ALLOCSET_DEFAULT_SIZES);

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = 37;
	ctl.entrysize = sizeof(LegById);
	ctl.hcxt = legs_context;
	legs_by_id = hash_create("cc sip legs by id", 1024, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int);
	ctl.entrysize = sizeof(LegBySession);
	ctl.hcxt = legs_context;
	legs_by_session = hash_create("cc sip legs by session", 1024, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/* sip_legs_batch_context is where a turn's actions are parsed before the legs copy theirs. */
MemoryContext
sip_legs_batch_context(void)
{
	return batch_context;
}

/*
 * sip_json_quote quotes s as a JSON string into buf without palloc
 * (callbacks use it); control characters become spaces, and a value that
 * does not fit is cut.
 */
const char *
sip_json_quote(const char *s, char *buf, size_t size)
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

/* sip_leg_event appends an event of leg, as JSON, for the next report (callback-safe). */
void
sip_leg_event(SipLeg *leg, bool ends_leg, const char *fmt,...)
{
	SipLegEvent *ev = calloc(1, sizeof(SipLegEvent));
	char		json[LEG_EVENT_JSON_MAX];
	va_list		args;

	/* nothing follows the event that ends a leg: the leg is freed after it */
	if (leg->end_queued)
	{
		free(ev);
		return;
	}
	if (ev == NULL)
		return;
	leg->end_queued = ends_leg;
	va_start(args, fmt);
	vsnprintf(json, sizeof(json), fmt, args);
	va_end(args);
	ev->leg = leg;
	ev->json = strdup(json);
	ev->ends_leg = ends_leg;
	if (ev->json == NULL)
	{
		free(ev);
		return;
	}
	*events_tail = ev;
	events_tail = &ev->next;
	sip_work_queued++;
}

/* sip_leg_create makes a leg (in the loop: it pallocs) and files it under its id. */
SipLeg *
sip_leg_create(const char *leg_id, const char *call_id, bool outbound)
{
	MemoryContext context = AllocSetContextCreate(legs_context, "cc sip leg", ALLOCSET_SMALL_SIZES);
	SipLeg	   *leg = MemoryContextAllocZero(context, sizeof(SipLeg));
	LegById    *entry;
	bool		found;

	leg->magic.kind = SIP_HANDLE_LEG;
	strlcpy(leg->id, leg_id, sizeof(leg->id));
	strlcpy(leg->call_id, call_id ? call_id : "", sizeof(leg->call_id));
	leg->context = context;
	leg->outbound = outbound;
	leg->session = -1;
	entry = hash_search(legs_by_id, leg->id, HASH_ENTER, &found);
	if (found)
		elog(LOG, "cc sip: leg %s is already live here; the new one replaces it in the table", leg_id);
	entry->leg = leg;
	return leg;
}

/* sip_leg_find returns the live leg with this id, or NULL. */
SipLeg *
sip_leg_find(const char *leg_id)
{
	LegById    *entry;
	char		key[37];

	if (leg_id == NULL)
		return NULL;
	strlcpy(key, leg_id, sizeof(key));
	entry = hash_search(legs_by_id, key, HASH_FIND, NULL);
	return entry ? entry->leg : NULL;
}

/* sip_leg_set_session records the leg's media session (and files it under it). */
void
sip_leg_set_session(SipLeg *leg, int session)
{
	LegBySession *entry;

	leg->session = session;
	if (session < 0)
		return;
	entry = hash_search(legs_by_session, &session, HASH_ENTER, NULL);
	entry->leg = leg;
}

/* sip_calls_session_of is the media session of a live leg, or -1. */
int
sip_calls_session_of(const char *leg_id)
{
	SipLeg	   *leg = sip_leg_find(leg_id);

	return leg && !leg->ended ? leg->session : -1;
}

/*
 * sip_calls_media_event queues an event the media side reported for a
 * session, on the leg that holds it; dropped if no live leg does.
 */
void
sip_calls_media_event(int session, uint32 generation, const char *json)
{
	LegBySession *entry = hash_search(legs_by_session, &session, HASH_FIND, NULL);

	if (entry != NULL && !entry->leg->ended)
		sip_leg_event(entry->leg, false, "%s", json);
}

/* sip_legs_foreach_live calls fn for every leg that has not ended. */
void
sip_legs_foreach_live(void (*fn) (SipLeg *leg))
{
	HASH_SEQ_STATUS status;
	LegById    *entry;

	hash_seq_init(&status, legs_by_id);
	while ((entry = hash_seq_search(&status)) != NULL)
		if (!entry->leg->ended)
			fn(entry->leg);
}

/*
 * Whether a leg may have work for the loop since the last
 * sip_legs_foreach_ready: new actions, the end of a wait, a fork that
 * changed.  The loop looks for ready legs three times a turn; with a few
 * hundred calls in progress, scanning them all each time was about 2 % of
 * cc sip's CPU, for turns where nothing had changed.
 */
static bool legs_may_be_ready = false;

/* sip_legs_mark_ready: something made a leg ready (see legs_may_be_ready). */
void
sip_legs_mark_ready(void)
{
	legs_may_be_ready = true;
}

/*
 * sip_legs_foreach_ready calls fn for every live leg if one may be ready
 * since the last call.  What fn (or anything during the scan) makes ready
 * is marked again and seen by the next call.
 */
void
sip_legs_foreach_ready(void (*fn) (SipLeg *leg))
{
	if (!legs_may_be_ready)
		return;
	legs_may_be_ready = false;
	sip_legs_foreach_live(fn);
}

/* free_leg lets go of everything a leg holds: handles, timers, media, memory. */
static void
free_leg(SipLeg *leg)
{
	LegById    *entry;

	if (leg->timer)
		su_timer_destroy(leg->timer);
	if (leg->ring_timer)
		su_timer_destroy(leg->ring_timer);
	sip_dial_free(leg);
	sip_calls_free_dialog(leg);
	if (leg->session >= 0)
	{
		LegBySession *s = hash_search(legs_by_session, &leg->session, HASH_FIND, NULL);

		if (s != NULL && s->leg == leg)
			hash_search(legs_by_session, &leg->session, HASH_REMOVE, NULL);
		sip_media_close(leg->session);
	}
	free(leg->refer_event);
	entry = hash_search(legs_by_id, leg->id, HASH_FIND, NULL);
	if (entry != NULL && entry->leg == leg)
		hash_search(legs_by_id, leg->id, HASH_REMOVE, NULL);
	MemoryContextDelete(leg->context);
}

/* copy_action copies one action into the current memory context. */
static void
copy_action(SipAction *to, const SipAction *from)
{
	to->type = from->type;
	to->name = from->name ? pstrdup(from->name) : NULL;
	to->leg = from->leg ? pstrdup(from->leg) : NULL;
	to->tag = from->tag ? pstrdup(from->tag) : NULL;
	if (from->json)
	{
		to->json = palloc(VARSIZE(from->json));
		memcpy(to->json, from->json, VARSIZE(from->json));
	}
	else
		to->json = NULL;
}

/*
 * give_actions replaces the actions a leg has not started yet by copies of
 * the given ones (a running wait is cancelled); they run at the next turn.
 * The previous actions' memory goes with them.
 */
static void
give_actions(SipLeg *leg, SipAction *actions, int n)
{
	MemoryContext old;
	int			i;

	if (leg->actions_context)
		MemoryContextDelete(leg->actions_context);
	leg->actions_context = AllocSetContextCreate(leg->context, "cc sip leg actions", ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(leg->actions_context);
	leg->actions = palloc0(sizeof(SipAction) * Max(n, 1));
	for (i = 0; i < n; i++)
		copy_action(&leg->actions[i], &actions[i]);
	MemoryContextSwitchTo(old);
	leg->n_actions = n;
	leg->next_action = 0;
	leg->waiting = false;
	leg->wait_tag = NULL;
	if (leg->timer)
		su_timer_reset(leg->timer);
	sip_legs_mark_ready();
}

/*
 * sip_legs_apply hands each action to the leg it names (its "leg"), or to
 * default_leg when it names none, keeping their order per leg.  Actions for
 * a leg that is not live here are counted in *missing and their first such
 * leg id returned in *missing_leg (for the caller to report).
 */
void
sip_legs_apply(SipLeg *default_leg, SipAction *actions, int n, int *missing, const char **missing_leg)
{
	bool	   *done = palloc0(sizeof(bool) * Max(n, 1));
	SipAction  *mine = palloc(sizeof(SipAction) * Max(n, 1));
	int			i;

	*missing = 0;
	/* a dial makes its new leg here: its row exists, the decision named it */
	for (i = 0; i < n; i++)
		if (actions[i].type == SIP_ACTION_DIAL && actions[i].leg != NULL && sip_leg_find(actions[i].leg) == NULL)
			(void) sip_leg_create(actions[i].leg, default_leg ? default_leg->call_id : "", true);
	for (i = 0; i < n; i++)
	{
		const char *target = actions[i].leg;
		SipLeg	   *leg = target ? sip_leg_find(target) : default_leg;
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
		for (j = i; j < n; j++)
		{
			SipLeg	   *other = actions[j].leg ? sip_leg_find(actions[j].leg) : default_leg;

			if (!done[j] && other == leg)
			{
				mine[count++] = actions[j];
				done[j] = true;
			}
		}
		give_actions(leg, mine, count);
	}
	pfree(mine);
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
		MemoryContext old;

		values[0] = DirectFunctionCall1(uuid_in, CStringGetDatum(ev->leg->id));
		values[1] = CStringGetTextDatum(ev->json);
		if (call_event_plan == NULL)
		{
			/* prepared once: planning every event would cost as much as running it */
			SPIPlanPtr	plan = SPI_prepare("SELECT cc.call_event($1, $2::jsonb)::text", 2,
										   (Oid[]) {UUIDOID, TEXTOID});

			if (plan == NULL || SPI_keepplan(plan) != 0)
				elog(ERROR, "cannot prepare cc.call_event: %s", SPI_result_code_string(SPI_result));
			call_event_plan = plan;
		}
		ret = SPI_execute_plan(call_event_plan, values, NULL, false, 1);
		if (ret != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "cc.call_event failed: %d", ret);
		actions_json = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		old = MemoryContextSwitchTo(batch_context);
		actions = sip_actions_parse(actions_json, &n, batch_context);
		MemoryContextSwitchTo(old);
		if (n == 0)
			continue;
		/* an ending leg takes no more actions; the others may */
		sip_legs_apply(ev->ends_leg ? NULL : ev->leg, actions, n, &missing, &missing_leg);
		if (missing > 0 && !ev->ends_leg)
			elog(LOG, "cc sip: %d action(s) after event %s of leg %s are for leg %s, which is not live here",
				 missing, ev->json, ev->leg->id, missing_leg);
	}
}

/*
 * sip_legs_report, once per loop turn: reports the queued events in one
 * transaction (up to LEG_EVENT_MAX_TRIES times when it fails), then frees
 * the legs that ended.
 */
void
sip_legs_report(void)
{
	SipLegEvent *batch = events_head;
	SipLegEvent *ev;
	SipLegEvent *keep = NULL;
	bool		ok;

	if (batch == NULL)
		return;
	events_head = NULL;
	events_tail = &events_head;
	ok = cc_worker_transaction("cc sip: call events", report_events, batch);
	MemoryContextReset(batch_context);

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
