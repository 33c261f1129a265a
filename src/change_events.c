/*
 * change_events.c
 *		The change events of the live tables (122_change_events.sql): a new
 *		call, leg, queue entry, offer or command, and every change of state of
 *		a call, queue entry, offer, agent or command, is an event; every
 *		change of an agent's state is also a cc.agent_state_log row.
 *
 * Two triggers per table share the work.  The row trigger,
 * cc.change_event_row(), decides which events a row's change makes and
 * writes their data as JSON text into a list kept for the transaction; it
 * runs no SQL.  The statement trigger, cc.change_events_write(), fires at
 * the end of the same statement (PostgreSQL queues a statement's AFTER
 * STATEMENT trigger behind its AFTER ROW triggers) and writes the listed
 * events with one INSERT, the agents' log rows with one more.  A dispatch
 * that makes a thousand offers so writes its five thousand events in a few
 * statements; written by a PL/pgSQL trigger per row they were five thousand
 * INSERTs, about 60 % of a pairing's time.
 *
 * Nothing listed is lost or written twice.  Each listed event carries the
 * subtransaction that made it: a statement trigger writes only the events
 * of its own subtransaction (those of an enclosing statement still running
 * wait for that statement's own trigger), a committed subtransaction hands
 * its events to its parent, an aborted one drops them, and a transaction
 * that would commit with events still listed (a statement trigger disabled
 * by hand) fails instead.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "random_uuids.h"

PG_FUNCTION_INFO_V1(cc_change_event_row);
PG_FUNCTION_INFO_V1(cc_change_events_write);

/* The tables with change events, named by the row trigger's argument. */
typedef enum ChangeTable
{
	CT_CALLS,
	CT_LEGS,
	CT_QUEUE_ENTRIES,
	CT_OFFERS,
	CT_AGENTS,
	CT_COMMANDS,
	CT_COUNT
} ChangeTable;

static const char *const table_names[CT_COUNT] = {
	[CT_CALLS] = "calls",
	[CT_LEGS] = "legs",
	[CT_QUEUE_ENTRIES] = "queue_entries",
	[CT_OFFERS] = "offers",
	[CT_AGENTS] = "agents",
	[CT_COMMANDS] = "commands",
};

/* The columns the row trigger reads, per table. */
enum
{
	CALL_ID, CALL_STATE, CALL_AGENT, CALL_QUEUE, CALL_DIRECTION, CALL_NUMBER,
	CALL_CALLER, CALL_CALLEE, CALL_PARENT, CALL_END_CAUSE, CALL_HANGUP_SIDE
};
enum
{
	LEG_ID, LEG_CALL, LEG_AGENT, LEG_KIND, LEG_DIRECTION, LEG_FROM, LEG_TO,
	LEG_PHONE, LEG_TRUNK
};
enum
{
	ENTRY_ID, ENTRY_CALL, ENTRY_AGENT, ENTRY_QUEUE, ENTRY_STATE, ENTRY_PRIORITY,
	ENTRY_FROM_QUEUE, ENTRY_RULE
};
enum
{
	OFFER_ID, OFFER_CALL, OFFER_LEG, OFFER_AGENT, OFFER_ENTRY, OFFER_PHONE,
	OFFER_OUTCOME, OFFER_REASON
};
enum
{
	AGENT_ID, AGENT_STATE, AGENT_BREAK, AGENT_REASON, AGENT_ENTERED,
	AGENT_EXTENSION
};
enum
{
	COMMAND_ID, COMMAND_CALL, COMMAND_KIND, COMMAND_STATE, COMMAND_CLAIMED_BY,
	COMMAND_ATTEMPTS
};

#define MAX_COLUMNS 11

