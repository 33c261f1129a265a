/*
 * sip_bus.h
 *		The command bus as cc sip sees it: a loopback libpq connection that
 *		LISTENs on cc_commands inside the su_root loop, and the SPI calls
 *		that claim commands and record their outcomes.
 */
#ifndef CC_SIP_BUS_H
#define CC_SIP_BUS_H

#include "sip_stack.h"

extern bool sip_bus_notified;

extern void sip_bus_prepare(void);
extern void sip_bus_maintain(void);
extern void sip_bus_disconnect(void);
extern void sip_bus_recover(void);
extern void sip_bus_claim_and_run(void);
extern void sip_bus_fire_timers(void);
extern int	sip_bus_step_ms(int max_ms);
extern void sip_bus_record_results(void);

#endif
