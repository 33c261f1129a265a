/*
 * sip_stack.c
 *		The sofia-sip (nua) user agent of cc sip.
 *
 * Runs in the one thread of the worker: su_root_threading(0) keeps nua's
 * task in our root, so its callbacks run inside su_root_step() called from
 * our loop.  Callbacks never ereport, palloc or run SPI: they answer what
 * the stack needs answered, and leave results (malloc'd) on a list that
 * the loop records in the database after su_root_step() returns.
 */
#include "postgres.h"

#include <time.h>

#include "sip_calls.h"
#include "sip_request.h"
#include "sip_stack.h"
#include "sip_trunks.h"

/* One outbound request in flight; the handle's magic. */
typedef struct SipRequest
{
	SipHandleMagic magic;		/* kind SIP_HANDLE_REQUEST */
	char		command_id[37];
	char	   *uri;
	struct timespec sent_at;
} SipRequest;

su_root_t  *sip_root = NULL;
static su_home_t sip_home[1];
nua_t	   *sip_nua = NULL;
uint64		sip_work_queued = 0;
static bool sip_shutdown_done = false;
static SipResult *results_head = NULL;
static SipResult **results_tail = &results_head;
static int	requests_in_flight = 0;

static void sip_callback(nua_event_t event, int status, char const *phrase,
						 nua_t *nua, nua_magic_t *magic, nua_handle_t *nh,
						 nua_hmagic_t *owner, sip_t const *sip, tagi_t tags[]);
static void sip_options_answered(int status, char const *phrase, nua_handle_t *nh,
								 SipRequest *request);
static double elapsed_ms(const struct timespec *since);

/* elapsed_ms is the monotonic time since a moment, in milliseconds. */
static double
elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1000.0 + (now.tv_nsec - since->tv_nsec) / 1e6;
}

/*
 * sip_stack_start creates the root and the user agent bound to listen_url
 * (UDP and TCP).  False, with a LOG line, when the stack cannot start, e.g.
 * because the port is taken.
 */
bool
sip_stack_start(const char *listen_url)
{
	su_init();
	su_home_init(sip_home);
	sip_root = su_root_create(NULL);
	if (sip_root == NULL)
	{
		ereport(LOG, (errmsg("cc sip: su_root_create failed")));
		return false;
	}
	su_root_threading(sip_root, 0);

	sip_nua = nua_create(sip_root, sip_callback, NULL,
						 NUTAG_URL(listen_url),
						 SIPTAG_USER_AGENT_STR("pg_callcenter/0.1"),
						 SIPTAG_ALLOW_STR("INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, INFO, UPDATE, REFER, NOTIFY"),
						 NUTAG_APPL_METHOD("REGISTER"),
						 NUTAG_ENABLEMESSAGE(0),
						 NUTAG_ENABLEINVITE(1),
						 NUTAG_MEDIA_ENABLE(0),	/* SDP is ours: sip_sdp.c */
						 NUTAG_AUTOANSWER(0),
						 NUTAG_AUTOACK(1),
						 NUTAG_SESSION_TIMER(1800),
						 NUTAG_MIN_SE(90),
						 TAG_END());
	if (sip_nua == NULL)
	{
		ereport(LOG,
				(errmsg("cc sip: cannot listen on %s", listen_url),
				 errhint("Check cc.sip_listen: the address must be local and the port free.")));
		return false;
	}
	ereport(LOG, (errmsg("cc sip: listening on %s (UDP and TCP)", listen_url)));
	return true;
}

/*
 * sip_stack_stop shuts the user agent down, waiting at most 500 ms for it
 * (so SIGTERM ends the worker within a second), then frees everything.
 */
void
sip_stack_stop(void)
{
	if (sip_nua)
	{
		struct timespec start;

		clock_gettime(CLOCK_MONOTONIC, &start);
		nua_shutdown(sip_nua);
		while (!sip_shutdown_done && elapsed_ms(&start) < 500)
			su_root_step(sip_root, 50);
		nua_destroy(sip_nua);
		sip_nua = NULL;
	}
	if (sip_root)
	{
		su_root_destroy(sip_root);
		sip_root = NULL;
	}
	su_home_deinit(sip_home);
	su_deinit();
}

/*
 * sip_stack_send_options sends OPTIONS to uri for a command; the answer
 * comes back through sip_stack_take_results().  False, with *error set
 * (palloc'd), when the request cannot even be started.
 */
bool
sip_stack_send_options(const char *command_id, const char *uri, char **error)
{
	SipRequest *request;
	nua_handle_t *nh;
	url_t	   *url;

	url = url_make(sip_home, uri);
	if (url == NULL || (url->url_type != url_sip && url->url_type != url_sips) || url->url_host == NULL)
	{
		*error = psprintf("\"%s\" is not a SIP URI sofia-sip can send to", uri);
		su_free(sip_home, url);
		return false;
	}
	su_free(sip_home, url);

	request = malloc(sizeof(SipRequest));
	if (request == NULL)
	{
		*error = pstrdup("out of memory");
		return false;
	}
	request->magic.kind = SIP_HANDLE_REQUEST;
	strlcpy(request->command_id, command_id, sizeof(request->command_id));
	request->uri = strdup(uri);
	clock_gettime(CLOCK_MONOTONIC, &request->sent_at);

	nh = nua_handle(sip_nua, &request->magic, NUTAG_URL(uri), SIPTAG_TO_STR(uri), TAG_END());
	if (nh == NULL)
	{
		free(request->uri);
		free(request);
		*error = psprintf("sofia-sip refused a handle for \"%s\"", uri);
		return false;
	}
	nua_options(nh, TAG_END());
	requests_in_flight++;
	return true;
}