static const char *const table_columns[CT_COUNT][MAX_COLUMNS] = {
	[CT_CALLS] = {
		[CALL_ID] = "id", [CALL_STATE] = "state", [CALL_AGENT] = "agent_id",
		[CALL_QUEUE] = "queue_id", [CALL_DIRECTION] = "direction",
		[CALL_NUMBER] = "number", [CALL_CALLER] = "caller", [CALL_CALLEE] = "callee",
		[CALL_PARENT] = "parent_call_id", [CALL_END_CAUSE] = "end_cause",
		[CALL_HANGUP_SIDE] = "hangup_side"
	},
	[CT_LEGS] = {
		[LEG_ID] = "id", [LEG_CALL] = "call_id", [LEG_AGENT] = "agent_id",
		[LEG_KIND] = "kind", [LEG_DIRECTION] = "direction", [LEG_FROM] = "from_uri",
		[LEG_TO] = "to_uri", [LEG_PHONE] = "phone_id", [LEG_TRUNK] = "trunk_id"
	},
	[CT_QUEUE_ENTRIES] = {
		[ENTRY_ID] = "id", [ENTRY_CALL] = "call_id", [ENTRY_AGENT] = "agent_id",
		[ENTRY_QUEUE] = "queue_id", [ENTRY_STATE] = "state",
		[ENTRY_PRIORITY] = "priority", [ENTRY_FROM_QUEUE] = "from_queue_id",
		[ENTRY_RULE] = "routing_rule_id"
	},
	[CT_OFFERS] = {
		[OFFER_ID] = "id", [OFFER_CALL] = "call_id", [OFFER_LEG] = "leg_id",
		[OFFER_AGENT] = "agent_id", [OFFER_ENTRY] = "queue_entry_id",
		[OFFER_PHONE] = "phone_id", [OFFER_OUTCOME] = "outcome",
		[OFFER_REASON] = "reason"
	},
	[CT_AGENTS] = {
		[AGENT_ID] = "id", [AGENT_STATE] = "state", [AGENT_BREAK] = "break_reason_id",
		[AGENT_REASON] = "state_reason", [AGENT_ENTERED] = "state_entered_at",
		[AGENT_EXTENSION] = "extension"
	},
	[CT_COMMANDS] = {
		[COMMAND_ID] = "id", [COMMAND_CALL] = "call_id", [COMMAND_KIND] = "kind",
		[COMMAND_STATE] = "state", [COMMAND_CLAIMED_BY] = "claimed_by",
		[COMMAND_ATTEMPTS] = "attempts"
	},
};

/*
 * Where those columns are, per table, found by name the first time and
 * again after any change of the table (relcache invalidation).
 */
static Oid	column_relids[CT_COUNT];
static AttrNumber column_attnums[CT_COUNT][MAX_COLUMNS];
static bool relcache_callback_registered = false;

/* The ids an event names, in the order of cc.events' columns. */
enum
{
	ID_CALL, ID_LEG, ID_AGENT, ID_QUEUE, ID_COMMAND, ID_COUNT
};

/*
 * An event listed by a row trigger, waiting for its statement's trigger.
 * An agent's change of state also carries its cc.agent_state_log row.
 */
typedef struct PendingEvent
{
	SubTransactionId subxid;	/* the subtransaction that made it */
	const char *type;			/* a constant */
	char	   *data;			/* a JSON object */
	pg_uuid_t	ids[ID_COUNT];
	bool		has_id[ID_COUNT];
	pg_uuid_t	queue_entry;	/* offers: the queue is this entry's */
	bool		has_queue_entry;
	/* agent.state_changed only */
	bool		agent_log;
	char	   *from_state;
	char	   *to_state;
	char	   *reason;
	pg_uuid_t	break_reason;
	bool		has_break_reason;
	TimestampTz at;
	bool		find_call;		/* the call is the agent's latest leg's */
} PendingEvent;

/* The list, in TopTransactionContext; empty outside a transaction. */
static PendingEvent *pending = NULL;
static int	pending_count = 0;
static int	pending_size = 0;
static bool xact_callbacks_registered = false;

/* The two INSERTs of the statement trigger, prepared once per backend. */
static SPIPlanPtr events_plan = NULL;
static SPIPlanPtr agent_events_plan = NULL;

/* One row's change, as the row trigger sees it. */
typedef struct RowChange
{
	ChangeTable table;
	TupleDesc	desc;
	HeapTuple	old;			/* NULL for an INSERT */
	HeapTuple	new;
	const AttrNumber *att;
} RowChange;

static void
relcache_changed(Datum arg, Oid relid)
{
	for (int t = 0; t < CT_COUNT; t++)
		if (relid == InvalidOid || column_relids[t] == relid)
			column_relids[t] = InvalidOid;
}

/* column_attnums of a table, looked up when not known. */
static const AttrNumber *
table_attnums(ChangeTable table, Relation rel)
{
	Oid			relid = RelationGetRelid(rel);

	if (!relcache_callback_registered)
	{
		CacheRegisterRelcacheCallback(relcache_changed, (Datum) 0);
		relcache_callback_registered = true;
	}
	if (column_relids[table] != relid)
	{
		for (int c = 0; c < MAX_COLUMNS && table_columns[table][c] != NULL; c++)
		{
			int			attnum = SPI_fnumber(RelationGetDescr(rel), table_columns[table][c]);

			if (attnum <= 0)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_COLUMN),
						 errmsg("cc: change events: table \"%s\" has no column \"%s\"",
								RelationGetRelationName(rel), table_columns[table][c])));
			column_attnums[table][c] = attnum;
		}
		column_relids[table] = relid;
	}
	return column_attnums[table];
}

static Datum
column(RowChange *rc, HeapTuple tuple, int c, bool *isnull)
{
	return heap_getattr(tuple, rc->att[c], rc->desc, isnull);
}

