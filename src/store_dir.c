/*
 * store_dir.c: the local-folder store, "dir:PATH". Bucket B is the folder
 * PATH/B (made on first put); key K is the file PATH/B/K. The same code
 * serves the folders store (no PATH): bucket B is the folder B itself,
 * any path, and its files' versions are their mtime and size.
 *
 * It owns the mapping of keys to paths and refuses every key that could
 * leave the bucket's folder: absolute, "..", ".", empty segments ("//"),
 * segments over NAME_MAX. It must never write a file in place: every put
 * writes a temporary file in the same folder and renames it, so a reader
 * sees the old object or the new one, never half of one. Attributes
 * (Content-Type, Cache-Control, ETag, metadata) are JSON in the extended
 * attribute user.imgpipe, set on the temporary file before the rename;
 * where the file system refuses user xattrs they go to a sidecar file at
 * PATH/.imgpipe-meta/B/K instead (written before the data's rename).
 */
#include "store_dir_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "dbuf.h"

/* --- names --------------------------------------------------------------- */

enum imgp_status imgp_dir_check_bucket(const struct dir_store *d, const char *bucket,
                                     struct imgp_store_error *e)
{
	if(imgp_dir_folders(d))
		return strlen(bucket) < PATH_MAX ? IMGP_OK : imgp_store_fail(e, IMGP_E_REQUEST,
		                                   "folder \"%.100s...\" is too long", bucket);
	if(strchr(bucket, '/') || bucket[0] == '.' || strlen(bucket) > NAME_MAX)
		return imgp_store_fail(e, IMGP_E_REQUEST,
		                       "bucket name \"%.100s\" is not a plain folder name "
		                       "(no '/', no leading '.')", bucket);
	return IMGP_OK;
}

/* Refuse any key that is not a plain relative path inside the bucket. */
static enum imgp_status check_key(const char *key, struct imgp_store_error *e)
{
	const char *seg = key;

	if(key[0] == '/')
		return imgp_store_fail(e, IMGP_E_REQUEST,
		                       "key \"%.200s\" is an absolute path", key);
	for(;;) {
		size_t n = strcspn(seg, "/");

		if(n == 0)
			return imgp_store_fail(e, IMGP_E_REQUEST,
			                       "key \"%.200s\" has an empty path segment ('//' or a "
			                       "trailing '/')", key);
		if((n == 1 && seg[0] == '.') || (n == 2 && !strncmp(seg, "..", 2)))
			return imgp_store_fail(e, IMGP_E_REQUEST,
			                       "key \"%.200s\" has a '.' or '..' segment, which "
			                       "would leave the bucket's folder", key);
		if(n > NAME_MAX)
			return imgp_store_fail(e, IMGP_E_REQUEST,
			                       "key \"%.100s...\" has a path segment over %d bytes",
			                       key, NAME_MAX);
		if(!strncmp(seg, TMP_PREFIX, strlen(TMP_PREFIX)))
			return imgp_store_fail(e, IMGP_E_REQUEST,
			                       "key \"%.200s\" uses the reserved name " TMP_PREFIX,
			                       key);
		if(!seg[n])
			return IMGP_OK;
		seg += n + 1;
	}
}

static enum imgp_status check_names(const struct dir_store *d, const char *bucket,
                                    const char *key, struct imgp_store_error *e)
{
	enum imgp_status result = imgp_dir_check_bucket(d, bucket, e);

	if(!result && key)
		result = check_key(key, e);
	return result;
}

/* "/" ends a bucket's path but for "/" itself and names that end in it */
static const char *sep(const char *bucket)
{
	size_t n = strlen(bucket);

	return n && bucket[n - 1] == '/' ? "" : "/";
}

char *imgp_dir_object_path(const struct dir_store *d, const char *bucket,
                         const char *key)
{
	if(imgp_dir_folders(d))
		return imgp_asprintf("%s%s%s", bucket, sep(bucket), key ? key : "");
	return imgp_asprintf("%s/%s/%s", d->root, bucket, key ? key : "");
}

static char *sidecar_path(const struct dir_store *d, const char *bucket,
                          const char *key)
{
	if(imgp_dir_folders(d))
		return imgp_asprintf("%s%s" SIDECAR_DIR "/%s", bucket, sep(bucket), key);
	return imgp_asprintf("%s/" SIDECAR_DIR "/%s/%s", d->root, bucket, key);
}

