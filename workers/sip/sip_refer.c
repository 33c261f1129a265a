/*
 * sip_refer.c
 *		Transfers: the connect_to_agent action (IBM's phone integration
 *		format: REFER to the far end, or BYE carrying the target in a
 *		header), the refer_notify action, and REFERs received from a leg's
 *		phone (accepted with 202 by nua, a NOTIFY 100 Trying at once, a
 *		refer event for the decisions, the final NOTIFY when they say).
 *
 * Header values are refused past 1024 bytes as sent and User-to-User is
 * sent hex encoded with ;encoding=hex.  The decisions check the same with
 * cc.sip_transfer_check(); here it is the safety net, reported as a
 * refer_result event with an error.
 */
#include "postgres.h"

#include <ctype.h>

#include "lib/stringinfo.h"
#include "utils/memutils.h"

#include <sofia-sip/url.h>

#include "guc.h"
#include "sip_legs.h"

#define HEADER_VALUE_MAX 1024
#define IBM_SIP "transfer_info.target.service_desk.sip"

static void refer_refused(SipLeg *leg, const SipAction *a, const char *error);
static bool header_name_ok(const char *name);
static void append_uri_escaped(StringInfo out, const char *value);

/*
 * refer_refused reports a transfer that cannot be sent (no SIP sent), with
 * the action's tag, as every refer_result carries the tag of its REFER.
 */
static void
refer_refused(SipLeg *leg, const SipAction *a, const char *error)
{
	char		q1[1024];
	char		q2[256];

	elog(LOG, "cc sip: leg %s: connect_to_agent refused: %s", leg->id, error);
	sip_leg_event(leg, false, "{\"type\":\"refer_result\",\"code\":0,\"reason\":\"not sent\",\"error\":%s,\"tag\":%s}",
				  sip_json_quote(error, q1, sizeof(q1)), sip_json_quote(a->tag, q2, sizeof(q2)));
}

/* header_name_ok says whether name is a SIP token. */
static bool
header_name_ok(const char *name)
{
	const char *c;

	if (name == NULL || name[0] == '\0')
		return false;
	for (c = name; *c; c++)
		if (!isalnum((unsigned char) *c) && strchr("-.!%*_+`'~", *c) == NULL)
			return false;
	return true;
}

/*
 * sip_header_wire_value is a header value as we send it: User-to-User hex
 * encoded with ;encoding=hex (unless it names an encoding already), any
 * other value unchanged.
 */
char *
sip_header_wire_value(const char *name, const char *value)
{
	StringInfoData out;
	const unsigned char *c;

	if (pg_strcasecmp(name, "User-to-User") != 0 || strcasestr(value, ";encoding=") != NULL)
		return pstrdup(value);
	initStringInfo(&out);
	for (c = (const unsigned char *) value; *c; c++)
		appendStringInfo(&out, "%02x", *c);
	appendStringInfoString(&out, ";encoding=hex");
	return out.data;
}

/* append_uri_escaped appends a header value as a URI header value (RFC 3261 hnv-unreserved). */
static void
append_uri_escaped(StringInfo out, const char *value)
{
	const unsigned char *c;

	for (c = (const unsigned char *) value; *c; c++)
	{
		if (isalnum(*c) || strchr("-_.!~*'()[]/?:+$", *c))
			appendStringInfoChar(out, *c);
		else
			appendStringInfo(out, "%%%02X", *c);
	}
}

/*
 * sip_refer_connect_to_agent carries out IBM's connect_to_agent on an
 * answered leg: REFER with the headers sent as custom_header (SIP
 * headers), contact_header (URI headers of our Contact) or refer_to_header
 * (URI headers of Refer-To); or, with transfer_method hangup, BYE with the
 * target in transfer_target_header (Transfer-Target) and the headers.
 */