/*
 * A value's text, as its type's output function writes it (text and uuid,
 * most of what the events carry, without looking the function up).
 */
static char *
datum_text(Oid typid, Datum value)
{
	Oid			output;
	bool		varlena;

	if (typid == TEXTOID)
		return TextDatumGetCString(value);
	if (typid == UUIDOID)
		return DatumGetCString(DirectFunctionCall1(uuid_out, value));
	getTypeOutputInfo(typid, &output, &varlena);
	return OidOutputFunctionCall(output, value);
}

/* A column's text (NULL when null), in the current memory context. */
static char *
column_text(RowChange *rc, HeapTuple tuple, int c)
{
	bool		isnull;
	Datum		value = column(rc, tuple, c, &isnull);

	return isnull ? NULL : datum_text(TupleDescAttr(rc->desc, rc->att[c] - 1)->atttypid, value);
}

/* Copies a uuid column into *out; false (and *out untouched) when null. */
static bool
column_uuid(RowChange *rc, HeapTuple tuple, int c, pg_uuid_t *out)
{
	bool		isnull;
	Datum		value = column(rc, tuple, c, &isnull);

	if (isnull)
		return false;
	*out = *DatumGetUUIDP(value);
	return true;
}

/* Whether a text column holds s (false when null). */
static bool
column_is(RowChange *rc, HeapTuple tuple, int c, const char *s)
{
	char	   *text = column_text(rc, tuple, c);

	return text != NULL && strcmp(text, s) == 0;
}

/* Whether a column differs between the old and the new row (IS DISTINCT FROM). */
static bool
column_changed(RowChange *rc, int c)
{
	bool		old_null,
				new_null;
	Datum		old_value = column(rc, rc->old, c, &old_null);
	Datum		new_value = column(rc, rc->new, c, &new_null);
	Form_pg_attribute attr = TupleDescAttr(rc->desc, rc->att[c] - 1);

	if (old_null || new_null)
		return old_null != new_null;
	if (attr->attlen == -1)
	{
		/* compare the values, not how they happen to be stored */
		struct varlena *a = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(old_value));
		struct varlena *b = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(new_value));

		return VARSIZE_ANY_EXHDR(a) != VARSIZE_ANY_EXHDR(b) ||
			memcmp(VARDATA_ANY(a), VARDATA_ANY(b), VARSIZE_ANY_EXHDR(a)) != 0;
	}
	return !datumIsEqual(old_value, new_value, attr->attbyval, attr->attlen);
}

/*
 * Appends "key": value to a JSON object being written, unless the value is
 * null (the events' data leave nulls out).  Numbers and booleans are JSON's
 * own; every other type is its text, as to_jsonb writes it.
 */
static void
json_add(StringInfo buf, const char *key, Oid typid, Datum value, bool isnull)
{
	if (isnull)
		return;
	appendStringInfoString(buf, buf->len > 1 ? ", " : "");
	escape_json(buf, key);
	appendStringInfoString(buf, ": ");
	switch (typid)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
			appendStringInfoString(buf, datum_text(typid, value));
			break;
		case BOOLOID:
			appendStringInfoString(buf, DatumGetBool(value) ? "true" : "false");
			break;
		default:
			escape_json(buf, datum_text(typid, value));
			break;
	}
}

/* json_add of a column of the old or the new row. */
static void
json_add_column(StringInfo buf, const char *key, RowChange *rc, HeapTuple tuple, int c)
{
	bool		isnull;
	Datum		value = column(rc, tuple, c, &isnull);

	json_add(buf, key, TupleDescAttr(rc->desc, rc->att[c] - 1)->atttypid, value, isnull);
}

static void
json_begin(StringInfo buf)
{
	initStringInfo(buf);
	appendStringInfoChar(buf, '{');
}

static void
subxact_changed(SubXactEvent event, SubTransactionId mySubid,
				SubTransactionId parentSubid, void *arg)
{
	int			kept = 0;

	switch (event)
	{
		case SUBXACT_EVENT_COMMIT_SUB:
			for (int i = 0; i < pending_count; i++)
				if (pending[i].subxid == mySubid)
					pending[i].subxid = parentSubid;
			break;
		case SUBXACT_EVENT_ABORT_SUB:
			for (int i = 0; i < pending_count; i++)
				if (pending[i].subxid < mySubid)
					pending[kept++] = pending[i];
			pending_count = kept;
			break;
		default:
			break;
	}
}

static void
xact_changed(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PARALLEL_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			if (pending_count > 0)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg_plural("cc: %d change event was listed but never written",
										"cc: %d change events were listed but never written",
										pending_count, pending_count),
						 errhint("Each table with a change-event row trigger (cc.change_event_row) needs its statement trigger (cc.change_events_write) enabled too.")));
			break;
		default:
			/* the list's memory goes with TopTransactionContext */
			pending = NULL;
			pending_count = 0;
			pending_size = 0;
			break;
	}
}

