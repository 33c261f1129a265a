/*
 * random_uuids.h
 *		Version 4 UUIDs in batches (random_uuids.c).
 */
#ifndef CC_RANDOM_UUIDS_H
#define CC_RANDOM_UUIDS_H

#include "utils/uuid.h"

extern void cc_random_uuids(pg_uuid_t *uuids, int n);

#endif							/* CC_RANDOM_UUIDS_H */
