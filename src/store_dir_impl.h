/*
 * store_dir_impl.h: what store_dir.c (names, attributes, get, put, head,
 * delete) shares with store_dir_list.c (the listing of a folder).
 */
#ifndef IMGP_STORE_DIR_IMPL_H
#define IMGP_STORE_DIR_IMPL_H

#include <sys/stat.h>

#include "store_impl.h"

#define XATTR_NAME "user.imgpipe"
#define SIDECAR_DIR ".imgpipe-meta"
#define TMP_PREFIX ".imgpipe-tmp-"
#define ATTR_MAX (64 * 1024)

struct dir_store {
	struct imgp_store base;
	char *root;                 /* NULL: the folders store */
};

static inline bool imgp_dir_folders(const struct dir_store *d)
{
	return !d->root;
}

enum imgp_status imgp_dir_check_bucket(const struct dir_store *d, const char *bucket,
                                      struct imgp_store_error *e);
/* PATH/B/K (dir:PATH), or B/K (the folders store); key NULL: the folder. */
char *imgp_dir_object_path(const struct dir_store *d, const char *bucket, const char *key);
/* A file's version in the folders store: mtime (to the nanosecond) and size. */
char *imgp_dir_file_version(const struct stat *sb);
enum imgp_status imgp_dir_errno_status(int err);
enum imgp_status imgp_dir_list(struct imgp_store *st, const char *bucket, const char *prefix,
                               imgp_store_list_cb cb, void *ud, struct imgp_store_error *e);

#endif
