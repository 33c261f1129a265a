/*
 * http_store.h
 *		cc http's side of the database: claiming deliveries and requests,
 *		recording their attempts, taking back what a dead cc http left.
 *		Each function runs its transactions through cc_worker_transaction
 *		and returns false if one was rolled back.  One loop turn is one
 *		"cycle" transaction: record the finished deliveries, claim new work.
 */
#ifndef CC_HTTP_STORE_H
#define CC_HTTP_STORE_H

#include "http_transfer.h"

/* A claim: how many deliveries and requests to take (0: none), whether to
 * sweep waiting deliveries first; then the jobs to start and when the next
 * attempt scheduled for later is due (-1: none). */
typedef struct HttpClaim
{
	int			max_webhooks;
	int			max_requests;
	bool		sweep;
	HttpJob    *jobs;
	int			n_webhooks;
	int			n_requests;
	long		next_due_ms;
} HttpClaim;

extern bool http_store_recover(bool starting);
extern bool http_store_record_requests(HttpJob *requests);
extern bool http_store_cycle(HttpJob *webhooks, HttpClaim *claim);

#endif
