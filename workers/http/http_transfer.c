/*
 * http_transfer.c
 *		cc http's libcurl multi handle: starts jobs, follows their sockets
 *		and timers for the worker's WaitEventSet, and hands back finished
 *		jobs with their status, headers, body, error and duration.
 *
 * libcurl calls socket_cb and timer_cb to say which sockets to watch and
 * when to call it back; the loop (http_worker.c) waits on those and calls
 * http_transfer_socket_ready / http_transfer_timer_check.  The callbacks
 * here (socket, timer, write, header) use malloc and plain C only: no
 * palloc, no ereport, no SPI.  A response body is kept up to a limit (1 MB
 * for requests; 4 KB for webhooks, whose body nobody reads); past it a
 * request fails with "response too large".
 */
#include "postgres.h"

#include <time.h>

#include <curl/curl.h>

#include "utils/timestamp.h"

#include "http_transfer.h"

#define HTTP_REQUEST_BODY_LIMIT (1024 * 1024)
#define HTTP_WEBHOOK_BODY_LIMIT 4096
#define HTTP_HEADERS_LIMIT (64 * 1024)
#define HTTP_MAX_HOST_CONNECTIONS 128
#define HTTP_MAX_CONNECTS 512

typedef struct WatchedSocket
{
	int			fd;
	int			what;			/* CURL_POLL_IN, _OUT, _INOUT */
} WatchedSocket;

static CURLM *multi = NULL;
static WatchedSocket *watched = NULL;
static int	n_watched = 0;
static int	cap_watched = 0;
static bool sockets_changed = true;
static bool timer_armed = false;
static struct timespec timer_due;
static HttpJob *finished = NULL;
static HttpJob *finished_tail = NULL;
static int	in_flight = 0;

static int	socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp);
static int	timer_cb(CURLM *m, long timeout_ms, void *userp);
static size_t write_cb(char *data, size_t size, size_t nmemb, void *userp);
static size_t header_cb(char *data, size_t size, size_t nmemb, void *userp);
static bool buffer_append(char **buf, size_t *len, size_t *cap, const char *data, size_t n);
static void finish(HttpJob *job);
static void collect(void);
static long ms_since(const struct timespec *t);

/* ms_since is the time since t on the monotonic clock, in ms. */
static long
ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000L + (now.tv_nsec - t->tv_nsec) / 1000000L;
}

/*
 * socket_cb (libcurl) records which sockets libcurl wants watched and for
 * what; the loop rebuilds its wait set when this changes.  malloc only.
 */
static int
socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	int			i;

	for (i = 0; i < n_watched; i++)
		if (watched[i].fd == (int) s)
			break;
	if (what == CURL_POLL_REMOVE)
	{
		if (i < n_watched)
		{
			watched[i] = watched[n_watched - 1];
			n_watched--;
			sockets_changed = true;
		}
		return 0;
	}
	if (i == n_watched)
	{
		if (n_watched == cap_watched)
		{
			int			cap = cap_watched ? cap_watched * 2 : 64;
			WatchedSocket *grown = realloc(watched, sizeof(WatchedSocket) * cap);

			if (grown == NULL)
				return -1;
			watched = grown;
			cap_watched = cap;
		}
		watched[n_watched].fd = (int) s;
		watched[n_watched].what = 0;
		n_watched++;
	}
	if (watched[i].what != what)
	{
		watched[i].what = what;
		sockets_changed = true;
	}
	return 0;
}

/* timer_cb (libcurl) records when libcurl wants to be called back (-1: never). */
static int
timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	if (timeout_ms < 0)
	{
		timer_armed = false;
		return 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &timer_due);
	timer_due.tv_sec += timeout_ms / 1000;
	timer_due.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (timer_due.tv_nsec >= 1000000000L)
	{
		timer_due.tv_sec++;
		timer_due.tv_nsec -= 1000000000L;
	}
	timer_armed = true;
	return 0;
}

/* buffer_append grows a malloc'd buffer (kept NUL-terminated); false if out of memory. */
static bool
buffer_append(char **buf, size_t *len, size_t *cap, const char *data, size_t n)
{
	if (*len + n + 1 > *cap)
	{
		size_t		want = Max(*cap * 2, *len + n + 1);
		char	   *grown;

		want = Max(want, 1024);
		grown = realloc(*buf, want);
		if (grown == NULL)
			return false;
		*buf = grown;
		*cap = want;
	}
	memcpy(*buf + *len, data, n);
	*len += n;
	(*buf)[*len] = '\0';
	return true;
}

/*
 * write_cb (libcurl) keeps the response body up to the job's limit.  A
 * request whose answer is larger fails (returning 0 aborts the transfer);
 * a webhook's surplus is dropped.
 */
