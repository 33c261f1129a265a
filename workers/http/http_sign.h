/*
 * http_sign.h
 *		The signature of a webhook delivery: HMAC-SHA256, keyed with the
 *		webhook's secret, over "<timestamp>.<body>", as lowercase hex.
 */
#ifndef CC_HTTP_SIGN_H
#define CC_HTTP_SIGN_H

#include <stddef.h>

/* 64 hex digits and a NUL */
#define HTTP_SIGNATURE_LEN 65

extern bool http_sign(const char *secret, long timestamp, const char *body, size_t body_len,
					  char out[HTTP_SIGNATURE_LEN]);

#endif