/* A new entry at the end of the list, zeroed. */
static PendingEvent *
pending_add(const char *type, StringInfo data)
{
	PendingEvent *ev;

	if (!xact_callbacks_registered)
	{
		RegisterXactCallback(xact_changed, NULL);
		RegisterSubXactCallback(subxact_changed, NULL);
		xact_callbacks_registered = true;
	}
	if (pending == NULL)
	{
		pending_size = 64;
		pending = MemoryContextAlloc(TopTransactionContext, sizeof(PendingEvent) * pending_size);
	}
	else if (pending_count == pending_size)
	{
		pending_size *= 2;
		pending = repalloc(pending, sizeof(PendingEvent) * pending_size);
	}
	ev = &pending[pending_count++];
	memset(ev, 0, sizeof(PendingEvent));
	ev->subxid = GetCurrentSubTransactionId();
	ev->type = type;
	appendStringInfoChar(data, '}');
	ev->data = MemoryContextStrdup(TopTransactionContext, data->data);
	return ev;
}

/* Sets an id of an event from a uuid column (left unset when null). */
static void
set_id(PendingEvent *ev, int id, RowChange *rc, HeapTuple tuple, int c)
{
	ev->has_id[id] = column_uuid(rc, tuple, c, &ev->ids[id]);
}

/* A call's events name the call, and its agent and queue as they are now. */
static void
set_call_ids(PendingEvent *ev, RowChange *rc)
{
	set_id(ev, ID_CALL, rc, rc->new, CALL_ID);
	set_id(ev, ID_AGENT, rc, rc->new, CALL_AGENT);
	set_id(ev, ID_QUEUE, rc, rc->new, CALL_QUEUE);
}

/*
 * call.created; call.state_changed, call.agent_changed, call.queue_changed
 * ({from, to}) when those columns change.
 */
static void
calls_changed(RowChange *rc)
{
	StringInfoData data;
	PendingEvent *ev;

	if (rc->old == NULL)
	{
		json_begin(&data);
		json_add_column(&data, "direction", rc, rc->new, CALL_DIRECTION);
		json_add_column(&data, "state", rc, rc->new, CALL_STATE);
		json_add_column(&data, "number", rc, rc->new, CALL_NUMBER);
		json_add_column(&data, "caller", rc, rc->new, CALL_CALLER);
		json_add_column(&data, "callee", rc, rc->new, CALL_CALLEE);
		json_add_column(&data, "parent_call_id", rc, rc->new, CALL_PARENT);
		ev = pending_add("call.created", &data);
		set_call_ids(ev, rc);
		return;
	}
	if (column_changed(rc, CALL_STATE))
	{
		bool		ended = column_is(rc, rc->new, CALL_STATE, "ended");

		json_begin(&data);
		json_add_column(&data, "from", rc, rc->old, CALL_STATE);
		json_add_column(&data, "to", rc, rc->new, CALL_STATE);
		if (ended)
		{
			json_add_column(&data, "cause", rc, rc->new, CALL_END_CAUSE);
			json_add_column(&data, "side", rc, rc->new, CALL_HANGUP_SIDE);
		}
		ev = pending_add("call.state_changed", &data);
		set_call_ids(ev, rc);
	}
	if (column_changed(rc, CALL_AGENT))
	{
		json_begin(&data);
		json_add_column(&data, "from", rc, rc->old, CALL_AGENT);
		json_add_column(&data, "to", rc, rc->new, CALL_AGENT);
		ev = pending_add("call.agent_changed", &data);
		set_call_ids(ev, rc);
	}
	if (column_changed(rc, CALL_QUEUE))
	{
		json_begin(&data);
		json_add_column(&data, "from", rc, rc->old, CALL_QUEUE);
		json_add_column(&data, "to", rc, rc->new, CALL_QUEUE);
		ev = pending_add("call.queue_changed", &data);
		set_call_ids(ev, rc);
	}
}

/*
 * leg.created (an INVITE received, or one about to be sent); what happens
 * to a leg next is appended by cc.leg_apply_event.
 */
