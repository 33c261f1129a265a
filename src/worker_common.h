/*
 * worker_common.h
 *		What the three background workers share: signal handling, joining
 *		cc.database once the extension exists there, and running SPI work in
 *		a transaction whose ERROR is logged and rolled back, never fatal.
 */
#ifndef CC_WORKER_COMMON_H
#define CC_WORKER_COMMON_H

#include <signal.h>

extern volatile sig_atomic_t cc_shutdown_requested;

/* A function that wakes the worker's own loop (e.g. writes a self-pipe); must be async-signal-safe. */
typedef void (*cc_wake_fn) (void);

extern void cc_worker_setup_signals(cc_wake_fn wake);
extern bool cc_worker_connect(const char *worker_name);
extern void cc_worker_reload_if_pending(void);
extern void cc_worker_apply_timeouts(void);

typedef void (*cc_txn_fn) (void *arg);
extern bool cc_worker_transaction(const char *what, cc_txn_fn fn, void *arg);

#endif
