/*
 * events_announce.c
 *		cc.events_announce(), the one trigger on cc.events: announces each
 *		new event on channel cc_events, hands it to cc.event_deliver() when
 *		an enabled webhook subscribes to its type, and to
 *		cc.self_service_on_flow_done() when it ends a self-service flow.
 *
 * A call appends some sixteen events, most of them in cc sip's
 * transactions.  Written in PL/pgSQL this trigger cost about 30 us per event
 * there (the notification built with jsonb functions, a query of
 * cc.webhooks at every event), a tenth of cc sip's CPU per call.  Here the
 * notification is written directly, and the patterns of the enabled
 * webhooks come from a per-backend cache that a trigger on cc.webhooks
 * invalidates (the way pg_cron caches cron.job), so SQL runs only for an
 * event that a webhook wants or that ends a self-service flow.
 *
 * Also here, so that each rule has one implementation: cc.event_type_matches
 * (a type against subscription patterns), cc.event_type_is_valid (what a
 * type may be: the CHECK of cc.events) and cc.event_notification (the
 * payload, callable from SQL).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/tupconvert.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"
#include "utils/uuid.h"

PG_FUNCTION_INFO_V1(cc_events_announce);
PG_FUNCTION_INFO_V1(cc_webhooks_changed);
PG_FUNCTION_INFO_V1(cc_event_type_matches);
PG_FUNCTION_INFO_V1(cc_event_type_is_valid);
PG_FUNCTION_INFO_V1(cc_event_notification);

/*
 * An event's data goes into its notification when its text has at most this
 * many bytes: a NOTIFY payload must stay under 8000 bytes.
 */
#define EVENT_NOTIFY_DATA_MAX 4000

/* The id columns of a notification, in the order they are written. */
static const char *const event_id_columns[] = {
	"call_id", "leg_id", "agent_id", "queue_id", "command_id"
};
#define EVENT_ID_COLUMNS lengthof(event_id_columns)

/*
 * Where the columns the trigger reads are in a row of cc.events or of one of
 * its partitions (found by name: a partition's attribute numbers may differ
 * from its parent's).
 */
typedef struct EventColumns
{
	AttrNumber	seq;
	AttrNumber	at;
	AttrNumber	type;
	AttrNumber	data;
	AttrNumber	ids[EVENT_ID_COLUMNS];
} EventColumns;

/*
 * The patterns of every enabled webhook, for this backend.  Any change of
 * cc.webhooks invalidates it (cc_webhooks_changed sends a relcache
 * invalidation, delivered to every backend at commit and to this one at
 * its next command); the next event reads the table again.
 */
static MemoryContext webhook_patterns_cxt = NULL;
static char **webhook_patterns = NULL;
static int	webhook_pattern_count = 0;
static Oid	webhooks_relid = InvalidOid;
static bool webhook_patterns_valid = false;
static uint64 webhook_invalidations = 0;
static bool webhook_callback_registered = false;

/* Saved plans of the SQL an event may need, for one row type of cc.events. */
static Oid	saved_plans_rowtype = InvalidOid;
static SPIPlanPtr deliver_plan = NULL;
static SPIPlanPtr self_service_plan = NULL;

/*
 * event_columns finds the columns of cc.events in a row descriptor; a
 * column that is missing is an error (the table is not what this code
 * knows).
 */
static void
event_columns(TupleDesc tupdesc, EventColumns *cols)
{
	memset(cols, 0, sizeof(*cols));
	for (int i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		const char *name = NameStr(att->attname);

		if (att->attisdropped)
			continue;
		if (strcmp(name, "seq") == 0)
			cols->seq = att->attnum;
		else if (strcmp(name, "at") == 0)
			cols->at = att->attnum;
		else if (strcmp(name, "type") == 0)
			cols->type = att->attnum;
		else if (strcmp(name, "data") == 0)
			cols->data = att->attnum;
		else
			for (int k = 0; k < EVENT_ID_COLUMNS; k++)
				if (strcmp(name, event_id_columns[k]) == 0)
					cols->ids[k] = att->attnum;
	}
	if (cols->seq == 0 || cols->at == 0 || cols->type == 0 || cols->data == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cc: a row of cc.events needs the columns seq, at, type and data")));
	for (int k = 0; k < EVENT_ID_COLUMNS; k++)
		if (cols->ids[k] == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("cc: a row of cc.events needs the column %s", event_id_columns[k])));
}

/* event_type is an event's type as a C string, NULL when the column is. */
static char *
event_type(HeapTuple tuple, TupleDesc tupdesc, const EventColumns *cols)
{
	bool		isnull;
	Datum		value = heap_getattr(tuple, cols->type, tupdesc, &isnull);

	return isnull ? NULL : TextDatumGetCString(value);
}

/*
 * Appends a UUID as uuid_out writes it, without the function call and the
 * format string (a notification has up to five).
 */