/* A file's version in the folders store: mtime (to the nanosecond) and size. */
char *imgp_dir_file_version(const struct stat *sb)
{
	return imgp_asprintf("%lld.%09ld-%lld", (long long)sb->st_mtim.tv_sec,
	                     (long)sb->st_mtim.tv_nsec, (long long)sb->st_size);
}

enum imgp_status imgp_dir_errno_status(int err)
{
	switch(err) {
	case ENOENT:
	case ENOTDIR:
		return IMGP_E_NOT_FOUND;
	case EACCES:
	case EPERM:
		return IMGP_E_ACCESS;
	case ENOMEM:
		return IMGP_E_NOMEM;
	default:
		return IMGP_E_IO;
	}
}

/* NOT_FOUND with S3's code: NoSuchBucket when the folder is missing. */
static enum imgp_status not_found(const struct dir_store *d, const char *op,
                                  const char *bucket, const char *key,
                                  struct imgp_store_error *e)
{
	char *bpath = imgp_dir_object_path(d, bucket, NULL);
	struct stat sb;
	bool bucket_there = bpath && stat(bpath, &sb) == 0 && S_ISDIR(sb.st_mode);

	imgp_free(bpath);
	snprintf(e->code, sizeof(e->code), "%s", bucket_there ? "NoSuchKey" : "NoSuchBucket");
	if(imgp_dir_folders(d))
		return imgp_store_fail(e, IMGP_E_NOT_FOUND, "%s%s%s: no such %s", bucket,
		                       sep(bucket), key, bucket_there ? "file" : "folder");
	if(!bucket_there)
		return imgp_store_fail(e, IMGP_E_NOT_FOUND, "%s %s/%s: no such bucket (folder %s/%s)",
		                       op, bucket, key, d->root, bucket);
	return imgp_store_fail(e, IMGP_E_NOT_FOUND, "%s %s/%s: no such key", op,
	                       bucket, key);
}

/* mkdir -p of path's parent folders (path itself is a file to come). */
static enum imgp_status make_parents(const char *path, struct imgp_store_error *e)
{
	char *p = imgp_strdup(path);
	enum imgp_status result = IMGP_OK;

	if(!p)
		return imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
	for(char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if(mkdir(p, 0755) && errno != EEXIST) {
			result = imgp_store_fail(e, errno == ENOTDIR ? IMGP_E_REQUEST
			                         : imgp_dir_errno_status(errno),
			                         "cannot make folder %s: %s%s", p, strerror(errno),
			                         errno == ENOTDIR ? " (a shorter key is an object "
			                         "there)" : "");
			break;
		}
		*s = '/';
	}
	imgp_free(p);
	return result;
}

/* --- attributes ---------------------------------------------------------- */

static void md5_etag(const void *data, size_t len, char out[35])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_Digest(data, len, md, &n, EVP_md5(), NULL);
	out[0] = '"';
	for(unsigned int i = 0; i < n && i < 16; i++)
		snprintf(out + 1 + 2 * i, 3, "%02x", md[i]);
	out[33] = '"';
	out[34] = '\0';
}

