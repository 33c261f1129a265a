/*
 * guc.h
 *		The cc.* configuration parameters, defined once in guc.c.
 */
#ifndef CC_GUC_H
#define CC_GUC_H

extern char *cc_database;
extern char *cc_site;
extern char *cc_sip_listen;
extern char *cc_sip_realm;
extern char *cc_rtp_ip;
extern int	cc_rtp_port_min;
extern int	cc_rtp_port_max;
extern int	cc_media_workers;
extern int	cc_max_calls;
extern int	cc_max_calls_per_second;
extern int	cc_rtp_timeout_s;
extern char *cc_media_dir;
extern char *cc_recordings_dir;
extern char *cc_loopback_conninfo;
extern int	cc_command_rescan_ms;
extern int	cc_worker_statement_timeout_ms;

/* The most media workers cc.media_workers accepts. */
#define CC_MAX_MEDIA_WORKERS 32

extern void cc_define_gucs(void);

#endif
