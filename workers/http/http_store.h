/*
 * http_store.h
 *		cc http's side of the database: claiming deliveries and requests,
 *		recording their attempts, taking back what a dead cc http left.
 *		Each function runs one transaction (cc_worker_transaction) and
 *		returns false if it was rolled back.
 */
#ifndef CC_HTTP_STORE_H
#define CC_HTTP_STORE_H

#include "http_transfer.h"

/* What a claim brought: the jobs to start, whether more may wait, and when
 * the next attempt scheduled for later is due (-1: none). */
typedef struct HttpClaim
{
	int			max_webhooks;
	int			max_requests;
	HttpJob    *jobs;
	int			n_webhooks;
	int			n_requests;
	long		next_due_ms;
} HttpClaim;

extern bool http_store_recover(bool starting);
extern bool http_store_claim(HttpClaim *claim);
extern bool http_store_record(HttpJob *jobs);

#endif
