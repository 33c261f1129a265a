/*
 * loopback.h
 *		A libpq connection from a background worker to its own server, to
 *		LISTEN: PostgreSQL refuses LISTEN inside a background worker, so a
 *		worker that wants to be woken by NOTIFY puts this connection's socket
 *		in its event loop (a WaitEventSet, or sofia-sip's su_root).
 *
 * Usage: cc_loopback_create() once at start (it reads the catalog, so not
 * inside a transaction of the caller); cc_loopback_maintain() every loop
 * turn, which (re)connects when needed and returns true when the socket
 * changed (re-register it, and look for work: notifications sent while
 * nobody listened are lost); cc_loopback_read() when the socket is
 * readable, which returns how many notifications arrived (and can hand
 * each payload to a function).  cc_loopback_read neither pallocs nor
 * ereports, so it may run inside a library callback.
 */
#ifndef CC_LOOPBACK_H
#define CC_LOOPBACK_H

#include "port.h"

typedef struct CcLoopback CcLoopback;

extern CcLoopback *cc_loopback_create(const char *worker_name, const char *const *channels, int nchannels);
extern bool cc_loopback_maintain(CcLoopback *lb);
extern pgsocket cc_loopback_socket(const CcLoopback *lb);
extern int	cc_loopback_read(CcLoopback *lb, void (*on_payload) (const char *payload, void *arg), void *arg);
extern void cc_loopback_close(CcLoopback *lb);

#endif
