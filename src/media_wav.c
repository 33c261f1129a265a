/*
 * media_wav.c
 *		WAV (RIFF) headers: parsing any bytes safely, telling whether a file
 *		is a prompt we can play (PCM, 16-bit, mono, 8 or 16 kHz), and writing
 *		the 44-byte header of our recordings and TTS renderings.
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "media_wav.h"

static uint32 le32(const unsigned char *p);
static uint16 le16(const unsigned char *p);
static void put32(unsigned char *p, uint32 v);
static void put16(unsigned char *p, uint16 v);

static uint32
le32(const unsigned char *p)
{
	return (uint32) p[0] | ((uint32) p[1] << 8) | ((uint32) p[2] << 16) | ((uint32) p[3] << 24);
}

static uint16
le16(const unsigned char *p)
{
	return (uint16) (p[0] | (p[1] << 8));
}

static void
put32(unsigned char *p, uint32 v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static void
put16(unsigned char *p, uint16 v)
{
	p[0] = v;
	p[1] = v >> 8;
}

/*
 * cc_wav_parse reads the RIFF header in buf (the first len bytes of a file
 * of file_size bytes): the fmt chunk and where the data chunk starts.  False
 * with a sentence in error when it is not a WAV file we can read.
 */
bool
cc_wav_parse(const unsigned char *buf, int len, int64_t file_size,
			 CcWavInfo *info, char *error, int error_len)
{
	int64_t		off = 12;
	bool		have_fmt = false;

	memset(info, 0, sizeof(*info));
	if (len < 12 || memcmp(buf, "RIFF", 4) != 0 || memcmp(buf + 8, "WAVE", 4) != 0)
	{
		snprintf(error, error_len, "it is not a WAV file (no RIFF/WAVE header)");
		return false;
	}
	while (off + 8 <= len)
	{
		const unsigned char *chunk = buf + off;
		uint32		size = le32(chunk + 4);

		if (memcmp(chunk, "fmt ", 4) == 0)
		{
			if (size < 16 || off + 8 + 16 > len)
			{
				snprintf(error, error_len, "its fmt chunk is truncated");
				return false;
			}
			info->format = le16(chunk + 8);
			info->channels = le16(chunk + 10);
			info->sample_rate = (int) le32(chunk + 12);
			info->bits = le16(chunk + 22);
			if (info->format == 0xFFFE && size >= 40 && off + 8 + 26 <= len)
				info->format = le16(chunk + 8 + 24);	/* the sub-format's tag */
			have_fmt = true;
		}
		else if (memcmp(chunk, "data", 4) == 0)
		{
			if (!have_fmt)
			{
				snprintf(error, error_len, "its data chunk comes before any fmt chunk");
				return false;
			}
			info->data_offset = off + 8;
			info->data_bytes = size;
			if (file_size >= 0 && info->data_offset + info->data_bytes > file_size)
				info->data_bytes = Max(0, file_size - info->data_offset);
			return true;
		}
		off += 8 + (int64_t) size + (size & 1);
	}
	snprintf(error, error_len, have_fmt ? "it has no data chunk in its first %d bytes" :
			 "it has no fmt chunk in its first %d bytes", CC_WAV_HEADER_MAX);
	return false;
}

/* cc_wav_playable tells whether a parsed WAV is 16-bit PCM mono at 8 or 16 kHz. */
bool
cc_wav_playable(const CcWavInfo *info, char *error, int error_len)
{
	if (info->format != 1 || info->bits != 16 || info->channels != 1 ||
		(info->sample_rate != 8000 && info->sample_rate != 16000))
	{
		const char *fmt = info->format == 1 ? "PCM" : info->format == 3 ? "float" :
			info->format == 6 ? "A-law" : info->format == 7 ? "mu-law" : "compressed";

		snprintf(error, error_len, "it is %s, %d-bit, %d channel%s, %d Hz",
				 fmt, info->bits, info->channels, info->channels == 1 ? "" : "s", info->sample_rate);
		return false;
	}
	return true;
}

/*
 * cc_wav_read_file opens path and parses its header; false with a sentence
 * in error (missing, unreadable, not a WAV).
 */
bool
cc_wav_read_file(const char *path, CcWavInfo *info, char *error, int error_len)
{
	unsigned char *buf;
	struct stat st;
	int			fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t		n;
	bool		ok;

	if (fd < 0)
	{
		snprintf(error, error_len, "it cannot be opened: %s", strerror(errno));
		return false;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
	{
		close(fd);
		snprintf(error, error_len, "it is not a regular file");
		return false;
	}
	buf = malloc(CC_WAV_HEADER_MAX);
	if (buf == NULL)
	{
		close(fd);
		snprintf(error, error_len, "out of memory");
		return false;
	}
	n = read(fd, buf, CC_WAV_HEADER_MAX);
	close(fd);
	ok = n >= 0 && cc_wav_parse(buf, (int) n, st.st_size, info, error, error_len);
	if (n < 0)
		snprintf(error, error_len, "it cannot be read: %s", strerror(errno));
	free(buf);
	return ok;
}

/* cc_wav_header writes the 44-byte header of a 16-bit PCM WAV. */
void
cc_wav_header(unsigned char *h, int channels, int sample_rate, int64_t data_bytes)
{
	uint32		data = (uint32) Min(data_bytes, (int64_t) 0xFFFFFFFF - 36);

	memcpy(h, "RIFF", 4);
	put32(h + 4, 36 + data);
	memcpy(h + 8, "WAVEfmt ", 8);
	put32(h + 16, 16);
	put16(h + 20, 1);
	put16(h + 22, channels);
	put32(h + 24, sample_rate);
	put32(h + 28, sample_rate * channels * 2);
	put16(h + 32, channels * 2);
	put16(h + 34, 16);
	memcpy(h + 36, "data", 4);
	put32(h + 40, data);
}