static void
legs_changed(RowChange *rc)
{
	StringInfoData data;
	PendingEvent *ev;

	if (rc->old != NULL)
		return;
	json_begin(&data);
	json_add_column(&data, "kind", rc, rc->new, LEG_KIND);
	json_add_column(&data, "direction", rc, rc->new, LEG_DIRECTION);
	json_add_column(&data, "from", rc, rc->new, LEG_FROM);
	json_add_column(&data, "to", rc, rc->new, LEG_TO);
	json_add_column(&data, "phone_id", rc, rc->new, LEG_PHONE);
	json_add_column(&data, "trunk_id", rc, rc->new, LEG_TRUNK);
	ev = pending_add("leg.created", &data);
	set_id(ev, ID_CALL, rc, rc->new, LEG_CALL);
	set_id(ev, ID_LEG, rc, rc->new, LEG_ID);
	set_id(ev, ID_AGENT, rc, rc->new, LEG_AGENT);
}

/* queue_entry.created; queue_entry.state_changed ({from, to}). */
static void
queue_entries_changed(RowChange *rc)
{
	StringInfoData data;
	PendingEvent *ev;

	json_begin(&data);
	json_add_column(&data, "queue_entry_id", rc, rc->new, ENTRY_ID);
	if (rc->old == NULL)
	{
		json_add_column(&data, "state", rc, rc->new, ENTRY_STATE);
		json_add_column(&data, "priority", rc, rc->new, ENTRY_PRIORITY);
		json_add_column(&data, "from_queue_id", rc, rc->new, ENTRY_FROM_QUEUE);
		json_add_column(&data, "routing_rule_id", rc, rc->new, ENTRY_RULE);
		ev = pending_add("queue_entry.created", &data);
	}
	else if (column_changed(rc, ENTRY_STATE))
	{
		json_add_column(&data, "from", rc, rc->old, ENTRY_STATE);
		json_add_column(&data, "to", rc, rc->new, ENTRY_STATE);
		ev = pending_add("queue_entry.state_changed", &data);
	}
	else
		return;
	set_id(ev, ID_CALL, rc, rc->new, ENTRY_CALL);
	set_id(ev, ID_AGENT, rc, rc->new, ENTRY_AGENT);
	set_id(ev, ID_QUEUE, rc, rc->new, ENTRY_QUEUE);
}

/* offer.created; offer.decided ({from, to, reason}). */
static void
offers_changed(RowChange *rc)
{
	StringInfoData data;
	PendingEvent *ev;

	json_begin(&data);
	json_add_column(&data, "offer_id", rc, rc->new, OFFER_ID);
	if (rc->old == NULL)
	{
		json_add_column(&data, "queue_entry_id", rc, rc->new, OFFER_ENTRY);
		json_add_column(&data, "phone_id", rc, rc->new, OFFER_PHONE);
		ev = pending_add("offer.created", &data);
	}
	else if (column_changed(rc, OFFER_OUTCOME))
	{
		json_add_column(&data, "from", rc, rc->old, OFFER_OUTCOME);
		json_add_column(&data, "to", rc, rc->new, OFFER_OUTCOME);
		json_add_column(&data, "reason", rc, rc->new, OFFER_REASON);
		json_add_column(&data, "phone_id", rc, rc->new, OFFER_PHONE);
		ev = pending_add("offer.decided", &data);
	}
	else
		return;
	set_id(ev, ID_CALL, rc, rc->new, OFFER_CALL);
	set_id(ev, ID_LEG, rc, rc->new, OFFER_LEG);
	set_id(ev, ID_AGENT, rc, rc->new, OFFER_AGENT);
	ev->has_queue_entry = column_uuid(rc, rc->new, OFFER_ENTRY, &ev->queue_entry);
}

/* An agent in one of these states is with a call. */
static bool
agent_state_has_call(const char *state)
{
	return state != NULL &&
		(strcmp(state, "ringing") == 0 || strcmp(state, "talking") == 0 ||
		 strcmp(state, "wrap_up") == 0);
}

/*
 * agent.state_changed ({from, to, reason}) and its cc.agent_state_log row,
 * when the state changes (a new break reason is a change too); the call
 * that moved the agent is named for ringing, talking and wrap_up.
 */
