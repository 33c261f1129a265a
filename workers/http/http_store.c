/*
 * http_store.c
 *		cc http's transactions: claim due webhook deliveries and HTTP
 *		requests (turning each row into a job, signed), record finished
 *		attempts, and take back the claims of a cc http that died.
 *
 * The decisions live in SQL (121_webhooks.sql, 125_http_requests.sql):
 * what is due, in which order, what a status means, when to retry.  This
 * file only moves rows into jobs and outcomes back into rows.  Webhook
 * transactions commit asynchronously (a lost claim or record after a crash
 * only means the delivery is made again: at least once); the answers of
 * HTTP requests, which move calls, commit synchronously.
 */
#include "postgres.h"

#include <time.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "http_sign.h"
#include "http_store.h"
#include "worker_common.h"

static void recover_txn(void *arg);
static void cycle_txn(void *arg);
static void record_webhooks(HttpJob *jobs);
static void record_requests_txn(void *arg);
static void record_request(HttpJob *job);
static char *xstrdup(const char *s);
static void add_array_headers(HttpJob *job, Datum array);
static void sign_job(HttpJob *job, const char *secret);
static char *valid_text(const char *data, size_t len);
static char *headers_json(HttpJob *job);
static HttpJob *claimed_job(HttpClaim *claim, HttpJobKind kind, HeapTuple tuple, TupleDesc desc);
static void claim_webhooks(HttpClaim *claim);
static void claim_requests(HttpClaim *claim);

/* xstrdup is strdup that raises an ERROR (inside the claim transaction) when out of memory. */
static char *
xstrdup(const char *s)
{
	char	   *copy = strdup(s ? s : "");

	if (copy == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("cc http: out of memory")));
	return copy;
}

/* recover_txn runs cc.http_recover(starting). */
static void
recover_txn(void *arg)
{
	bool		starting = *(bool *) arg;
	int			ret;
	bool		isnull;
	Datum		n;

	ret = SPI_execute_with_args("SELECT cc.http_recover($1)", 1, (Oid[]) {BOOLOID},
								(Datum[]) {BoolGetDatum(starting)}, NULL, false, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "cc.http_recover failed: %d", ret);
	n = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (!isnull && DatumGetInt32(n) > 0)
		ereport(LOG, (errmsg("cc http: took back %d deliveries and requests left by a cc http that stopped",
							 DatumGetInt32(n))));
}

/*
 * http_store_recover takes back deliveries and requests whose cc http is
 * gone: at start (starting: every claim not held by another live cc http)
 * and every minute (claims of dead processes, or stuck past their timeout).
 */
bool
http_store_recover(bool starting)
{
	return cc_worker_transaction("cc http: recover claims", recover_txn, &starting);
}

/* add_array_headers adds each "Name: value" of a text[] to the job. */
static void
add_array_headers(HttpJob *job, Datum array)
{
	ArrayType  *arr = DatumGetArrayTypeP(array);
	Datum	   *items;
	bool	   *nulls;
	int			n;
	int			i;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &items, &nulls, &n);
	for (i = 0; i < n; i++)
	{
		char	   *line;

		if (nulls[i])
			continue;
		line = TextDatumGetCString(items[i]);
		if (!http_job_add_header(job, line))
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("cc http: out of memory")));
		pfree(line);
	}
}

/*
 * sign_job adds X-CC-Timestamp and X-CC-Signature (v1=hex HMAC-SHA256 over
 * "timestamp.body") to a webhook delivery.
 */
static void
sign_job(HttpJob *job, const char *secret)
{
	long		now = (long) time(NULL);
	char		signature[HTTP_SIGNATURE_LEN];
	char		line[128];

	snprintf(line, sizeof(line), "X-CC-Timestamp: %ld", now);
	if (!http_job_add_header(job, line))
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("cc http: out of memory")));
	if (!http_sign(secret, now, job->body, strlen(job->body), signature))
	{
		ereport(LOG, (errmsg("cc http: could not sign delivery %s; it goes unsigned", job->id)));
		return;
	}
	snprintf(line, sizeof(line), "X-CC-Signature: v1=%s", signature);
	if (!http_job_add_header(job, line))
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("cc http: out of memory")));
}

