/*
 * http_transfer.h
 *		cc http's libcurl side: a job is one HTTP attempt (a webhook
 *		delivery or a request of the decisions); the multi handle runs them
 *		all at once on the worker's WaitEventSet.
 *
 * Jobs and everything libcurl's callbacks touch are malloc'd: the
 * callbacks never palloc, ereport or run SPI.  The loop hands socket
 * readiness and timer expiry to libcurl, then takes the finished jobs.
 */
#ifndef CC_HTTP_TRANSFER_H
#define CC_HTTP_TRANSFER_H

#include <time.h>

#include <curl/curl.h>

#include "datatype/timestamp.h"

typedef enum HttpJobKind
{
	HTTP_JOB_WEBHOOK,			/* a cc.webhook_outbox delivery */
	HTTP_JOB_REQUEST			/* a cc.http_requests attempt */
} HttpJobKind;

typedef struct HttpJob
{
	HttpJobKind kind;
	char		id[40];			/* delivery or request id (uuid text) */
	int			attempt;
	int			timeout_ms;
	char	   *method;			/* GET, POST, PUT, PATCH, DELETE */
	char	   *url;
	char	   *body;			/* NULL: none */
	struct curl_slist *headers;
	CURL	   *easy;

	/* what came back (written by libcurl's callbacks) */
	char	   *resp;			/* body, kept up to resp_limit */
	size_t		resp_len;
	size_t		resp_cap;
	size_t		resp_limit;
	bool		resp_too_large;
	char	   *resp_headers;	/* header lines of the last response (requests) */
	size_t		hdr_len;
	size_t		hdr_cap;
	int			retry_after_s;	/* -1: none */

	/* outcome */
	long		status;			/* 0: no response */
	CURLcode	result;
	char		errbuf[CURL_ERROR_SIZE];
	TimestampTz started_at;
	struct timespec start;
	int			duration_ms;
	int			record_tries;	/* failed attempts to record the outcome */

	struct HttpJob *next;
} HttpJob;

extern bool http_transfer_init(void);
extern void http_transfer_cleanup(void);
extern HttpJob *http_job_new(HttpJobKind kind, const char *id, int attempt);
extern bool http_job_add_header(HttpJob *job, const char *line);
extern void http_job_free(HttpJob *job);
extern void http_jobs_free(HttpJob *list);
extern void http_transfer_start(HttpJob *job);
extern void http_transfer_socket_ready(int fd, bool readable, bool writable);
extern long http_transfer_timer_ms(void);
extern void http_transfer_timer_check(void);
extern HttpJob *http_transfer_take_finished(void);
extern int	http_transfer_in_flight(void);
extern bool http_transfer_sockets_changed(void);
extern int	http_transfer_sockets(int *fds, int *what, int max);
extern int	http_transfer_socket_count(void);
extern const char *http_job_error(HttpJob *job);

#endif