static void
agents_changed(RowChange *rc)
{
	StringInfoData data;
	PendingEvent *ev;
	char	   *from_state;
	char	   *to_state;
	char	   *reason;
	bool		on_break;
	bool		isnull;

	if (rc->old == NULL)
		return;
	from_state = column_text(rc, rc->old, AGENT_STATE);
	to_state = column_text(rc, rc->new, AGENT_STATE);
	on_break = to_state != NULL && strcmp(to_state, "break") == 0;
	if (!column_changed(rc, AGENT_STATE) && !(on_break && column_changed(rc, AGENT_BREAK)))
		return;

	reason = column_text(rc, rc->new, AGENT_REASON);

	json_begin(&data);
	json_add_column(&data, "from", rc, rc->old, AGENT_STATE);
	json_add_column(&data, "to", rc, rc->new, AGENT_STATE);
	json_add_column(&data, "reason", rc, rc->new, AGENT_REASON);
	if (on_break)
		json_add_column(&data, "break_reason_id", rc, rc->new, AGENT_BREAK);
	json_add_column(&data, "extension", rc, rc->new, AGENT_EXTENSION);
	ev = pending_add("agent.state_changed", &data);
	set_id(ev, ID_AGENT, rc, rc->new, AGENT_ID);

	ev->agent_log = true;
	ev->from_state = MemoryContextStrdup(TopTransactionContext, from_state ? from_state : "");
	ev->to_state = MemoryContextStrdup(TopTransactionContext, to_state ? to_state : "");
	ev->reason = reason ? MemoryContextStrdup(TopTransactionContext, reason) : NULL;
	if (on_break)
		ev->has_break_reason = column_uuid(rc, rc->new, AGENT_BREAK, &ev->break_reason);
	/* the time the agent row says it entered the state, when it says so */
	if (column_changed(rc, AGENT_ENTERED))
	{
		Datum		value = column(rc, rc->new, AGENT_ENTERED, &isnull);

		ev->at = isnull ? GetCurrentTransactionStartTimestamp() : DatumGetTimestampTz(value);
	}
	else
		ev->at = GetCurrentTransactionStartTimestamp();
	ev->find_call = agent_state_has_call(from_state) || agent_state_has_call(to_state);
}

/* command.created; command.claimed when a worker claims it. */
static void
commands_changed(RowChange *rc)
{
	StringInfoData data;
	PendingEvent *ev;

	json_begin(&data);
	json_add_column(&data, "kind", rc, rc->new, COMMAND_KIND);
	if (rc->old == NULL)
		ev = pending_add("command.created", &data);
	else if (column_is(rc, rc->new, COMMAND_STATE, "claimed") &&
			 !column_is(rc, rc->old, COMMAND_STATE, "claimed"))
	{
		json_add_column(&data, "claimed_by", rc, rc->new, COMMAND_CLAIMED_BY);
		json_add_column(&data, "attempts", rc, rc->new, COMMAND_ATTEMPTS);
		ev = pending_add("command.claimed", &data);
	}
	else
		return;
	set_id(ev, ID_CALL, rc, rc->new, COMMAND_CALL);
	set_id(ev, ID_COMMAND, rc, rc->new, COMMAND_ID);
}

/*
 * cc.change_event_row(table): AFTER INSERT OR UPDATE ... FOR EACH ROW.
 * Lists the events of one row's change; cc.change_events_write writes them
 * at the end of the statement.
 */
Datum
cc_change_event_row(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	RowChange	rc;
	const char *name;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) || trigdata->tg_trigger->tgnargs != 1)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("cc: cc.change_event_row() must be an AFTER ... FOR EACH ROW trigger with one argument, the table's name")));
	name = trigdata->tg_trigger->tgargs[0];
	for (rc.table = 0; rc.table < CT_COUNT; rc.table++)
		if (strcmp(name, table_names[rc.table]) == 0)
			break;
	if (rc.table == CT_COUNT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cc: change events: unknown table \"%s\"", name),
				 errhint("The argument is one of calls, legs, queue_entries, offers, agents, commands.")));

	rc.desc = RelationGetDescr(trigdata->tg_relation);
	rc.att = table_attnums(rc.table, trigdata->tg_relation);
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		rc.old = trigdata->tg_trigtuple;
		rc.new = trigdata->tg_newtuple;
	}
	else
	{
		rc.old = NULL;
		rc.new = trigdata->tg_trigtuple;
	}

	/*
	 * What is computed here goes with the memory context trigger functions
	 * are called in, reset after each row; the list is in
	 * TopTransactionContext.
	 */
	switch (rc.table)
	{
		case CT_CALLS:
			calls_changed(&rc);
			break;
		case CT_LEGS:
			legs_changed(&rc);
			break;
		case CT_QUEUE_ENTRIES:
			queue_entries_changed(&rc);
			break;
		case CT_OFFERS:
			offers_changed(&rc);
			break;
		case CT_AGENTS:
			agents_changed(&rc);
			break;
		case CT_COMMANDS:
			commands_changed(&rc);
			break;
		case CT_COUNT:
			break;
	}
	return PointerGetDatum(NULL);
}

/* A one-dimensional array of n elements of a type (nulls where !has). */
static Datum
array_of(Datum *elems, bool *has, int n, Oid type)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	bool	   *nulls = palloc(sizeof(bool) * Max(n, 1));
	int			dims[1] = {n};
	int			lbs[1] = {1};

	for (int i = 0; i < n; i++)
		nulls[i] = has != NULL && !has[i];
	get_typlenbyvalalign(type, &typlen, &typbyval, &typalign);
	return PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs, type, typlen, typbyval, typalign));
}