void
sip_refer_connect_to_agent(SipLeg *leg, const SipAction *a)
{
	char	   *uri = sip_action_str(a, IBM_SIP ".uri");
	char	   *method = sip_action_str(a, IBM_SIP ".transfer_method");
	char	   *send = sip_action_str(a, IBM_SIP ".transfer_headers_send_method");
	char	   *target_header = sip_action_str(a, IBM_SIP ".transfer_target_header");
	int			n = sip_action_length(a, IBM_SIP ".transfer_headers");
	StringInfoData custom;
	StringInfoData uri_headers;
	int			i;

	if (method == NULL)
		method = "refer";
	if (send == NULL)
		send = "custom_header";
	if (target_header == NULL)
		target_header = "Transfer-Target";
	if (!leg->answered || leg->hangup_sent || leg->nh == NULL)
	{
		refer_refused(leg, a, "the leg is not answered (or already hanging up)");
		return;
	}
	if (strcmp(method, "refer") != 0 && strcmp(method, "hangup") != 0)
	{
		refer_refused(leg, a, psprintf("transfer_method \"%s\" is not refer or hangup", method));
		return;
	}
	if (strcmp(send, "custom_header") != 0 && strcmp(send, "contact_header") != 0 &&
		strcmp(send, "refer_to_header") != 0)
	{
		refer_refused(leg, a, psprintf("transfer_headers_send_method \"%s\" is not custom_header, contact_header or refer_to_header", send));
		return;
	}
	if (strcmp(method, "hangup") == 0 && strcmp(send, "custom_header") != 0)
	{
		refer_refused(leg, a, psprintf("transfer_headers_send_method %s cannot be used with transfer_method hangup", send));
		return;
	}
	if (uri == NULL ? strcmp(method, "refer") == 0
		: (strlen(uri) > HEADER_VALUE_MAX || strpbrk(uri, "\r\n<> ") != NULL ||
		   (strncmp(uri, "sip:", 4) != 0 && strncmp(uri, "sips:", 5) != 0 && strncmp(uri, "tel:", 4) != 0)))
	{
		refer_refused(leg, a, "transfer uri missing or not a sip:, sips: or tel: URI of at most 1024 bytes");
		return;
	}
	if (!header_name_ok(target_header))
	{
		refer_refused(leg, a, psprintf("transfer_target_header \"%s\" is not a SIP header name", target_header));
		return;
	}

	initStringInfo(&custom);
	initStringInfo(&uri_headers);
	for (i = 0; i < n; i++)
	{
		char		path[128];
		char	   *name;
		char	   *value;
		char	   *wire;

		snprintf(path, sizeof(path), IBM_SIP ".transfer_headers.%d.name", i);
		name = sip_action_str(a, path);
		snprintf(path, sizeof(path), IBM_SIP ".transfer_headers.%d.value", i);
		value = sip_action_str(a, path);
		if (!header_name_ok(name) || value == NULL || strpbrk(value, "\r\n") != NULL)
		{
			refer_refused(leg, a, psprintf("transfer header %d (\"%s\") has a bad name or value", i, name ? name : ""));
			return;
		}
		wire = sip_header_wire_value(name, value);
		if (strlen(wire) > HEADER_VALUE_MAX)
		{
			refer_refused(leg, a, psprintf("transfer header %s is %zu bytes long as sent; SIP header values are limited to %d bytes",
										   name, strlen(wire), HEADER_VALUE_MAX));
			return;
		}
		if (strcmp(send, "custom_header") == 0)
			appendStringInfo(&custom, "%s%s: %s", custom.len ? "\r\n" : "", name, wire);
		else
		{
			appendStringInfoChar(&uri_headers, uri_headers.len ? '&' : '?');
			appendStringInfoString(&uri_headers, name);
			appendStringInfoChar(&uri_headers, '=');
			append_uri_escaped(&uri_headers, wire);
		}
	}

	if (strcmp(method, "hangup") == 0)
	{
		if (uri)
			appendStringInfo(&custom, "%s%s: <%s>", custom.len ? "\r\n" : "", target_header, uri);
		leg->hangup_sent = true;
		leg->end_cause = "transferred";
		nua_bye(leg->nh, TAG_IF(custom.len > 0, SIPTAG_HEADER_STR(custom.data)), TAG_END());
		return;
	}

	leg->refer_sent = true;
	/* this REFER's tag (or none): the results of an earlier one carry theirs */
	if (leg->refer_tag)
		pfree(leg->refer_tag);
	leg->refer_tag = a->tag ? MemoryContextStrdup(leg->context, a->tag) : NULL;
	if (strcmp(send, "refer_to_header") == 0)
	{
		char	   *refer_to;

		if (strchr(uri, '?') != NULL && uri_headers.len > 0)
			uri_headers.data[0] = '&';
		refer_to = psprintf("<%s%s>", uri, uri_headers.data);
		nua_refer(leg->nh, SIPTAG_REFER_TO_STR(refer_to), TAG_END());
	}
	else if (strcmp(send, "contact_header") == 0)
	{
		const char *port = strrchr(cc_sip_listen + 4, ':');
		char	   *contact = psprintf("<sip:pg_callcenter@%s:%s%s>", sip_local_ip(),
									   port ? port + 1 : "5060", uri_headers.data);

		nua_refer(leg->nh, SIPTAG_REFER_TO_STR(psprintf("<%s>", uri)),
				  SIPTAG_CONTACT_STR(contact), TAG_END());
	}
	else
		nua_refer(leg->nh, SIPTAG_REFER_TO_STR(psprintf("<%s>", uri)),
				  TAG_IF(custom.len > 0, SIPTAG_HEADER_STR(custom.data)), TAG_END());
}

/* sip_refer_answered: the answer to our REFER (callback); an error is its result. */
void
sip_refer_answered(SipLeg *leg, int status, char const *phrase)
{
	char		q1[256];
	char		q2[256];

	if (status < 200 || !leg->refer_sent)
		return;
	if (status >= 300)
	{
		leg->refer_sent = false;
		sip_leg_event(leg, false, "{\"type\":\"refer_result\",\"code\":%d,\"reason\":%s,\"final\":true,\"tag\":%s}",
					  status, sip_json_quote(phrase, q1, sizeof(q1)),
					  sip_json_quote(leg->refer_tag, q2, sizeof(q2)));
	}
}

