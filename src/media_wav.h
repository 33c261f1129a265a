/*
 * media_wav.h
 *		Reading a WAV header, shared by the media workers (playback) and the
 *		SQL side (cc.wav_info, prompt validation).  No palloc, no ereport:
 *		callable anywhere, including the TTS thread.
 */
#ifndef CC_MEDIA_WAV_H
#define CC_MEDIA_WAV_H

#include <stdint.h>

typedef struct CcWavInfo
{
	int			format;			/* 1 = PCM, 3 = float, 6 = A-law, 7 = mu-law, 0xFFFE extensible */
	int			channels;
	int			sample_rate;
	int			bits;
	int64_t		data_offset;	/* where the samples start */
	int64_t		data_bytes;		/* length of the data chunk (clipped to the file) */
} CcWavInfo;

/* The most bytes of a file's start cc_wav_parse looks at for the data chunk. */
#define CC_WAV_HEADER_MAX 65536

extern bool cc_wav_parse(const unsigned char *buf, int len, int64_t file_size,
						 CcWavInfo *info, char *error, int error_len);
extern bool cc_wav_playable(const CcWavInfo *info, char *error, int error_len);
extern bool cc_wav_read_file(const char *path, CcWavInfo *info, char *error, int error_len);
extern void cc_wav_header(unsigned char *out44, int channels, int sample_rate, int64_t data_bytes);

#endif
