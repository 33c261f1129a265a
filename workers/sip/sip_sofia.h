/*
 * sip_sofia.h
 *		Includes sofia-sip with our magic types.  Every file of cc sip that
 *		touches sofia-sip includes this header, after postgres.h.
 */
#ifndef CC_SIP_SOFIA_H
#define CC_SIP_SOFIA_H

/*
 * What a nua handle of ours points to: an outbound request (sip_stack.c), a
 * call leg (sip_calls.c), one fork of an outbound leg (sip_dial.c) or a
 * register_out trunk (sip_trunks.c), told apart by kind, the first member
 * of each.
 */
typedef enum SipHandleKind
{
	SIP_HANDLE_REQUEST = 1,
	SIP_HANDLE_LEG = 2,
	SIP_HANDLE_FORK = 3,
	SIP_HANDLE_TRUNK = 4
} SipHandleKind;

typedef struct SipHandleMagic
{
	SipHandleKind kind;
} SipHandleMagic;

#define SU_ROOT_MAGIC_T void
#define SU_WAKEUP_ARG_T void
#define SU_TIMER_ARG_T void
#define NUA_MAGIC_T void
#define NUA_HMAGIC_T SipHandleMagic

#include <sofia-sip/su.h>
#include <sofia-sip/su_wait.h>
#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/soa_tag.h>

#endif
