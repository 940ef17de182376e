/* bench/common.h - shared bits of the relay benchmark's sender and receiver */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdint.h>
#include <time.h>

#define BENCH_MAGIC 0x67776231u	/* "gwb1" */

/* the start of every datagram the sender writes (payloads are at least this long) */
struct bench_hdr {
	uint32_t magic;
	uint32_t run;
	uint64_t seq;
};

static inline double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