/*
 * A kept plan, generic from the start: planned for each array's actual
 * length, a custom plan looks cheaper than the generic one for a single
 * event, so the plan cache would plan the INSERT again at every statement.
 */
static SPIPlanPtr
prepare_kept(const char *query, int nargs, Oid *types)
{
	SPIPlanPtr	plan = SPI_prepare_cursor(query, nargs, types, CURSOR_OPT_GENERIC_PLAN);

	if (plan == NULL)
		elog(ERROR, "cc: SPI_prepare of the change events' INSERT failed: %s",
			 SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "cc: SPI_keepplan of the change events' INSERT failed");
	return plan;
}

/* Runs one of the two INSERTs; n events are written. */
static void
execute_insert(SPIPlanPtr plan, Datum *args, int n)
{
	int			rc = SPI_execute_plan(plan, args, NULL, false, 0);

	if (rc != SPI_OK_INSERT)
		elog(ERROR, "cc: writing %d change events failed: %s", n, SPI_result_code_string(rc));
}

/*
 * Writes events[0..n), none of them an agent's: one INSERT into cc.events,
 * which gives them their seq in this order.  An offer's queue is its
 * entry's.  Their ids are drawn in one batch (random_uuids.c), not by the
 * column's gen_random_uuid() default, one draw per row.
 */
static void
write_plain_events(PendingEvent *events, int n)
{
	Datum	   *types = palloc(sizeof(Datum) * n);
	Datum	   *data = palloc(sizeof(Datum) * n);
	Datum	   *ids[ID_COUNT];
	bool	   *has[ID_COUNT];
	Datum	   *entries = palloc(sizeof(Datum) * n);
	bool	   *has_entry = palloc(sizeof(bool) * n);
	Datum		args[9];

	for (int k = 0; k < ID_COUNT; k++)
	{
		ids[k] = palloc(sizeof(Datum) * n);
		has[k] = palloc(sizeof(bool) * n);
	}
	for (int i = 0; i < n; i++)
	{
		types[i] = CStringGetTextDatum(events[i].type);
		data[i] = CStringGetTextDatum(events[i].data);
		for (int k = 0; k < ID_COUNT; k++)
		{
			ids[k][i] = UUIDPGetDatum(&events[i].ids[k]);
			has[k][i] = events[i].has_id[k];
		}
		entries[i] = UUIDPGetDatum(&events[i].queue_entry);
		has_entry[i] = events[i].has_queue_entry;
	}
	args[0] = array_of(types, NULL, n, TEXTOID);
	args[1] = array_of(data, NULL, n, TEXTOID);
	for (int k = 0; k < ID_COUNT; k++)
		args[2 + k] = array_of(ids[k], has[k], n, UUIDOID);
	args[7] = array_of(entries, has_entry, n, UUIDOID);
	args[8] = PointerGetDatum(cc_random_uuid_array(n));
	if (events_plan == NULL)
	{
		Oid			argtypes[9] = {TEXTARRAYOID, TEXTARRAYOID, UUIDARRAYOID, UUIDARRAYOID,
		UUIDARRAYOID, UUIDARRAYOID, UUIDARRAYOID, UUIDARRAYOID, UUIDARRAYOID};

		events_plan = prepare_kept(
			"INSERT INTO cc.events (id, type, data, call_id, leg_id, agent_id, queue_id, command_id) "
			"SELECT u.id, u.type, u.data::jsonb, u.call_id, u.leg_id, u.agent_id, "
			"       coalesce(u.queue_id, (SELECT e.queue_id FROM cc.queue_entries AS e WHERE e.id = u.entry_id)), "
			"       u.command_id "
			"  FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9) WITH ORDINALITY "
			"       AS u (type, data, call_id, leg_id, agent_id, queue_id, command_id, entry_id, id, n) "
			" ORDER BY u.n",
			9, argtypes);
	}
	execute_insert(events_plan, args, n);
}

/*
 * Writes events[0..n), all agent.state_changed: one statement inserts
 * their cc.agent_state_log rows and their events, in this order (the ids
 * of each drawn in one batch).
 */
