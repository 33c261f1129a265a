/*
 * sip_action.c
 *		Parses the JSON array of actions a decision returned into SipActions,
 *		and reads their parameters by dotted path ("command_info.type",
 *		"values.0.text": a numeric segment indexes an array).
 *
 * sip_actions_parse runs inside the transaction that produced the JSON (a
 * malformed array is an ERROR there, rolled back and logged); the copies it
 * makes are plain memory, so the accessors work in the loop, outside any
 * transaction, and never ereport.
 */
#include "postgres.h"

#include <ctype.h>

#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "sip_action.h"

static bool lookup(const SipAction *action, const char *path, JsonbValue *out);
static bool header_ok(const char *name, const char *value);
static char *string_of(const JsonbValue *v);
static void append_header(StringInfo out, const char *name, const char *value);

/* The action types cc sip knows, and what it does with each. */
static const struct
{
	const char *name;
	SipActionType type;
}			action_types[] = {
	{"answer", SIP_ACTION_ANSWER},
	{"ring", SIP_ACTION_RING},
	{"wait", SIP_ACTION_WAIT},
	{"hangup", SIP_ACTION_HANGUP},
	{"end_session", SIP_ACTION_HANGUP},
	{"dial", SIP_ACTION_DIAL},
	{"connect_to_agent", SIP_ACTION_CONNECT_TO_AGENT},
	{"refer_notify", SIP_ACTION_REFER_NOTIFY},
	{"play", SIP_ACTION_MEDIA},
	{"text", SIP_ACTION_MEDIA},
	{"audio", SIP_ACTION_MEDIA},
	{"dtmf", SIP_ACTION_MEDIA},
	{"stop_media", SIP_ACTION_MEDIA},
	{"bridge", SIP_ACTION_MEDIA},
	{"unbridge", SIP_ACTION_MEDIA},
	{"hold", SIP_ACTION_MEDIA},
	{"unhold", SIP_ACTION_MEDIA},
	{"mute", SIP_ACTION_MEDIA},
	{"unmute", SIP_ACTION_MEDIA},
	{"record", SIP_ACTION_MEDIA},
	{"conference", SIP_ACTION_MEDIA},
	{"monitor", SIP_ACTION_MEDIA},
};

/* sip_action_type_of maps an action's "type" to what cc sip does with it. */
SipActionType
sip_action_type_of(const char *name)
{
	int			i;

	if (name == NULL)
		return SIP_ACTION_UNKNOWN;
	for (i = 0; i < lengthof(action_types); i++)
		if (strcmp(action_types[i].name, name) == 0)
			return action_types[i].type;
	return SIP_ACTION_UNKNOWN;
}

/*
 * sip_actions_parse reads a JSON array of action objects (NULL or "null":
 * none) into SipActions allocated in context.  Must run inside a
 * transaction; a value that is not an array is an ERROR.  Elements that are
 * not objects become SIP_ACTION_UNKNOWN, so one bad element never stops the
 * others.
 */
SipAction *
sip_actions_parse(const char *json, int *count, MemoryContext context)
{
	Jsonb	   *array;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken token;
	SipAction  *actions;
	int			n;
	int			i = 0;
	MemoryContext old;

	*count = 0;
	if (json == NULL)
		return NULL;
	array = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));
	if (JB_ROOT_IS_SCALAR(array) && JB_ROOT_COUNT(array) == 1)
	{
		JsonbValue	scalar;

		if (JsonbExtractScalar(&array->root, &scalar) && scalar.type == jbvNull)
			return NULL;
	}
	if (!JB_ROOT_IS_ARRAY(array) || JB_ROOT_IS_SCALAR(array))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cc: actions must be a JSON array, not %s", json)));
	n = JB_ROOT_COUNT(array);
	if (n == 0)
		return NULL;

	old = MemoryContextSwitchTo(context);
	actions = palloc0(sizeof(SipAction) * n);
	it = JsonbIteratorInit(&array->root);
	while ((token = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		SipAction  *a;

		if (token != WJB_ELEM || i >= n)
			continue;
		a = &actions[i++];
		if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
		{
			a->type = SIP_ACTION_UNKNOWN;
			a->name = pstrdup("(not an object)");
			continue;
		}
		a->json = JsonbValueToJsonb(&v);
		a->name = sip_action_str(a, "type");
		if (a->name == NULL)
			a->name = pstrdup("(no type)");
		a->type = sip_action_type_of(a->name);
		a->leg = sip_action_str(a, "leg");
		a->tag = sip_action_str(a, "tag");
	}
	MemoryContextSwitchTo(old);
	*count = i;
	return actions;
}

