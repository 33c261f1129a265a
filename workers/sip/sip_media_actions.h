/*
 * sip_media_actions.h
 *		Checking media actions and reducing them to media commands
 *		(CcMediaCmd), for sip_media.c.  Runs in cc sip, outside any
 *		transaction; never ereports.
 */
#ifndef CC_SIP_MEDIA_ACTIONS_H
#define CC_SIP_MEDIA_ACTIONS_H

#include "media/media_cmd.h"
#include "sip_action.h"

extern void smc_cmd_init(CcMediaCmd *cmd, int op, const SipAction *action);
extern void smc_cmd_add_str(CcMediaCmd *cmd, const char *s);
extern bool smc_set_peer_of(CcMediaCmd *cmd, const SipAction *action, const char *path, bool required, char **error);
extern bool smc_parse_play(const SipAction *action, const char *prefix, CcMediaCmd *cmd, char **error);
extern bool smc_parse_dtmf(const SipAction *action, CcMediaCmd *cmd, char **error);
extern bool smc_parse_record(const SipAction *action, CcMediaCmd *cmd, char **error);
extern bool smc_parse_conference(const SipAction *action, CcMediaCmd *cmd, char **error);

#endif