/*
 * sip_stack_fail_command leaves a result for a command that could not be
 * started (status 0), so the loop records it as failed with the reason.
 */
void
sip_stack_fail_command(const char *command_id, const char *uri, const char *error)
{
	SipResult  *result = calloc(1, sizeof(SipResult));

	if (result == NULL)
		return;
	strlcpy(result->command_id, command_id, sizeof(result->command_id));
	result->uri = uri ? strdup(uri) : NULL;
	result->status = 0;
	result->phrase = strdup(error ? error : "unknown error");
	*results_tail = result;
	results_tail = &result->next;
}

/*
 * sip_stack_finish_command leaves the outcome of a command that is not an
 * OPTIONS (done, or failed with error) for the loop to record.
 */
void
sip_stack_finish_command(const char *command_id, bool ok, const char *error)
{
	SipResult  *result = calloc(1, sizeof(SipResult));

	if (result == NULL)
		return;
	strlcpy(result->command_id, command_id, sizeof(result->command_id));
	result->generic = true;
	result->status = ok ? 200 : 0;
	result->phrase = ok ? NULL : strdup(error ? error : "unknown error");
	*results_tail = result;
	results_tail = &result->next;
}

/* sip_options_answered turns the final answer to an OPTIONS into a result. */
static void
sip_options_answered(int status, char const *phrase, nua_handle_t *nh, SipRequest *request)
{
	SipResult  *result = calloc(1, sizeof(SipResult));

	if (result != NULL)
	{
		memcpy(result->command_id, request->command_id, sizeof(result->command_id));
		result->uri = request->uri;
		request->uri = NULL;
		result->status = status;
		result->phrase = strdup(phrase ? phrase : "");
		result->rtt_ms = elapsed_ms(&request->sent_at);
		*results_tail = result;
		results_tail = &result->next;
	}
	/* else: the command stays claimed and is retried after a restart */
	free(request->uri);
	free(request);
	requests_in_flight--;
	nua_handle_bind(nh, NULL);
	nua_handle_destroy(nh);
}

/*
 * sip_callback receives every nua event.  Events of a call leg go to
 * sip_calls.c, of a fork of an outbound leg to sip_dial.c, of a
 * register_out trunk's registration to sip_trunks.c; new requests that the SQL decisions answer (REGISTER, a new
 * INVITE) are saved for the loop; nua itself answers OPTIONS (200) and
 * unknown methods (501).
 */
static void
sip_callback(nua_event_t event, int status, char const *phrase,
			 nua_t *nua, nua_magic_t *magic, nua_handle_t *nh,
			 nua_hmagic_t *owner, sip_t const *sip, tagi_t tags[])
{
	if (owner != NULL && owner->kind == SIP_HANDLE_LEG)
	{
		sip_calls_callback(event, status, phrase, nua, nh, (SipLeg *) owner, sip, tags);
		return;
	}
	if (owner != NULL && owner->kind == SIP_HANDLE_FORK)
	{
		sip_dial_callback(event, status, phrase, nua, nh, (SipFork *) owner, sip, tags);
		return;
	}
	if (owner != NULL && owner->kind == SIP_HANDLE_TRUNK)
	{
		sip_trunks_callback(event, status, phrase, nua, nh, (SipTrunk *) owner, sip, tags);
		return;
	}

	switch (event)
	{
		case nua_r_options:
			if (owner != NULL && owner->kind == SIP_HANDLE_REQUEST && status >= 200)
				sip_options_answered(status, phrase, nh, (SipRequest *) owner);
			break;

		case nua_i_options:
			/* nua has answered 200 OK already; the handle is ours to free */
			nua_handle_destroy(nh);
			break;

		case nua_i_invite:
		case nua_i_register:
			/* a new call, or the registrar: the SQL decisions answer */
			sip_request_save(nua, event, nh);
			break;

		case nua_i_subscribe:
		case nua_i_publish:
		case nua_i_refer:
		case nua_i_notify:
		case nua_i_info:
		case nua_i_update:
		case nua_i_message:
			/* outside a call of ours */
			nua_respond(nh, SIP_481_NO_TRANSACTION, NUTAG_WITH_THIS(nua), TAG_END());
			nua_handle_destroy(nh);
			break;

		case nua_i_terminated:
		case nua_i_bye:
		case nua_i_cancel:
			if (owner == NULL)
				nua_handle_destroy(nh);
			break;

		case nua_r_shutdown:
			if (status >= 200)
				sip_shutdown_done = true;
			break;

		default:
			break;
	}
}

/* sip_stack_take_results hands the finished requests to the loop. */
SipResult *
sip_stack_take_results(void)
{
	SipResult  *list = results_head;

	results_head = NULL;
	results_tail = &results_head;
	return list;
}

/* sip_stack_return_results puts back results the loop could not record yet. */
void
sip_stack_return_results(SipResult *results)
{
	SipResult  *last;

	if (results == NULL)
		return;
	for (last = results; last->next; last = last->next)
		;
	last->next = results_head;
	if (results_head == NULL)
		results_tail = &last->next;
	results_head = results;
}

void
sip_result_free(SipResult *result)
{
	free(result->uri);
	free(result->phrase);
	free(result);
}

int
sip_stack_requests_in_flight(void)
{
	return requests_in_flight;
}