/*
 * claimed_job makes the job of a claimed row (its id and attempt are the
 * row's first two columns) and puts it on the claim's list.
 */
static HttpJob *
claimed_job(HttpClaim *claim, HttpJobKind kind, HeapTuple tuple, TupleDesc desc)
{
	bool		isnull;
	char	   *id = SPI_getvalue(tuple, desc, 1);
	int			attempt = DatumGetInt32(SPI_getbinval(tuple, desc, 2, &isnull));
	HttpJob    *job = http_job_new(kind, id, attempt);

	if (job == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("cc http: out of memory")));
	job->next = claim->jobs;
	claim->jobs = job;
	return job;
}

/* claim_webhooks claims due deliveries into jobs (signed when the webhook has a secret). */
static void
claim_webhooks(HttpClaim *claim)
{
	int			ret;
	uint64		i;

	ret = SPI_execute_with_args("SELECT id::text, attempt, url, body, headers, secret, timeout_ms "
								"FROM cc.webhook_deliveries_claim($1, $2)",
								2, (Oid[]) {INT4OID, BOOLOID},
								(Datum[]) {Int32GetDatum(claim->max_webhooks), BoolGetDatum(claim->sweep)},
								NULL, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "cc.webhook_deliveries_claim failed: %d", ret);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		headers;
		char	   *secret;
		HttpJob    *job = claimed_job(claim, HTTP_JOB_WEBHOOK, tuple, desc);

		job->method = xstrdup("POST");
		job->url = xstrdup(SPI_getvalue(tuple, desc, 3));
		job->body = xstrdup(SPI_getvalue(tuple, desc, 4));
		headers = SPI_getbinval(tuple, desc, 5, &isnull);
		if (!isnull)
			add_array_headers(job, headers);
		secret = SPI_getvalue(tuple, desc, 6);
		if (secret != NULL && secret[0] != '\0')
			sign_job(job, secret);
		job->timeout_ms = DatumGetInt32(SPI_getbinval(tuple, desc, 7, &isnull));
		claim->n_webhooks++;
	}
}

/* claim_requests claims due HTTP requests of the decisions into jobs. */
static void
claim_requests(HttpClaim *claim)
{
	int			ret;
	uint64		i;

	ret = SPI_execute_with_args("SELECT id::text, attempt, method, url, headers, body, timeout_ms "
								"FROM cc.http_requests_claim($1)",
								1, (Oid[]) {INT4OID}, (Datum[]) {Int32GetDatum(claim->max_requests)},
								NULL, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "cc.http_requests_claim failed: %d", ret);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		headers;
		char	   *body;
		HttpJob    *job = claimed_job(claim, HTTP_JOB_REQUEST, tuple, desc);

		job->method = xstrdup(SPI_getvalue(tuple, desc, 3));
		job->url = xstrdup(SPI_getvalue(tuple, desc, 4));
		headers = SPI_getbinval(tuple, desc, 5, &isnull);
		if (!isnull)
			add_array_headers(job, headers);
		body = SPI_getvalue(tuple, desc, 6);
		job->body = body ? xstrdup(body) : NULL;
		job->timeout_ms = DatumGetInt32(SPI_getbinval(tuple, desc, 7, &isnull));
		claim->n_requests++;
	}
}

/* Arguments of cycle_txn. */
typedef struct CycleArgs
{
	HttpJob    *webhooks;		/* finished deliveries to record */
	HttpClaim  *claim;			/* NULL: record only */
} CycleArgs;

/*
 * cycle_txn records finished deliveries, then claims deliveries and
 * requests and asks when the next later attempt is due, in one
 * asynchronously committed transaction.
 */