static size_t
write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	HttpJob    *job = (HttpJob *) userp;
	size_t		n = size * nmemb;
	size_t		keep = n;

	if (job->resp_len + n > job->resp_limit)
	{
		if (job->kind == HTTP_JOB_REQUEST)
		{
			job->resp_too_large = true;
			return 0;
		}
		keep = job->resp_limit > job->resp_len ? job->resp_limit - job->resp_len : 0;
	}
	if (keep > 0 && !buffer_append(&job->resp, &job->resp_len, &job->resp_cap, data, keep))
		return 0;
	return n;
}

/*
 * header_cb (libcurl), once per header line: a status line starts a new
 * response (after a 100 Continue, only the last counts); Retry-After is
 * read as seconds or an HTTP date; requests keep the lines for their
 * answer's headers.
 */
static size_t
header_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	HttpJob    *job = (HttpJob *) userp;
	size_t		n = size * nmemb;

	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0)
	{
		job->hdr_len = 0;
		if (job->resp_headers)
			job->resp_headers[0] = '\0';
		job->retry_after_s = -1;
		return n;
	}
	if (n > 12 && pg_strncasecmp(data, "retry-after:", 12) == 0)
	{
		char		value[128];
		size_t		len = Min(n - 12, sizeof(value) - 1);
		char	   *p = value;
		char	   *end;

		memcpy(value, data + 12, len);
		value[len] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		end = p + strlen(p);
		while (end > p && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*p != '\0' && strspn(p, "0123456789") == strlen(p) && strlen(p) <= 9)
			job->retry_after_s = atoi(p);
		else if (*p != '\0')
		{
			time_t		when = curl_getdate(p, NULL);

			if (when != -1)
			{
				time_t		now = time(NULL);

				job->retry_after_s = when > now ? (int) Min(when - now, 86400) : 0;
			}
		}
	}
	if (job->kind == HTTP_JOB_REQUEST && job->hdr_len + n <= HTTP_HEADERS_LIMIT)
		(void) buffer_append(&job->resp_headers, &job->hdr_len, &job->hdr_cap, data, n);
	return n;
}

/*
 * http_transfer_init creates the multi handle; curl_global_init must have
 * run.  Connections are reused between jobs to the same host (keep-alive),
 * at most HTTP_MAX_HOST_CONNECTIONS at once per host.
 */
bool
http_transfer_init(void)
{
	multi = curl_multi_init();
	if (multi == NULL)
		return false;
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long) HTTP_MAX_HOST_CONNECTIONS);
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long) HTTP_MAX_CONNECTS);
	return true;
}

/* http_transfer_cleanup ends every transfer and frees the multi handle (at exit). */
void
http_transfer_cleanup(void)
{
	if (multi)
		curl_multi_cleanup(multi);
	multi = NULL;
	free(watched);
	watched = NULL;
	n_watched = cap_watched = 0;
}

/* http_job_new allocates an empty job (malloc; NULL when out of memory). */
HttpJob *
http_job_new(HttpJobKind kind, const char *id, int attempt)
{
	HttpJob    *job = calloc(1, sizeof(HttpJob));

	if (job == NULL)
		return NULL;
	job->kind = kind;
	strlcpy(job->id, id, sizeof(job->id));
	job->attempt = attempt;
	job->retry_after_s = -1;
	job->resp_limit = kind == HTTP_JOB_REQUEST ? HTTP_REQUEST_BODY_LIMIT : HTTP_WEBHOOK_BODY_LIMIT;
	return job;
}

/* http_job_add_header appends "Name: value" to the job's request headers. */
bool
http_job_add_header(HttpJob *job, const char *line)
{
	struct curl_slist *l = curl_slist_append(job->headers, line);

	if (l == NULL)
		return false;
	job->headers = l;
	return true;
}

/* http_job_free frees a job that is not (or no longer) in the multi handle. */
void
http_job_free(HttpJob *job)
{
	if (job == NULL)
		return;
	if (job->easy)
		curl_easy_cleanup(job->easy);
	curl_slist_free_all(job->headers);
	free(job->method);
	free(job->url);
	free(job->body);
	free(job->resp);
	free(job->resp_headers);
	free(job);
}

/* http_jobs_free frees a list of jobs. */
void
http_jobs_free(HttpJob *list)
{
	while (list)
	{
		HttpJob    *next = list->next;

		http_job_free(list);
		list = next;
	}
}

/* finish moves a job to the finished list, with its duration. */
static void
finish(HttpJob *job)
{
	job->duration_ms = (int) Max(ms_since(&job->start), 0);
	job->next = NULL;
	if (finished_tail)
		finished_tail->next = job;
	else
		finished = job;
	finished_tail = job;
}

/*
 * http_transfer_start sets up the job's easy handle and adds it to the
 * multi handle.  A job that cannot start is finished at once with its
 * error (CURLE_FAILED_INIT), so its attempt is recorded like any other.
 */
