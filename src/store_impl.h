/*
 * store_impl.h: what the store backends share with store.c, and nothing
 * a caller of store.h may use: the operations table every backend fills,
 * and the error helper.
 */
#ifndef IMGP_STORE_IMPL_H
#define IMGP_STORE_IMPL_H

#include <pthread.h>

#include "http.h"
#include "store.h"

struct imgp_store_ops {
	const char *kind;
	enum imgp_status (*get)(struct imgp_store *st, const char *bucket,
	                        const char *key, size_t max_bytes,
	                        struct imgp_object *out, struct imgp_store_error *e);
	enum imgp_status (*put)(struct imgp_store *st, const char *bucket,
	                        const char *key, const void *data, size_t len,
	                        const struct imgp_put_opts *opts,
	                        struct imgp_store_error *e);
	enum imgp_status (*head)(struct imgp_store *st, const char *bucket,
	                         const char *key, struct imgp_object *out,
	                         struct imgp_store_error *e);
	enum imgp_status (*list)(struct imgp_store *st, const char *bucket,
	                         const char *prefix, imgp_store_list_cb cb,
	                         void *ud, struct imgp_store_error *e);
	enum imgp_status (*del)(struct imgp_store *st, const char *bucket,
	                        const char *key, struct imgp_store_error *e);
	enum imgp_status (*peek)(struct imgp_store *st, const char *bucket,
	                         const char *key, void *buf, size_t n, size_t *len,
	                         struct imgp_store_error *e);
	enum imgp_status (*check_bucket)(struct imgp_store *st, const char *bucket,
	                                 bool write, struct imgp_store_error *e);
	void (*close)(struct imgp_store *st);
	/* optional: resolve now what the first request would need */
	enum imgp_status (*warm)(struct imgp_store *st, char *err);
};

/* Every backend's handle starts with this. */
struct imgp_store {
	const struct imgp_store_ops *ops;
	struct imgp_store_opts opts;        /* defaults filled in */
};

/* root NULL: the folders store, where a bucket is a folder's path */
enum imgp_status imgp_store_dir_open(const char *root,
                                     const struct imgp_store_opts *opts,
                                     struct imgp_store **out, char *err);
enum imgp_status imgp_store_s3_open(const struct imgp_store_opts *opts,
                                    struct imgp_store **out, char *err);
enum imgp_status imgp_store_azure_open(const struct imgp_store_opts *opts,
                                       struct imgp_store **out, char *err);

/*
 * The connections of a remote backend (S3, Azure Blob): idle http.c
 * handles shared by the store's threads, each opened with one policy made
 * from the store's opts. A handle is taken for one request and given back.
 */
struct imgp_store_pool {
	struct imgp_http_policy policy;
	pthread_mutex_t lock;
	struct imgp_http **idle;
	size_t n, cap;
};

void imgp_store_pool_init(struct imgp_store_pool *p, const struct imgp_store_opts *opts);
/* An idle handle, or a new one; on failure e says why. */
enum imgp_status imgp_store_pool_take(struct imgp_store_pool *p, struct imgp_http **out,
                                      struct imgp_store_error *e);
/* Back into the pool (closed when the pool cannot grow); NULL is nothing. */
void imgp_store_pool_give(struct imgp_store_pool *p, struct imgp_http *h);
void imgp_store_pool_release(struct imgp_store_pool *p);

/* Set e's status and reason (code and request id untouched); returns status. */
enum imgp_status imgp_store_fail(struct imgp_store_error *e,
                                 enum imgp_status status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