static void
write_agent_events(PendingEvent *events, int n)
{
	Datum	   *agents = palloc(sizeof(Datum) * n);
	bool	   *has_agent = palloc(sizeof(bool) * n);
	Datum	   *from_states = palloc(sizeof(Datum) * n);
	Datum	   *to_states = palloc(sizeof(Datum) * n);
	Datum	   *reasons = palloc(sizeof(Datum) * n);
	bool	   *has_reason = palloc(sizeof(bool) * n);
	Datum	   *breaks = palloc(sizeof(Datum) * n);
	bool	   *has_break = palloc(sizeof(bool) * n);
	Datum	   *ats = palloc(sizeof(Datum) * n);
	Datum	   *find_calls = palloc(sizeof(Datum) * n);
	Datum	   *data = palloc(sizeof(Datum) * n);
	Datum		args[10];

	for (int i = 0; i < n; i++)
	{
		agents[i] = UUIDPGetDatum(&events[i].ids[ID_AGENT]);
		has_agent[i] = events[i].has_id[ID_AGENT];
		from_states[i] = CStringGetTextDatum(events[i].from_state);
		to_states[i] = CStringGetTextDatum(events[i].to_state);
		has_reason[i] = events[i].reason != NULL;
		reasons[i] = has_reason[i] ? CStringGetTextDatum(events[i].reason) : (Datum) 0;
		breaks[i] = UUIDPGetDatum(&events[i].break_reason);
		has_break[i] = events[i].has_break_reason;
		ats[i] = TimestampTzGetDatum(events[i].at);
		find_calls[i] = BoolGetDatum(events[i].find_call);
		data[i] = CStringGetTextDatum(events[i].data);
	}
	args[0] = array_of(agents, has_agent, n, UUIDOID);
	args[1] = array_of(from_states, NULL, n, TEXTOID);
	args[2] = array_of(to_states, NULL, n, TEXTOID);
	args[3] = array_of(reasons, has_reason, n, TEXTOID);
	args[4] = array_of(breaks, has_break, n, UUIDOID);
	args[5] = array_of(ats, NULL, n, TIMESTAMPTZOID);
	args[6] = array_of(find_calls, NULL, n, BOOLOID);
	args[7] = array_of(data, NULL, n, TEXTOID);
	args[8] = PointerGetDatum(cc_random_uuid_array(n));	/* log rows' ids */
	args[9] = PointerGetDatum(cc_random_uuid_array(n));	/* events' ids */
	if (agent_events_plan == NULL)
	{
		Oid			argtypes[10] = {UUIDARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
		UUIDARRAYOID, TIMESTAMPTZARRAYOID, BOOLARRAYOID, TEXTARRAYOID, UUIDARRAYOID, UUIDARRAYOID};

		/* the call that moved the agent is its most recent leg's */
		agent_events_plan = prepare_kept(
			"WITH u AS ("
			"    SELECT u.*, CASE WHEN u.find_call THEN"
			"                    (SELECT l.call_id FROM cc.legs AS l WHERE l.agent_id = u.agent_id"
			"                      ORDER BY l.created_at DESC LIMIT 1) END AS call_id"
			"      FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) WITH ORDINALITY"
			"           AS u (agent_id, from_state, to_state, reason, break_reason_id, at, find_call, data,"
			"                 log_id, event_id, n)), "
			"log AS ("
			"    INSERT INTO cc.agent_state_log (id, agent_id, from_state, to_state, reason, break_reason_id, call_id, at)"
			"    SELECT u.log_id, u.agent_id, u.from_state, u.to_state, u.reason, u.break_reason_id, u.call_id, u.at"
			"      FROM u ORDER BY u.n) "
			"INSERT INTO cc.events (id, type, data, call_id, agent_id) "
			"SELECT u.event_id, 'agent.state_changed', u.data::jsonb, u.call_id, u.agent_id FROM u ORDER BY u.n",
			10, argtypes);
	}
	execute_insert(agent_events_plan, args, n);
}

/*
 * cc.change_events_write(): AFTER INSERT OR UPDATE ... FOR EACH STATEMENT.
 * Writes the events the row triggers of this statement listed (and any
 * other listed in this subtransaction), in the order they were listed.
 */
Datum
cc_change_events_write(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	SubTransactionId current = GetCurrentSubTransactionId();
	PendingEvent *mine;
	int			n = 0;
	int			kept = 0;
	int			start;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("cc: cc.change_events_write() must be an AFTER ... FOR EACH STATEMENT trigger")));
	if (pending_count == 0)
		return PointerGetDatum(NULL);

	/*
	 * Take this subtransaction's events off the list before writing them:
	 * writing them fires other triggers, which may list and write events of
	 * their own.
	 */
	mine = palloc(sizeof(PendingEvent) * pending_count);
	for (int i = 0; i < pending_count; i++)
	{
		if (pending[i].subxid == current)
			mine[n++] = pending[i];
		else
			pending[kept++] = pending[i];
	}
	pending_count = kept;
	if (n == 0)
		return PointerGetDatum(NULL);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "cc: SPI_connect failed");
	start = 0;
	for (int i = 1; i <= n; i++)
		if (i == n || mine[i].agent_log != mine[start].agent_log)
		{
			if (mine[start].agent_log)
				write_agent_events(&mine[start], i - start);
			else
				write_plain_events(&mine[start], i - start);
			start = i;
		}
	SPI_finish();
	return PointerGetDatum(NULL);
}