/*
 * lookup finds the value at a dotted path; false when any step is missing
 * or of the wrong kind.
 */
static bool
lookup(const SipAction *action, const char *path, JsonbValue *out)
{
	JsonbContainer *container;
	const char *segment = path;

	if (action == NULL || action->json == NULL || path == NULL)
		return false;
	container = &action->json->root;
	for (;;)
	{
		const char *dot = strchr(segment, '.');
		int			len = dot ? (int) (dot - segment) : (int) strlen(segment);
		JsonbValue *found = NULL;
		JsonbValue	by_key;

		if (JsonContainerIsArray(container))
		{
			char	   *end;
			long		index = strtol(segment, &end, 10);

			if (end != segment + len || index < 0 || index >= JsonContainerSize(container))
				return false;
			found = getIthJsonbValueFromContainer(container, (uint32) index);
		}
		else if (JsonContainerIsObject(container))
			found = getKeyJsonValueFromContainer(container, segment, len, &by_key);
		if (found == NULL)
			return false;
		if (dot == NULL)
		{
			*out = *found;
			return true;
		}
		if (found->type != jbvBinary)
			return false;
		container = found->val.binary.data;
		segment = dot + 1;
	}
}

/*
 * sip_action_str returns the value at path as text (palloc'd in the current
 * context): strings as they are, numbers and booleans spelled out; NULL
 * when absent, null, an object or an array.
 */
char *
sip_action_str(const SipAction *action, const char *path)
{
	JsonbValue	v;

	if (!lookup(action, path, &v))
		return NULL;
	switch (v.type)
	{
		case jbvString:
			return pnstrdup(v.val.string.val, v.val.string.len);
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v.val.numeric)));
		case jbvBool:
			return pstrdup(v.val.boolean ? "true" : "false");
		default:
			return NULL;
	}
}

/*
 * sip_action_int reads an integer (a JSON number, or a string of digits);
 * false, *value untouched, when absent or not an integer in range.
 */
bool
sip_action_int(const SipAction *action, const char *path, int *value)
{
	JsonbValue	v;

	if (!lookup(action, path, &v))
		return false;
	if (v.type == jbvNumeric)
	{
		bool		error = false;
		int32		n = numeric_int4_opt_error(v.val.numeric, &error);

		if (error)
			return false;
		*value = n;
		return true;
	}
	if (v.type == jbvString && v.val.string.len > 0 && v.val.string.len < 12)
	{
		char		buf[12];
		char	   *end;
		long		n;

		memcpy(buf, v.val.string.val, v.val.string.len);
		buf[v.val.string.len] = '\0';
		n = strtol(buf, &end, 10);
		if (*end != '\0' || n < PG_INT32_MIN || n > PG_INT32_MAX)
			return false;
		*value = (int) n;
		return true;
	}
	return false;
}

/* sip_action_bool reads a JSON boolean (or the strings "true" / "false"). */
bool
sip_action_bool(const SipAction *action, const char *path, bool *value)
{
	JsonbValue	v;

	if (!lookup(action, path, &v))
		return false;
	if (v.type == jbvBool)
	{
		*value = v.val.boolean;
		return true;
	}
	if (v.type == jbvString)
	{
		if (v.val.string.len == 4 && strncmp(v.val.string.val, "true", 4) == 0)
			*value = true;
		else if (v.val.string.len == 5 && strncmp(v.val.string.val, "false", 5) == 0)
			*value = false;
		else
			return false;
		return true;
	}
	return false;
}

