/*
 * sip_sofia.h
 *		Includes sofia-sip with our magic types.  Every file of cc sip that
 *		touches sofia-sip includes this header, after postgres.h.
 */
#ifndef CC_SIP_SOFIA_H
#define CC_SIP_SOFIA_H

struct SipRequest;

#define SU_ROOT_MAGIC_T void
#define SU_WAKEUP_ARG_T void
#define NUA_MAGIC_T void
#define NUA_HMAGIC_T struct SipRequest

#include <sofia-sip/su.h>
#include <sofia-sip/su_wait.h>
#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/soa_tag.h>

#endif
