/*
 * random_uuids.h
 *		Version 4 UUIDs in batches (random_uuids.c).
 */
#ifndef CC_RANDOM_UUIDS_H
#define CC_RANDOM_UUIDS_H

#include "utils/array.h"

extern ArrayType *cc_random_uuid_array(int n);

#endif							/* CC_RANDOM_UUIDS_H */