/* sip_action_length is the number of elements of the array at path, or -1. */
int
sip_action_length(const SipAction *action, const char *path)
{
	JsonbValue	v;

	if (!lookup(action, path, &v) || v.type != jbvBinary ||
		!JsonContainerIsArray(v.val.binary.data))
		return -1;
	return (int) JsonContainerSize(v.val.binary.data);
}

/* sip_action_json returns the value at path as JSON text, or NULL. */
char *
sip_action_json(const SipAction *action, const char *path)
{
	JsonbValue	v;

	if (!lookup(action, path, &v))
		return NULL;
	if (v.type == jbvBinary)
		return JsonbToCString(NULL, v.val.binary.data, v.val.binary.len);
	return JsonbToCString(NULL, &JsonbValueToJsonb(&v)->root, 0);
}

/* header_ok says whether name is a SIP token and value holds no CR or LF. */
static bool
header_ok(const char *name, const char *value)
{
	const char *c;

	if (name[0] == '\0' || strpbrk(value, "\r\n") != NULL)
		return false;
	for (c = name; *c; c++)
		if (!isalnum((unsigned char) *c) && strchr("-.!%*_+`'~", *c) == NULL)
			return false;
	return true;
}

/* string_of copies a JSON string value, or returns NULL for any other kind. */
static char *
string_of(const JsonbValue *v)
{
	return v && v->type == jbvString ? pnstrdup(v->val.string.val, v->val.string.len) : NULL;
}

/* append_header adds "name: value" to out when header_ok allows it. */
static void
append_header(StringInfo out, const char *name, const char *value)
{
	if (name == NULL || value == NULL || !header_ok(name, value))
		return;
	if (out->len > 0)
		appendStringInfoString(out, "\r\n");
	appendStringInfo(out, "%s: %s", name, value);
}

/*
 * sip_action_headers turns the headers at path, either {"Name": "value"} or
 * IBM's [{"name": ..., "value": ...}], into "Name: value\r\n..." for
 * SIPTAG_HEADER_STR; NULL when there are none.  A header whose name is not
 * a SIP token or whose value holds CR or LF is dropped (no header
 * injection).
 */
char *
sip_action_headers(const SipAction *action, const char *path)
{
	JsonbValue	v;
	JsonbContainer *container;
	StringInfoData out;

	if (!lookup(action, path, &v) || v.type != jbvBinary)
		return NULL;
	container = v.val.binary.data;
	initStringInfo(&out);
	if (JsonContainerIsArray(container))
	{
		uint32		i;

		for (i = 0; i < JsonContainerSize(container); i++)
		{
			JsonbValue *elem = getIthJsonbValueFromContainer(container, i);
			JsonbValue	name;
			JsonbValue	value;

			if (elem == NULL || elem->type != jbvBinary || !JsonContainerIsObject(elem->val.binary.data))
				continue;
			append_header(&out,
						  string_of(getKeyJsonValueFromContainer(elem->val.binary.data, "name", 4, &name)),
						  string_of(getKeyJsonValueFromContainer(elem->val.binary.data, "value", 5, &value)));
		}
	}
	else
	{
		JsonbIterator *it = JsonbIteratorInit(container);
		JsonbValue	item;
		JsonbIteratorToken token;
		char	   *name = NULL;

		while ((token = JsonbIteratorNext(&it, &item, true)) != WJB_DONE)
		{
			if (token == WJB_KEY)
				name = string_of(&item);
			else if (token == WJB_VALUE)
				append_header(&out, name, string_of(&item));
		}
	}
	if (out.len == 0)
	{
		pfree(out.data);
		return NULL;
	}
	return out.data;
}