static void
append_uuid(StringInfo buf, const pg_uuid_t *uuid)
{
	static const char hex[] = "0123456789abcdef";
	char		out[36];
	int			o = 0;

	for (int i = 0; i < UUID_LEN; i++)
	{
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[uuid->data[i] >> 4];
		out[o++] = hex[uuid->data[i] & 0x0f];
	}
	appendBinaryStringInfo(buf, out, o);
}

/*
 * event_notification writes the cc_events payload of an event (type as
 * event_type gives it): a JSON object with seq, type, at, the ids that are
 * set, and data when its text has at most EVENT_NOTIFY_DATA_MAX bytes.  at
 * is written as the jsonb functions write a timestamptz (ISO 8601 in the
 * session's time zone).
 */
static char *
event_notification(HeapTuple tuple, TupleDesc tupdesc, const EventColumns *cols, const char *type)
{
	StringInfoData buf;
	Datum		value;
	bool		isnull;
	char		at[MAXDATELEN + 1];

	initStringInfo(&buf);

	value = heap_getattr(tuple, cols->seq, tupdesc, &isnull);
	appendStringInfoString(&buf, "{\"seq\": ");
	if (isnull)
		appendStringInfoString(&buf, "null");
	else
	{
		char		digits[MAXINT8LEN + 1];

		appendBinaryStringInfo(&buf, digits, pg_lltoa(DatumGetInt64(value), digits));
	}

	appendStringInfoString(&buf, ", \"type\": ");
	if (type == NULL)
		appendStringInfoString(&buf, "null");
	else
		escape_json(&buf, type);

	value = heap_getattr(tuple, cols->at, tupdesc, &isnull);
	appendStringInfoString(&buf, ", \"at\": ");
	if (isnull)
		appendStringInfoString(&buf, "null");
	else
	{
		appendStringInfoChar(&buf, '"');
		appendStringInfoString(&buf, JsonEncodeDateTime(at, value, TIMESTAMPTZOID, NULL));
		appendStringInfoChar(&buf, '"');
	}

	for (int k = 0; k < EVENT_ID_COLUMNS; k++)
	{
		value = heap_getattr(tuple, cols->ids[k], tupdesc, &isnull);
		if (isnull)
			continue;
		appendStringInfoString(&buf, ", \"");
		appendStringInfoString(&buf, event_id_columns[k]);
		appendStringInfoString(&buf, "\": \"");
		append_uuid(&buf, DatumGetUUIDP(value));
		appendStringInfoChar(&buf, '"');
	}

	value = heap_getattr(tuple, cols->data, tupdesc, &isnull);
	if (!isnull)
	{
		Jsonb	   *data = DatumGetJsonbP(value);
		char	   *text = JsonbToCString(NULL, &data->root, VARSIZE(data));

		if (strlen(text) <= EVENT_NOTIFY_DATA_MAX)
		{
			appendStringInfoString(&buf, ", \"data\": ");
			appendStringInfoString(&buf, text);
		}
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/* event_type_matches_pattern: *, the type itself, a prefix (call.*) or a bare domain (cdr = cdr.*). */
static bool
event_type_matches_pattern(const char *type, const char *pattern)
{
	size_t		plen = strlen(pattern);

	if (strcmp(pattern, "*") == 0 || strcmp(pattern, type) == 0)
		return true;
	if (plen >= 2 && strcmp(pattern + plen - 2, ".*") == 0)
		return strncmp(type, pattern, plen - 1) == 0;
	if (strchr(pattern, '.') == NULL)
		return strncmp(type, pattern, plen) == 0 && type[plen] == '.';
	return false;
}

/* webhook_patterns_invalidate is the relcache callback: cc.webhooks changed, or every relation did. */
static void
webhook_patterns_invalidate(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == webhooks_relid)
	{
		webhook_patterns_valid = false;
		webhook_invalidations++;
	}
}

/*
 * webhook_patterns_load reads the patterns of the enabled webhooks.  It
 * reads with the latest snapshot, not the statement's: an invalidation is
 * sent after its transaction became visible, so the latest snapshot sees
 * every change that invalidated the cache.  An invalidation that arrives
 * while it reads leaves the cache invalid, for the next event to read again.
 */
static void
webhook_patterns_load(void)
{
	uint64		invalidations_before;
	Oid			cc_schema;
	SPIPlanPtr	plan;
	int			rc;

	if (!webhook_callback_registered)
	{
		CacheRegisterRelcacheCallback(webhook_patterns_invalidate, (Datum) 0);
		webhook_callback_registered = true;
	}
	if (webhook_patterns_cxt == NULL)
		webhook_patterns_cxt = AllocSetContextCreate(TopMemoryContext, "cc webhook patterns",
													 ALLOCSET_SMALL_SIZES);
	MemoryContextReset(webhook_patterns_cxt);
	webhook_patterns = NULL;
	webhook_pattern_count = 0;
	webhook_patterns_valid = false;

	cc_schema = get_namespace_oid("cc", false);
	webhooks_relid = get_relname_relid("webhooks", cc_schema);
	if (!OidIsValid(webhooks_relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("cc: table cc.webhooks does not exist")));
	invalidations_before = webhook_invalidations;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "cc: SPI_connect failed");
	plan = SPI_prepare("SELECT DISTINCT p FROM cc.webhooks AS h, unnest(h.event_types) AS p"
					   " WHERE h.enabled AND p IS NOT NULL", 0, NULL);
	if (plan == NULL)
		elog(ERROR, "cc: SPI_prepare of the webhook patterns failed: %s", SPI_result_code_string(SPI_result));
	rc = SPI_execute_snapshot(plan, NULL, NULL, GetLatestSnapshot(), InvalidSnapshot, true, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "cc: reading the webhook patterns failed: %s", SPI_result_code_string(rc));

	webhook_patterns = MemoryContextAlloc(webhook_patterns_cxt, sizeof(char *) * Max(SPI_processed, 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *p = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);

		webhook_patterns[webhook_pattern_count++] = MemoryContextStrdup(webhook_patterns_cxt, p);
	}
	SPI_finish();

	webhook_patterns_valid = (webhook_invalidations == invalidations_before);
}