/*
 * sip_refer_notify_received: a NOTIFY (sipfrag) about our REFER
 * (callback): each becomes a refer_result with the status it carries.
 */
void
sip_refer_notify_received(SipLeg *leg, int status, sip_t const *sip)
{
	char		frag[256] = "";
	int			code = 0;
	const char *reason = "";
	char	   *sp;
	char		q1[256];
	char		q2[256];

	if (sip == NULL || sip->sip_payload == NULL || sip->sip_payload->pl_data == NULL)
		return;
	strlcpy(frag, sip->sip_payload->pl_data, Min(sizeof(frag), sip->sip_payload->pl_len + 1));
	if (strncmp(frag, "SIP/2.0 ", 8) != 0)
		return;
	code = atoi(frag + 8);
	sp = strchr(frag + 8, ' ');
	if (sp)
	{
		reason = sp + 1;
		sp = strpbrk(sp + 1, "\r\n");
		if (sp)
			*sp = '\0';
	}
	if (code < 100 || code > 699)
		return;
	if (code >= 200)
		leg->refer_sent = false;
	sip_leg_event(leg, false, "{\"type\":\"refer_result\",\"code\":%d,\"reason\":%s,\"final\":%s,\"tag\":%s}",
				  code, sip_json_quote(reason, q1, sizeof(q1)), code >= 200 ? "true" : "false",
				  sip_json_quote(leg->refer_tag, q2, sizeof(q2)));
}

/*
 * sip_refer_received: the leg's phone sent REFER, which nua accepted (202)
 * (callback).  We keep its Event for the NOTIFYs, send NOTIFY 100 Trying,
 * and report a refer event; refer_notify sends the final NOTIFY.
 */
void
sip_refer_received(SipLeg *leg, nua_handle_t *nh, sip_t const *sip, tagi_t tags[])
{
	sip_event_t const *event = NULL;
	sip_referred_by_t const *by = NULL;
	char		refer_to[1024] = "";
	char		referred_by[512] = "";
	char		event_str[128] = "refer";
	char		q1[1200];
	char		q2[600];
	char		q3[600];
	const char *replaces;

	tl_gets(tags, NUTAG_REFER_EVENT_REF(event), SIPTAG_REFERRED_BY_REF(by), TAG_END());
	if (event && event->o_type)
		snprintf(event_str, sizeof(event_str), "%s%s%s", event->o_type,
				 event->o_id ? ";id=" : "", event->o_id ? event->o_id : "");
	if (sip && sip->sip_refer_to)
		url_e(refer_to, sizeof(refer_to), sip->sip_refer_to->r_url);
	if (by)
		url_e(referred_by, sizeof(referred_by), by->b_url);
	free(leg->refer_event);
	leg->refer_event = strdup(event_str);
	nua_notify(nh, NUTAG_SUBSTATE(nua_substate_active), SIPTAG_EVENT_STR(event_str),
			   SIPTAG_CONTENT_TYPE_STR("message/sipfrag;version=2.0"),
			   SIPTAG_PAYLOAD_STR("SIP/2.0 100 Trying\r\n"), TAG_END());
	replaces = strcasestr(refer_to, "?Replaces=");
	sip_leg_event(leg, false, "{\"type\":\"refer\",\"refer_to\":%s,\"referred_by\":%s,\"replaces\":%s}",
				  sip_json_quote(refer_to, q1, sizeof(q1)), sip_json_quote(referred_by, q2, sizeof(q2)),
				  replaces ? sip_json_quote(replaces + 10, q3, sizeof(q3)) : "null");
}

/* sip_refer_notify_action sends the final NOTIFY (sipfrag) of the REFER we accepted. */
void
sip_refer_notify_action(SipLeg *leg, const SipAction *a)
{
	int			code = 200;
	char	   *reason = sip_action_str(a, "reason");

	if (leg->refer_event == NULL || leg->nh == NULL || leg->ended)
	{
		elog(LOG, "cc sip: leg %s: refer_notify without a REFER to answer; skipped", leg->id);
		return;
	}
	(void) sip_action_int(a, "code", &code);
	if (code < 100 || code > 699)
		code = 200;
	nua_notify(leg->nh, NUTAG_SUBSTATE(code >= 200 ? nua_substate_terminated : nua_substate_active),
			   SIPTAG_EVENT_STR(leg->refer_event),
			   TAG_IF(code >= 200, SIPTAG_SUBSCRIPTION_STATE_STR("terminated;reason=noresource")),
			   SIPTAG_CONTENT_TYPE_STR("message/sipfrag;version=2.0"),
			   SIPTAG_PAYLOAD_STR(psprintf("SIP/2.0 %d %s\r\n", code, reason ? reason : (code < 300 ? "OK" : "Failed"))),
			   TAG_END());
	if (code >= 200)
	{
		free(leg->refer_event);
		leg->refer_event = NULL;
	}
}