static void
cycle_txn(void *arg)
{
	CycleArgs  *args = (CycleArgs *) arg;
	HttpClaim  *claim = args->claim;
	bool		isnull;
	Datum		due;

	if (SPI_execute("SET LOCAL synchronous_commit = off", false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "SET synchronous_commit failed");
	if (args->webhooks)
		record_webhooks(args->webhooks);
	if (claim == NULL)
		return;
	if (claim->max_webhooks > 0)
		claim_webhooks(claim);
	if (claim->max_requests > 0)
		claim_requests(claim);
	if (SPI_execute("SELECT cc.http_next_due_ms()", false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "cc.http_next_due_ms failed");
	due = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	claim->next_due_ms = isnull ? -1 : (long) DatumGetInt64(due);
}

/*
 * http_store_cycle records the finished deliveries of the list (webhook
 * jobs only) and, with a claim, fills claim->jobs with up to max_webhooks
 * deliveries and max_requests requests.  If the transaction fails nothing
 * was recorded nor claimed: the caller keeps the finished jobs.
 */
bool
http_store_cycle(HttpJob *webhooks, HttpClaim *claim)
{
	CycleArgs	args = {webhooks, claim};

	if (claim)
	{
		claim->jobs = NULL;
		claim->n_webhooks = claim->n_requests = 0;
		claim->next_due_ms = -1;
	}
	if (cc_worker_transaction("cc http: record and claim", cycle_txn, &args))
		return true;
	if (claim)
	{
		http_jobs_free(claim->jobs);
		claim->jobs = NULL;
		claim->n_webhooks = claim->n_requests = 0;
	}
	return false;
}

/*
 * valid_text returns a palloc'd copy of data if it is text PostgreSQL can
 * store (no NUL byte, valid in the database encoding), else NULL.
 */
static char *
valid_text(const char *data, size_t len)
{
	if (data == NULL)
		return NULL;
	if (memchr(data, '\0', len) != NULL || !pg_verify_mbstr(GetDatabaseEncoding(), data, (int) len, true))
		return NULL;
	return pnstrdup(data, len);
}

/*
 * headers_json turns the header lines of a request's answer into a JSON
 * object (lowercase names; a repeated header keeps its last value); lines
 * that are not "name: value" text are skipped.
 */
static char *
headers_json(HttpJob *job)
{
	StringInfoData buf;
	char	   *lines;
	char	   *line;
	char	   *save = NULL;
	bool		first = true;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	lines = job->resp_headers ? valid_text(job->resp_headers, job->hdr_len) : NULL;
	for (line = lines ? strtok_r(lines, "\r\n", &save) : NULL; line != NULL; line = strtok_r(NULL, "\r\n", &save))
	{
		char	   *colon = strchr(line, ':');
		char	   *value;
		char	   *p;

		if (colon == NULL || colon == line)
			continue;
		*colon = '\0';
		for (p = line; *p; p++)
			*p = pg_tolower((unsigned char) *p);
		value = colon + 1;
		while (*value == ' ' || *value == '\t')
			value++;
		if (!first)
			appendStringInfoChar(&buf, ',');
		escape_json(&buf, line);
		appendStringInfoChar(&buf, ':');
		escape_json(&buf, value);
		first = false;
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/*
 * record_webhooks records the attempts of finished deliveries in one call
 * of cc.webhook_deliveries_record (a JSON array of outcomes).
 */
static void
record_webhooks(HttpJob *jobs)
{
	HttpJob    *job;
	StringInfoData buf;
	bool		first = true;
	int			ret;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	for (job = jobs; job != NULL; job = job->next)
	{
		const char *error;

		if (job->kind != HTTP_JOB_WEBHOOK)
			continue;
		error = http_job_error(job);
		appendStringInfo(&buf, "%s{\"id\":\"%s\",\"attempt\":%d,\"duration_ms\":%d,\"started_at\":",
						 first ? "" : ",", job->id, job->attempt, job->duration_ms);
		escape_json(&buf, timestamptz_to_str(job->started_at));
		if (error == NULL && job->status > 0)
			appendStringInfo(&buf, ",\"status\":%ld", job->status);
		else
		{
			char	   *text = valid_text(error, strlen(error ? error : ""));

			appendStringInfoString(&buf, ",\"error\":");
			escape_json(&buf, text ? text : "transfer failed");
		}
		if (job->retry_after_s >= 0)
			appendStringInfo(&buf, ",\"retry_after_s\":%d", job->retry_after_s);
		appendStringInfoChar(&buf, '}');
		first = false;
	}
	appendStringInfoChar(&buf, ']');
	if (first)
		return;
	ret = SPI_execute_with_args("SELECT cc.webhook_deliveries_record($1::jsonb)", 1, (Oid[]) {TEXTOID},
								(Datum[]) {CStringGetTextDatum(buf.data)}, NULL, false, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "cc.webhook_deliveries_record failed: %d", ret);
}

/*
 * record_request hands one finished request attempt to
 * cc.http_request_done in a subtransaction: a failing answer (a lock
 * timeout on its call) is logged and left for recovery.
 */
static void
record_request(HttpJob *job)
{
	const char *error = http_job_error(job);
	MemoryContext here = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	char	   *body = NULL;
	char	   *err_text = NULL;
	Datum		values[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};

	values[0] = DirectFunctionCall1(uuid_in, CStringGetDatum(job->id));
	if (error == NULL && job->status > 0)
	{
		values[1] = Int32GetDatum((int32) job->status);
		values[2] = CStringGetTextDatum(headers_json(job));
		if (job->resp != NULL)
		{
			body = valid_text(job->resp, job->resp_len);
			if (body == NULL)
				err_text = psprintf("response body of %zu bytes is not valid text", job->resp_len);
		}
		else
			body = pstrdup("");
	}
	else
	{
		nulls[1] = 'n';
		values[2] = CStringGetTextDatum("{}");
		err_text = valid_text(error, strlen(error ? error : ""));
		if (err_text == NULL)
			err_text = pstrdup("transfer failed");
	}
	if (body != NULL)
		values[3] = CStringGetTextDatum(body);
	else
		nulls[3] = 'n';
	if (err_text != NULL)
		values[4] = CStringGetTextDatum(err_text);
	else
		nulls[4] = 'n';
	values[5] = Int32GetDatum(job->duration_ms);

	BeginInternalSubTransaction(NULL);
	PG_TRY();
	{
		int			ret;

		ret = SPI_execute_with_args("SELECT cc.http_request_done($1, $2, $3::jsonb, $4, $5, $6)", 6,
									(Oid[]) {UUIDOID, INT4OID, TEXTOID, TEXTOID, TEXTOID, INT4OID},
									values, nulls, false, 1);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "cc.http_request_done failed: %d", ret);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(here);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(here);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(here);
		CurrentResourceOwner = owner;
		ereport(LOG,
				(errmsg("cc http: the answer to request %s could not be recorded: %s; "
						"it is retried when cc http takes back its claims", job->id, edata->message)));
		FreeErrorData(edata);
	}
	PG_END_TRY();
}

/* record_requests_txn records every finished request attempt of the list. */
static void
record_requests_txn(void *arg)
{
	HttpJob    *job;

	for (job = (HttpJob *) arg; job != NULL; job = job->next)
		if (job->kind == HTTP_JOB_REQUEST)
			record_request(job);
}

/*
 * http_store_record_requests records the finished request attempts of the
 * list in one synchronously committed transaction (their answers move
 * calls).  False if it failed: the caller keeps the jobs.
 */
bool
http_store_record_requests(HttpJob *requests)
{
	if (requests == NULL)
		return true;
	return cc_worker_transaction("cc http: record answers", record_requests_txn, requests);
}