/* event_wanted_by_webhook says whether an enabled webhook subscribes to this type. */
static bool
event_wanted_by_webhook(const char *type)
{
	if (!webhook_patterns_valid)
		webhook_patterns_load();
	for (int i = 0; i < webhook_pattern_count; i++)
		if (event_type_matches_pattern(type, webhook_patterns[i]))
			return true;
	return false;
}

/* event_ends_self_service: a flow.ended event whose reason is self_service_done. */
static bool
event_ends_self_service(const char *type, HeapTuple tuple, TupleDesc tupdesc, const EventColumns *cols)
{
	Datum		value;
	bool		isnull;
	Jsonb	   *data;
	JsonbValue	reason;
	static const char wanted[] = "self_service_done";

	if (strcmp(type, "flow.ended") != 0)
		return false;
	value = heap_getattr(tuple, cols->data, tupdesc, &isnull);
	if (isnull)
		return false;
	data = DatumGetJsonbP(value);
	if (!JB_ROOT_IS_OBJECT(data) ||
		getKeyJsonValueFromContainer(&data->root, "reason", strlen("reason"), &reason) == NULL)
		return false;
	return reason.type == jbvString && reason.val.string.len == strlen(wanted) &&
		memcmp(reason.val.string.val, wanted, strlen(wanted)) == 0;
}

/*
 * event_as_row turns the trigger's row (of a partition of cc.events) into a
 * value of type cc.events for the SQL functions; *rowtype is that type.
 */
static Datum
event_as_row(Relation rel, HeapTuple tuple, Oid *rowtype)
{
	Oid			parent = RelationGetRelid(rel);
	TupleDesc	parent_desc;
	TupleConversionMap *map;
	Datum		row;

	if (rel->rd_rel->relispartition)
		parent = get_partition_parent(parent, false);
	*rowtype = get_rel_type_id(parent);
	parent_desc = lookup_rowtype_tupdesc(*rowtype, -1);
	map = convert_tuples_by_name(RelationGetDescr(rel), parent_desc);
	if (map != NULL)
		tuple = execute_attr_map_tuple(tuple, map);
	row = heap_copy_tuple_as_datum(tuple, parent_desc);
	ReleaseTupleDesc(parent_desc);
	return row;
}

/* saved_plan prepares and keeps "SELECT <function>($1)" for an argument of the given row type. */
static SPIPlanPtr
saved_plan(const char *query, Oid rowtype)
{
	SPIPlanPtr	plan = SPI_prepare(query, 1, &rowtype);

	if (plan == NULL)
		elog(ERROR, "cc: SPI_prepare of \"%s\" failed: %s", query, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "cc: SPI_keepplan of \"%s\" failed", query);
	return plan;
}

/* event_run_sql runs the event's SQL: its webhook deliveries, its self-service hand-back. */
static void
event_run_sql(Relation rel, HeapTuple tuple, bool deliver, bool self_service)
{
	Oid			rowtype;
	Datum		row;
	int			rc;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "cc: SPI_connect failed");
	row = event_as_row(rel, tuple, &rowtype);
	if (rowtype != saved_plans_rowtype)
	{
		/* first use, or the extension was created again: new types */
		if (deliver_plan)
			SPI_freeplan(deliver_plan);
		if (self_service_plan)
			SPI_freeplan(self_service_plan);
		deliver_plan = self_service_plan = NULL;
		saved_plans_rowtype = InvalidOid;
		deliver_plan = saved_plan("SELECT cc.event_deliver($1)", rowtype);
		self_service_plan = saved_plan("SELECT cc.self_service_on_flow_done($1)", rowtype);
		saved_plans_rowtype = rowtype;
	}
	if (deliver)
	{
		rc = SPI_execute_plan(deliver_plan, &row, NULL, false, 0);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "cc: cc.event_deliver failed: %s", SPI_result_code_string(rc));
	}
	if (self_service)
	{
		rc = SPI_execute_plan(self_service_plan, &row, NULL, false, 0);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "cc: cc.self_service_on_flow_done failed: %s", SPI_result_code_string(rc));
	}
	SPI_finish();
}

