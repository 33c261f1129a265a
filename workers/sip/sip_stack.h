/*
 * sip_stack.h
 *		The sofia-sip user agent of cc sip: start, stop, requests out, and
 *		the queue of results that callbacks leave for the loop.
 */
#ifndef CC_SIP_STACK_H
#define CC_SIP_STACK_H

#include "sip_sofia.h"

/*
 * What a finished outbound request left for the loop.  Allocated with
 * malloc inside sofia-sip callbacks (palloc is not allowed there) and
 * freed by the loop once recorded.
 */
typedef struct SipResult
{
	struct SipResult *next;
	char		command_id[37];	/* uuid text of the command */
	bool		generic;		/* not an OPTIONS: finished by cc.command_finish (status 0 = failed) */
	char	   *uri;
	int			status;
	char	   *phrase;
	double		rtt_ms;
	int			tries;			/* failed attempts to record it */
} SipResult;

extern su_root_t *sip_root;
extern nua_t *sip_nua;
extern uint64 sip_work_queued;	/* requests and events queued by callbacks, ever */

extern bool sip_stack_start(const char *listen_url);
extern void sip_stack_stop(void);
extern bool sip_stack_send_options(const char *command_id, const char *uri, char **error);
extern void sip_stack_fail_command(const char *command_id, const char *uri, const char *error);
extern void sip_stack_finish_command(const char *command_id, bool ok, const char *error);
extern SipResult *sip_stack_take_results(void);
extern void sip_stack_return_results(SipResult *results);
extern void sip_result_free(SipResult *result);
extern int	sip_stack_requests_in_flight(void);

#endif
