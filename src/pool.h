/*
 * pool.h: the front ends' one worker pool over a list of work (refs of one
 * invocation, groups of files): up to N threads take the next index until
 * none is left; libvips' per-thread buffers go back as each thread ends.
 * Every front end shares it (upload.c for lambda, invoke and serve;
 * resize.c), so no front end writes threads of its own.
 */
#ifndef IMGP_POOL_H
#define IMGP_POOL_H

#include <stddef.h>

/* One piece of work: the i-th of n. */
typedef void (*imgp_pool_fn)(void *ctx, size_t i);
/* Called on the calling thread about every 100 ms while others work. */
typedef void (*imgp_pool_tick)(void *ctx);

/*
 * Run work(ctx, i) for every i < n on at most workers threads (at least
 * one; at most 256). Without tick the calling thread is one of them; with
 * tick it calls tick instead, and does the work itself only when no thread
 * could be started. Returns when every i is done.
 */
void imgp_pool_run(size_t n, int workers, imgp_pool_fn work, imgp_pool_tick tick, void *ctx);

#endif
