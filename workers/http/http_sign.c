/*
 * http_sign.c
 *		HMAC-SHA256 signatures of webhook deliveries, with OpenSSL's
 *		libcrypto (PostgreSQL's own pg_hmac needs a resource owner in the
 *		backend, which cc http's loop does not have between transactions).
 *
 * A receiver verifies a delivery by recomputing
 *     hex(HMAC-SHA256(secret, X-CC-Timestamp + "." + raw body))
 * and comparing it with the v1= value of X-CC-Signature, in constant time,
 * and by refusing timestamps too far from its clock (docs/events.md).
 */
#include "postgres.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "http_sign.h"

/*
 * http_sign writes the signature of body at timestamp into out; false if
 * libcrypto failed (the delivery then goes unsigned and the receiver
 * refuses it, which is the safe side).
 */
bool
http_sign(const char *secret, long timestamp, const char *body, size_t body_len,
		  char out[HTTP_SIGNATURE_LEN])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	char		prefix[32];
	int			prefix_len;
	unsigned char *message;
	bool		ok;
	unsigned int i;

	prefix_len = snprintf(prefix, sizeof(prefix), "%ld.", timestamp);
	message = malloc(prefix_len + body_len + 1);
	if (message == NULL)
		return false;
	memcpy(message, prefix, prefix_len);
	memcpy(message + prefix_len, body, body_len);
	/* the one-shot HMAC(), not the HMAC_CTX calls OpenSSL 3 deprecates */
	ok = HMAC(EVP_sha256(), secret, (int) strlen(secret), message, prefix_len + body_len,
			  mac, &mac_len) != NULL && mac_len == 32;
	free(message);
	if (!ok)
		return false;
	for (i = 0; i < mac_len; i++)
	{
		out[2 * i] = hex[mac[i] >> 4];
		out[2 * i + 1] = hex[mac[i] & 0x0f];
	}
	out[2 * mac_len] = '\0';
	return true;
}