/*
 * cc_events_announce is the AFTER INSERT row trigger of cc.events (fired on
 * the partition the row went to).
 */
Datum
cc_events_announce(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	HeapTuple	tuple;
	TupleDesc	tupdesc;
	EventColumns cols;
	char	   *type;
	bool		deliver;
	bool		self_service;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) || !TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("cc: cc.events_announce() is an AFTER INSERT ... FOR EACH ROW trigger of cc.events")));

	tuple = trigdata->tg_trigtuple;
	tupdesc = RelationGetDescr(trigdata->tg_relation);
	event_columns(tupdesc, &cols);
	type = event_type(tuple, tupdesc, &cols);

	Async_Notify("cc_events", event_notification(tuple, tupdesc, &cols, type));
	if (type == NULL)
		return PointerGetDatum(NULL);	/* refused by the table anyway */
	deliver = event_wanted_by_webhook(type);
	self_service = event_ends_self_service(type, tuple, tupdesc, &cols);
	if (deliver || self_service)
		event_run_sql(trigdata->tg_relation, tuple, deliver, self_service);
	return PointerGetDatum(NULL);
}

/*
 * cc_webhooks_changed is the statement trigger of cc.webhooks: every
 * backend's cache of webhook patterns is invalidated when the change
 * commits (and this backend's at its next command).
 */
Datum
cc_webhooks_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("cc: cc.webhooks_changed() is a trigger of cc.webhooks")));
	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));
	return PointerGetDatum(NULL);
}

/*
 * cc_event_type_is_valid: cc.event_type_is_valid(type), the rule of
 * cc.events' type CHECK: two or more dot-separated words, each a lowercase
 * ASCII letter then lowercase letters, digits or underscores (the regex
 * ^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$).  Written out because the regex
 * engine cost 1.5 % of a queue pairing's instructions (five events each).
 */
Datum
cc_event_type_is_valid(PG_FUNCTION_ARGS)
{
	text	   *type = PG_GETARG_TEXT_PP(0);
	const char *p = VARDATA_ANY(type);
	const char *end = p + VARSIZE_ANY_EXHDR(type);
	int			words = 0;

	for (;;)
	{
		/* a word: a letter, then letters, digits and underscores */
		if (p == end || *p < 'a' || *p > 'z')
			PG_RETURN_BOOL(false);
		for (p++; p < end && ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'); p++)
			;
		words++;
		if (p == end)
			PG_RETURN_BOOL(words >= 2);
		if (*p != '.')
			PG_RETURN_BOOL(false);
		p++;
	}
}

/*
 * cc_event_type_matches: cc.event_type_matches(type, patterns).  NULL
 * patterns match nothing; a NULL type matches only *.
 */
Datum
cc_event_type_matches(PG_FUNCTION_ARGS)
{
	char	   *type;
	ArrayType  *patterns;
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (PG_ARGISNULL(1))
		PG_RETURN_BOOL(false);
	type = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	patterns = PG_GETARG_ARRAYTYPE_P(1);
	deconstruct_array(patterns, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		char	   *p;

		if (nulls[i])
			continue;
		p = TextDatumGetCString(elems[i]);
		if (type == NULL ? strcmp(p, "*") == 0 : event_type_matches_pattern(type, p))
			PG_RETURN_BOOL(true);
	}
	PG_RETURN_BOOL(false);
}

/* cc_event_notification: cc.event_notification(e cc.events), the payload the trigger sends. */
Datum
cc_event_notification(PG_FUNCTION_ARGS)
{
	HeapTupleHeader row = PG_GETARG_HEAPTUPLEHEADER(0);
	TupleDesc	tupdesc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(row),
												 HeapTupleHeaderGetTypMod(row));
	HeapTupleData tuple;
	EventColumns cols;
	char	   *payload;

	tuple.t_len = HeapTupleHeaderGetDatumLength(row);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = row;
	event_columns(tupdesc, &cols);
	payload = event_notification(&tuple, tupdesc, &cols, event_type(&tuple, tupdesc, &cols));
	ReleaseTupleDesc(tupdesc);
	PG_RETURN_TEXT_P(cstring_to_text(payload));
}