void
http_transfer_start(HttpJob *job)
{
	CURL	   *easy;
	CURLMcode	mc;

	clock_gettime(CLOCK_MONOTONIC, &job->start);
	job->started_at = GetCurrentTimestamp();
	job->result = CURLE_FAILED_INIT;
	job->easy = easy = curl_easy_init();
	if (easy == NULL)
	{
		strlcpy(job->errbuf, "cannot create a libcurl handle", sizeof(job->errbuf));
		finish(job);
		return;
	}
	curl_easy_setopt(easy, CURLOPT_PRIVATE, job);
	curl_easy_setopt(easy, CURLOPT_URL, job->url);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long) job->timeout_ms);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long) Min(job->timeout_ms, 10000));
	curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(easy, CURLOPT_USERAGENT, "pg_callcenter/0.1");
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, job->errbuf);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, job);
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, job);
	/* no "Expect: 100-continue" round trip before the body */
	(void) http_job_add_header(job, "Expect:");
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, job->headers);

	if (strcmp(job->method, "GET") == 0)
		curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
	else
	{
		if (job->body != NULL || strcmp(job->method, "DELETE") != 0)
		{
			curl_easy_setopt(easy, CURLOPT_POSTFIELDS, job->body ? job->body : "");
			curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) (job->body ? strlen(job->body) : 0));
		}
		if (strcmp(job->method, "POST") != 0)
			curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, job->method);
	}

	mc = curl_multi_add_handle(multi, easy);
	if (mc != CURLM_OK)
	{
		strlcpy(job->errbuf, curl_multi_strerror(mc), sizeof(job->errbuf));
		finish(job);
		return;
	}
	in_flight++;
}

/* collect takes every transfer libcurl has finished out of the multi handle. */
static void
collect(void)
{
	CURLMsg    *msg;
	int			left;

	while ((msg = curl_multi_info_read(multi, &left)) != NULL)
	{
		HttpJob    *job = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &job);
		if (job == NULL)
			continue;
		job->result = msg->data.result;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &job->status);
		curl_multi_remove_handle(multi, msg->easy_handle);
		curl_easy_cleanup(msg->easy_handle);
		job->easy = NULL;
		in_flight--;
		finish(job);
	}
}

/* http_transfer_socket_ready tells libcurl that a socket it watches is ready. */
void
http_transfer_socket_ready(int fd, bool readable, bool writable)
{
	int			running;
	int			mask = (readable ? CURL_CSELECT_IN : 0) | (writable ? CURL_CSELECT_OUT : 0);

	curl_multi_socket_action(multi, (curl_socket_t) fd, mask, &running);
	collect();
}

/* http_transfer_timer_ms is how long until libcurl's timer is due (-1: not armed). */
long
http_transfer_timer_ms(void)
{
	long		ms;

	if (!timer_armed)
		return -1;
	ms = -ms_since(&timer_due);
	return ms > 0 ? ms : 0;
}

/* http_transfer_timer_check calls libcurl back when its timer is due. */
void
http_transfer_timer_check(void)
{
	int			running;

	if (timer_armed && http_transfer_timer_ms() == 0)
	{
		timer_armed = false;
		curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	collect();
}

/* http_transfer_take_finished hands over the finished jobs, oldest first. */
HttpJob *
http_transfer_take_finished(void)
{
	HttpJob    *list = finished;

	finished = finished_tail = NULL;
	return list;
}

/* http_transfer_in_flight is how many jobs libcurl is running. */
int
http_transfer_in_flight(void)
{
	return in_flight;
}

/* http_transfer_sockets_changed says (once) that the watched sockets changed. */
bool
http_transfer_sockets_changed(void)
{
	bool		changed = sockets_changed;

	sockets_changed = false;
	return changed;
}

/* http_transfer_socket_count is how many sockets libcurl wants watched. */
int
http_transfer_socket_count(void)
{
	return n_watched;
}

/* http_transfer_sockets copies the watched sockets and their CURL_POLL_* wishes. */
int
http_transfer_sockets(int *fds, int *what, int max)
{
	int			i;

	for (i = 0; i < n_watched && i < max; i++)
	{
		fds[i] = watched[i].fd;
		what[i] = watched[i].what;
	}
	return i;
}

/*
 * http_job_error says why a finished job got no usable answer, or NULL:
 * "timeout", "response too large", or libcurl's message.
 */
const char *
http_job_error(HttpJob *job)
{
	if (job->result == CURLE_OK)
		return NULL;
	if (job->resp_too_large)
		return "response too large";
	if (job->result == CURLE_OPERATION_TIMEDOUT)
		return job->errbuf[0] ? job->errbuf : "timeout";
	return job->errbuf[0] ? job->errbuf : curl_easy_strerror(job->result);
}