static char *attrs_json(const struct imgp_put_opts *opts, const char *etag)
{
	json_t *root = json_object(), *meta = json_object();
	char *text = NULL, *dumped;

	if(!root || !meta)
		goto out;
	json_object_set_new(root, "content_type", json_string(
		opts && opts->content_type ? opts->content_type : "application/octet-stream"));
	if(opts && opts->cache_control)
		json_object_set_new(root, "cache_control", json_string(opts->cache_control));
	json_object_set_new(root, "etag", json_string(etag));
	for(size_t i = 0; opts && i < opts->nmeta; i++) {
		char *lower = imgp_strdup(opts->meta[i].name);

		if(!lower)
			goto out;
		for(char *p = lower; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
		json_object_set_new(meta, lower, json_string(opts->meta[i].value));
		imgp_free(lower);
	}
	json_object_set(root, "meta", meta);
	dumped = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
	if(dumped) {
		text = imgp_strdup(dumped);
		free(dumped);
	}
out:
	json_decref(meta);
	json_decref(root);
	return text;
}

static char *dup_or_null(const char *s)
{
	return s ? imgp_strdup(s) : NULL;
}

/* Fill o's attributes from the JSON of a put. */
static enum imgp_status attrs_parse(const char *text, size_t len,
                                    struct imgp_object *o)
{
	json_t *root = json_loadb(text, len, 0, NULL), *meta;
	const char *name;
	json_t *value;
	size_t n;

	if(!root)
		return IMGP_E_CORRUPT;
	o->content_type = dup_or_null(json_string_value(json_object_get(root, "content_type")));
	o->cache_control = dup_or_null(json_string_value(json_object_get(root, "cache_control")));
	o->etag = dup_or_null(json_string_value(json_object_get(root, "etag")));
	meta = json_object_get(root, "meta");
	n = json_object_size(meta);
	if(n) {
		o->meta = imgp_calloc(n, sizeof(*o->meta));
		if(!o->meta)
			goto nomem;
		json_object_foreach(meta, name, value) {
			o->meta[o->nmeta].name = imgp_strdup(name);
			o->meta[o->nmeta].value = imgp_strdup(json_string_value(value)
			                                      ? json_string_value(value) : "");
			o->nmeta++;
			if(!o->meta[o->nmeta - 1].name || !o->meta[o->nmeta - 1].value)
				goto nomem;
		}
	}
	json_decref(root);
	return IMGP_OK;
nomem:
	json_decref(root);
	return IMGP_E_NOMEM;
}

/* The attributes JSON of path: the xattr, else the sidecar, else NULL. */
static char *attrs_read(const struct dir_store *d, int fd, const char *bucket,
                        const char *key, size_t *len)
{
	char *buf = imgp_malloc(ATTR_MAX), *side;
	ssize_t n = buf ? fgetxattr(fd, XATTR_NAME, buf, ATTR_MAX - 1) : -1;
	FILE *f;

	if(n >= 0) {
		buf[n] = '\0';
		*len = (size_t)n;
		return buf;
	}
	side = buf ? sidecar_path(d, bucket, key) : NULL;
	f = side ? fopen(side, "rb") : NULL;
	imgp_free(side);
	if(f) {
		*len = fread(buf, 1, ATTR_MAX - 1, f);
		buf[*len] = '\0';
		fclose(f);
		return buf;
	}
	imgp_free(buf);
	return NULL;
}

static enum imgp_status write_atomic(const char *path, const void *data,
                                     size_t len, struct imgp_store_error *e);

static enum imgp_status sidecar_write(const struct dir_store *d,
                                      const char *bucket, const char *key,
                                      const char *json, struct imgp_store_error *e)
{
	char *side = sidecar_path(d, bucket, key);
	enum imgp_status result;

	if(!side)
		return imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
	result = make_parents(side, e);
	if(!result)
		result = write_atomic(side, json, strlen(json), e);
	imgp_free(side);
	return result;
}

static void sidecar_remove(const struct dir_store *d, const char *bucket,
                           const char *key)
{
	char *side = sidecar_path(d, bucket, key);

	if(side)
		unlink(side);
	imgp_free(side);
}

/* --- operations ------------------------------------------------------------- */

/*
 * Write data (and the xattr, if any) to a new temporary file beside path;
 * its name comes back in *tmp_out for the caller to rename or unlink.
 * *xattr_refused says the file system has no room or no support for it.
 */
static enum imgp_status write_temp(const char *path, const void *data,
                                   size_t len, const char *xattr,
                                   bool *xattr_refused, char **tmp_out,
                                   struct imgp_store_error *e)
{
	const char *slash = strrchr(path, '/');
	char *tmp = imgp_asprintf("%.*s/" TMP_PREFIX "XXXXXX",
	                          (int)(slash - path), path);
	enum imgp_status result = IMGP_OK;
	size_t done = 0;
	int fd;

	*tmp_out = NULL;
	if(!tmp)
		return imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
	fd = mkostemp(tmp, O_CLOEXEC);
	if(fd < 0) {
		result = imgp_store_fail(e, imgp_dir_errno_status(errno), "cannot write %s: %s",
		                         path, strerror(errno));
		imgp_free(tmp);
		return result;
	}
	while(!result && done < len) {
		ssize_t n = write(fd, (const char *)data + done, len - done);

		if(n < 0 && errno == EINTR)
			continue;
		if(n < 0)
			result = imgp_store_fail(e, imgp_dir_errno_status(errno), "cannot write %s: %s",
			                         path, strerror(errno));
		else
			done += (size_t)n;
	}
	if(!result && xattr && fsetxattr(fd, XATTR_NAME, xattr, strlen(xattr), 0)) {
		if(errno == ENOTSUP || errno == E2BIG || errno == ENOSPC || errno == EPERM)
			*xattr_refused = true;
		else
			result = imgp_store_fail(e, IMGP_E_IO, "cannot set attributes of %s: %s",
			                         path, strerror(errno));
	}
	if(!result && fchmod(fd, 0644))
		result = imgp_store_fail(e, IMGP_E_IO, "cannot write %s: %s", path,
		                         strerror(errno));
	if(close(fd) && !result)
		result = imgp_store_fail(e, IMGP_E_IO, "cannot write %s: %s", path,
		                         strerror(errno));
	if(result) {
		unlink(tmp);
		imgp_free(tmp);
		return result;
	}
	*tmp_out = tmp;
	return IMGP_OK;
}

/* Move the finished temporary file into place (atomic on one file system). */
static enum imgp_status commit_temp(char *tmp, const char *path,
                                    struct imgp_store_error *e)
{
	enum imgp_status result = IMGP_OK;

	if(rename(tmp, path)) {
		result = imgp_store_fail(e, errno == EISDIR ? IMGP_E_REQUEST
		                         : imgp_dir_errno_status(errno), "cannot write %s: %s%s",
		                         path, strerror(errno), errno == EISDIR
		                         ? " (longer keys are under it)" : "");
		unlink(tmp);
	}
	imgp_free(tmp);
	return result;
}

static enum imgp_status write_atomic(const char *path, const void *data,
                                     size_t len, struct imgp_store_error *e)
{
	char *tmp;
	enum imgp_status result = write_temp(path, data, len, NULL, NULL, &tmp, e);

	return result ? result : commit_temp(tmp, path, e);
}

static enum imgp_status dir_put(struct imgp_store *st, const char *bucket,
                                const char *key, const void *data, size_t len,
                                const struct imgp_put_opts *opts,
                                struct imgp_store_error *e)
{
	struct dir_store *d = (struct dir_store *)st;
	char etag[35], *path = NULL, *json = NULL, *tmp;
	bool refused = false;
	enum imgp_status result = check_names(d, bucket, key, e);

	if(result)
		return result;
	md5_etag(data ? data : "", len, etag);
	path = imgp_dir_object_path(d, bucket, key);
	json = attrs_json(opts, etag);
	if(!path || !json) {
		result = imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
		goto out;
	}
	result = make_parents(path, e);
	if(result)
		goto out;
	result = write_temp(path, data ? data : "", len, json, &refused, &tmp, e);
	if(result)
		goto out;
	/*
	 * Where xattrs are refused the sidecar goes in before the data: a
	 * reader may see new attributes with the old bytes for a moment,
	 * never new bytes with stale attributes.
	 */
	if(refused)
		result = sidecar_write(d, bucket, key, json, e);
	else
		sidecar_remove(d, bucket, key);
	if(result) {
		unlink(tmp);
		imgp_free(tmp);
		goto out;
	}
	result = commit_temp(tmp, path, e);
out:
	imgp_free(path);
	imgp_free(json);
	return result;
}

static char *http_date(time_t t)
{
	char buf[64];
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	return imgp_strdup(buf);
}

/* Open the object and fill attributes; *fd_out open on success. */
static enum imgp_status dir_open_object(struct dir_store *d, const char *op,
                                        const char *bucket, const char *key,
                                        struct imgp_object *out, int *fd_out,
                                        struct stat *sb,
                                        struct imgp_store_error *e)
{
	char *path, *attrs;
	size_t alen = 0;
	enum imgp_status result = check_names(d, bucket, key, e);
	int fd;

	*fd_out = -1;
	if(result)
		return result;
	path = imgp_dir_object_path(d, bucket, key);
	if(!path)
		return imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if(fd < 0 || fstat(fd, sb) || !S_ISREG(sb->st_mode)) {
		int saved = fd < 0 ? errno : ENOENT;

		if(fd >= 0)
			close(fd);
		imgp_free(path);
		if(imgp_dir_errno_status(saved) == IMGP_E_NOT_FOUND)
			return not_found(d, op, bucket, key, e);
		return imgp_store_fail(e, imgp_dir_errno_status(saved), "%s %s/%s: %s", op, bucket,
		                       key, strerror(saved));
	}
	imgp_free(path);
	attrs = attrs_read(d, fd, bucket, key, &alen);
	if(attrs && attrs_parse(attrs, alen, out) == IMGP_E_NOMEM)
		result = imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
	imgp_free(attrs);
	if(!result && !out->content_type &&
	   !(out->content_type = imgp_strdup("application/octet-stream")))
		result = imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
	if(!result && !(out->last_modified = http_date(sb->st_mtime)))
		result = imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
	if(!result && imgp_dir_folders(d) && !(out->version_id = imgp_dir_file_version(sb)))
		result = imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
	if(result) {
		close(fd);
		return result;
	}
	*fd_out = fd;
	return IMGP_OK;
}

static enum imgp_status read_all(int fd, unsigned char *buf, size_t len)
{
	size_t done = 0;

	while(done < len) {
		ssize_t n = read(fd, buf + done, len - done);

		if(n < 0 && errno == EINTR)
			continue;
		if(n <= 0)
			return IMGP_E_IO;
		done += (size_t)n;
	}
	return IMGP_OK;
}

static enum imgp_status dir_get(struct imgp_store *st, const char *bucket,
                                const char *key, size_t max_bytes,
                                struct imgp_object *out,
                                struct imgp_store_error *e)
{
	struct stat sb;
	char etag[35];
	int fd;
	enum imgp_status result = dir_open_object((struct dir_store *)st, "get",
	                                          bucket, key, out, &fd, &sb, e);

	if(result)
		goto out;
	if((uint64_t)sb.st_size > max_bytes) {
		result = imgp_store_fail(e, IMGP_E_TOO_LARGE,
		                         "get %s/%s: object is %lld bytes, over the %zu byte limit",
		                         bucket, key, (long long)sb.st_size, max_bytes);
		goto out;
	}
	out->len = (size_t)sb.st_size;
	out->data = imgp_malloc(out->len + 1);
	if(!out->data) {
		result = imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
		goto out;
	}
	if(read_all(fd, out->data, out->len)) {
		result = imgp_store_fail(e, IMGP_E_IO, "get %s/%s: read failed", bucket, key);
		goto out;
	}
	out->data[out->len] = '\0';
	if(!out->etag) {   /* a file put there by hand */
		md5_etag(out->data, out->len, etag);
		if(!(out->etag = imgp_strdup(etag)))
			result = imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
	}
out:
	if(fd >= 0)
		close(fd);
	if(result)
		imgp_object_release(out);
	return result;
}

static enum imgp_status dir_head(struct imgp_store *st, const char *bucket,
                                 const char *key, struct imgp_object *out,
                                 struct imgp_store_error *e)
{
	struct stat sb;
	int fd;
	enum imgp_status result = dir_open_object((struct dir_store *)st, "head",
	                                          bucket, key, out, &fd, &sb, e);

	if(result)
		return result;
	out->len = (size_t)sb.st_size;
	close(fd);
	return IMGP_OK;
}

static enum imgp_status dir_delete(struct imgp_store *st, const char *bucket,
                                   const char *key, struct imgp_store_error *e)
{
	struct dir_store *d = (struct dir_store *)st;
	char *path, *stop;
	enum imgp_status result = check_names(d, bucket, key, e);

	if(result)
		return result;
	path = imgp_dir_object_path(d, bucket, key);
	if(!path)
		return imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
	if(unlink(path) && errno != ENOENT && errno != ENOTDIR)
		result = imgp_store_fail(e, imgp_dir_errno_status(errno), "delete %s/%s: %s",
		                         bucket, key, strerror(errno));
	sidecar_remove(d, bucket, key);
	/* S3 has no folders: drop the ones the key made, up to the bucket */
	stop = path + (imgp_dir_folders(d) ? strlen(bucket) : strlen(d->root) + 1 + strlen(bucket));
	for(char *s = strrchr(path, '/'); !result && s && s > stop; s = strrchr(path, '/')) {
		*s = '\0';
		if(rmdir(path))
			break;
	}
	imgp_free(path);
	return result;
}

static enum imgp_status dir_peek(struct imgp_store *st, const char *bucket, const char *key,
                                 void *buf, size_t n, size_t *len, struct imgp_store_error *e)
{
	struct dir_store *d = (struct dir_store *)st;
	enum imgp_status result = check_names(d, bucket, key, e);
	char *path;
	ssize_t got = 0;
	int fd;

	if(result)
		return result;
	if(!(path = imgp_dir_object_path(d, bucket, key)))
		return imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	imgp_free(path);
	if(fd < 0)
		return imgp_dir_errno_status(errno) == IMGP_E_NOT_FOUND ? not_found(d, "peek", bucket, key, e)
		       : imgp_store_fail(e, imgp_dir_errno_status(errno), "peek %s%s%s: %s", bucket,
		                         sep(bucket), key, strerror(errno));
	while(*len < n && (got = read(fd, (char *)buf + *len, n - *len)) != 0) {
		if(got < 0 && errno == EINTR)
			continue;
		if(got < 0) {
			result = imgp_store_fail(e, imgp_dir_errno_status(errno), "peek %s%s%s: %s", bucket,
			                         sep(bucket), key, strerror(errno));
			break;
		}
		*len += (size_t)got;
	}
	close(fd);
	return result;
}

static enum imgp_status dir_check_bucket(struct imgp_store *st, const char *bucket,
                                         bool write, struct imgp_store_error *e)
{
	struct dir_store *d = (struct dir_store *)st;
	char *path = imgp_dir_folders(d) ? imgp_strdup(bucket) : imgp_asprintf("%s/%s", d->root, bucket);
	char *probe = path ? imgp_asprintf("%s/.", path) : NULL;
	enum imgp_status result = IMGP_OK;
	struct stat sb;

	if(!probe)
		result = imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
	/* make_parents makes every folder above a file to come */
	else if(imgp_dir_folders(d) && write)
		result = make_parents(probe, e);
	if(!result && stat(path, &sb)) {
		if(!imgp_dir_folders(d))
			snprintf(e->code, sizeof(e->code), "NoSuchBucket");
		result = imgp_store_fail(e, imgp_dir_errno_status(errno), "%s: %s", path,
		                         imgp_dir_folders(d) ? strerror(errno) : "no such bucket");
	}
	else if(!result && !S_ISDIR(sb.st_mode))
		result = imgp_store_fail(e, IMGP_E_REQUEST, "%s is not a folder", path);
	else if(!result && write && access(path, W_OK | X_OK))
		result = imgp_store_fail(e, imgp_dir_errno_status(errno), "cannot write into %s: %s", path,
		                         strerror(errno));
	imgp_free(probe);
	imgp_free(path);
	return result;
}

static void dir_close(struct imgp_store *st)
{
	struct dir_store *d = (struct dir_store *)st;

	imgp_free(d->root);
	imgp_free(d);
}

static const struct imgp_store_ops dir_ops = {
	"dir", dir_get, dir_put, dir_head, imgp_dir_list, dir_delete, dir_peek, dir_check_bucket,
	dir_close, NULL,
};

static const struct imgp_store_ops folders_ops = {
	"folders", dir_get, dir_put, dir_head, imgp_dir_list, dir_delete, dir_peek,
	dir_check_bucket, dir_close, NULL,
};

enum imgp_status imgp_store_dir_open(const char *root,
                                     const struct imgp_store_opts *opts,
                                     struct imgp_store **out, char *err)
{
	struct dir_store *d;
	struct stat sb;
	size_t n = root ? strlen(root) : 0;

	if(root && (stat(root, &sb) || !S_ISDIR(sb.st_mode)))
		return imgp_fail(err, IMGP_E_CONFIG, "store dir:%s: not a folder", root);
	d = imgp_calloc(1, sizeof(*d));
	if(!d)
		return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	d->base.opts = *opts;
	if(!root) {
		d->base.ops = &folders_ops;
		*out = &d->base;
		return IMGP_OK;
	}
	while(n > 1 && root[n - 1] == '/')
		n--;
	d->root = imgp_strndup(root, n);
	if(!d->root) {
		imgp_free(d);
		return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	}
	d->base.ops = &dir_ops;
	*out = &d->base;
	return IMGP_OK;
}
