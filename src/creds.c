/*
 * creds.c: the credential chain (see creds.h). JSON from the container and
 * instance metadata services is read with jansson; the shared files are
 * INI, read line by line.
 *
 * It must never log, never put a key, secret or token into err, and never
 * reach a metadata service through a proxy.
 */
#include "creds.h"

#include <ctype.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "settings.h"

#define REFRESH_MARGIN_S 300           /* refresh this long before expiry */
#define METADATA_BODY_MAX (64 * 1024)
#define CONTAINER_HOST "http://169.254.170.2"
#define IMDS_DEFAULT "http://169.254.169.254"
#define GCE_METADATA_DEFAULT "metadata.google.internal"

struct imgp_creds_provider {
	pthread_mutex_t lock;
	struct imgp_creds current;
	bool have;
	struct imgp_http *http;             /* metadata services; lazily made */
};

static void wipe_free(char *s)
{
	if(s) {
		explicit_bzero(s, strlen(s));
		imgp_free(s);
	}
}

void imgp_creds_release(struct imgp_creds *c)
{
	wipe_free(c->access_key);
	wipe_free(c->secret_key);
	wipe_free(c->session_token);
	wipe_free(c->bearer_token);
	c->access_key = c->secret_key = c->session_token = c->bearer_token = NULL;
	c->expires = 0;
}

static enum imgp_status creds_set(struct imgp_creds *c, const char *ak,
                                  const char *sk, const char *token,
                                  time_t expires, const char *source)
{
	c->access_key = imgp_strdup(ak);
	c->secret_key = imgp_strdup(sk);
	c->session_token = token && *token ? imgp_strdup(token) : NULL;
	c->expires = expires;
	c->source = source;
	if(!c->access_key || !c->secret_key || (token && *token && !c->session_token)) {
		imgp_creds_release(c);
		return IMGP_E_NOMEM;
	}
	return IMGP_OK;
}

/* A bearer token (no keys) into c. */
static enum imgp_status creds_set_bearer(struct imgp_creds *c, const char *token,
                                         time_t expires, const char *source)
{
	memset(c, 0, sizeof(*c));
	if(!(c->bearer_token = imgp_strdup(token)))
		return IMGP_E_NOMEM;
	c->expires = expires;
	c->source = source;
	return IMGP_OK;
}

/* A copy of from, keys or token, into c. */
static enum imgp_status creds_copy(struct imgp_creds *c, const struct imgp_creds *from)
{
	if(from->bearer_token)
		return creds_set_bearer(c, from->bearer_token, from->expires, from->source);
	return creds_set(c, from->access_key, from->secret_key, from->session_token,
	                 from->expires, from->source);
}

/* --- 1. environment ------------------------------------------------- */

/*
 * Each source below returns IMGP_OK with c filled, IMGP_E_NOT_FOUND when
 * it has nothing to offer (not configured here), or why it failed.
 */
static enum imgp_status from_env(struct imgp_creds *c)
{
	const char *ak = imgp_env("AWS_ACCESS_KEY_ID"), *sk = imgp_env("AWS_SECRET_ACCESS_KEY");

	if(!ak || !sk)
		return IMGP_E_NOT_FOUND;
	return creds_set(c, ak, sk, imgp_env("AWS_SESSION_TOKEN"), 0, "env");
}

/* --- 2. shared credentials and config files ----------------------------- */

struct profile {
	char *access_key, *secret_key, *session_token, *region;
};

static void profile_release(struct profile *p)
{
	wipe_free(p->access_key);
	wipe_free(p->secret_key);
	wipe_free(p->session_token);
	imgp_free(p->region);
	memset(p, 0, sizeof(*p));
}

static char *trim(char *s)
{
	char *e;

	while(isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while(e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static char *file_path(const char *var, const char *leaf)
{
	const char *v = imgp_env(var), *home = imgp_env("HOME");

	if(v)
		return imgp_strdup(v);
	return home ? imgp_asprintf("%s/.aws/%s", home, leaf) : NULL;
}

/*
 * Read the profile's section of an INI file into p (values it already has
 * are kept). In the config file a section is "[profile NAME]", or
 * "[default]"; in the credentials file it is "[NAME]". Indented lines
 * belong to nested settings ("s3 =") and are skipped.
 */
static void ini_read(const char *path, const char *profile, bool config,
                     struct profile *p)
{
	FILE *f = path ? fopen(path, "r") : NULL;
	char line[4096];
	bool in = false;

	if(!f)
		return;
	while(fgets(line, sizeof(line), f)) {
		bool nested = line[0] == ' ' || line[0] == '\t';
		char *s = trim(line), *eq, *key, *value, **slot = NULL;

		if(!*s || *s == '#' || *s == ';' || nested)
			continue;
		if(*s == '[') {
			char *end = strchr(s, ']'), *name;

			if(!end)
				continue;
			*end = '\0';
			name = trim(s + 1);
			if(config && !strncmp(name, "profile ", 8))
				name = trim(name + 8);
			else if(config && strcmp(name, "default"))
				name = NULL;  /* [sso-session x], [services x] */
			in = name && !strcmp(name, profile);
			continue;
		}
		if(!in || !(eq = strchr(s, '=')))
			continue;
		*eq = '\0';
		key = trim(s);
		value = trim(eq + 1);
		if(!strcasecmp(key, "aws_access_key_id"))
			slot = &p->access_key;
		else if(!strcasecmp(key, "aws_secret_access_key"))
			slot = &p->secret_key;
		else if(!strcasecmp(key, "aws_session_token"))
			slot = &p->session_token;
		else if(!strcasecmp(key, "region"))
			slot = &p->region;
		if(slot && !*slot && *value)
			*slot = imgp_strdup(value);
	}
	explicit_bzero(line, sizeof(line));
	fclose(f);
}

static void profile_load(struct profile *p)
{
	const char *name = imgp_env("AWS_PROFILE");
	char *cred = file_path("AWS_SHARED_CREDENTIALS_FILE", "credentials");
	char *conf = file_path("AWS_CONFIG_FILE", "config");

	if(!name)
		name = "default";
	ini_read(cred, name, false, p);   /* the credentials file wins */
	ini_read(conf, name, true, p);
	imgp_free(cred);
	imgp_free(conf);
}

char *imgp_creds_profile_region(void)
{
	struct profile p = { 0 };
	char *region;

	profile_load(&p);
	region = p.region;
	p.region = NULL;
	profile_release(&p);
	return region;
}

static enum imgp_status from_profile(struct imgp_creds *c)
{
	struct profile p = { 0 };
	enum imgp_status result = IMGP_E_NOT_FOUND;

	profile_load(&p);
	if(p.access_key && p.secret_key)
		result = creds_set(c, p.access_key, p.secret_key, p.session_token, 0, "profile");
	profile_release(&p);
	return result;
}

/* --- 3 and 4. metadata services ------------------------------------------ */

static enum imgp_status metadata_http(struct imgp_creds_provider *p, char *err)
{
	struct imgp_http_policy policy;

	if(p->http)
		return IMGP_OK;
	imgp_http_policy_default(&policy);
	policy.max_attempts = 2;
	policy.budget_ms = 5000;
	policy.base_delay_ms = 100;
	policy.max_delay_ms = 500;
	policy.connect_timeout_ms = 1000;
	policy.low_speed_time_s = 2;
	policy.no_proxy = true;
	return imgp_http_open(&policy, &p->http, err);
}

/* "2019-11-05T21:37:37Z" (fractions and offset ignored: AWS sends UTC). */
static time_t parse_iso8601(const char *s)
{
	struct tm tm = { 0 };

	if(!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))
		return 0;
	return timegm(&tm);
}

/* Credentials out of the JSON both services answer with. */
static enum imgp_status parse_creds_json(const char *body, const char *source,
                                         struct imgp_creds *c, char *err)
{
	json_error_t jerr;
	json_t *root = json_loads(body, 0, &jerr);
	const char *ak, *sk, *token, *code;
	enum imgp_status result;

	if(!root)
		return imgp_fail(err, IMGP_E_SERVER,
		                 "%s credentials: response is not JSON", source);
	ak = json_string_value(json_object_get(root, "AccessKeyId"));
	sk = json_string_value(json_object_get(root, "SecretAccessKey"));
	token = json_string_value(json_object_get(root, "Token"));
	code = json_string_value(json_object_get(root, "Code"));
	if(code && strcmp(code, "Success"))
		result = imgp_fail(err, IMGP_E_ACCESS,
		                   "%s credentials: service says %.64s", source, code);
	else if(!ak || !sk)
		result = imgp_fail(err, IMGP_E_SERVER,
		                   "%s credentials: response has no AccessKeyId or SecretAccessKey",
		                   source);
	else {
		result = creds_set(c, ak, sk, token, parse_iso8601(json_string_value(
		                   json_object_get(root, "Expiration"))), source);
		if(result)
			imgp_fail(err, result, "out of memory");
	}
	json_decref(root);
	return result;
}

struct header_set {
	const char *name[2];
	const char *value[2];
};

static enum imgp_status add_headers(void *ud, const struct imgp_http_request *req,
                                    struct imgp_http_headers *out, char *err)
{
	const struct header_set *hs = ud;

	for(int i = 0; i < 2 && hs && hs->name[i]; i++)
		if(imgp_http_headers_add(out, hs->name[i], hs->value[i]))
			return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	return IMGP_OK;
}

/* One metadata call: 200 gives the body, anything else an error. */
static enum imgp_status metadata_call(struct imgp_creds_provider *p,
                                      const char *method, const char *url,
                                      const struct header_set *hs,
                                      const char *what, char **body, char *err)
{
	struct imgp_http_request req = {
		.method = method, .url = url, .max_body = METADATA_BODY_MAX,
		.prepare = add_headers, .ud = (void *)hs,
	};
	struct imgp_http_response resp;
	enum imgp_status result;
	char why[IMGP_ERRSIZE];

	*body = NULL;
	result = metadata_http(p, err);
	if(result)
		return result;
	imgp_http_response_init(&resp);
	result = imgp_http_send(p->http, &req, &resp, why);
	if(result)
		imgp_fail(err, result, "%s: %s", what, why);
	else if(resp.status != 200)
		result = imgp_fail(err, imgp_http_status_retryable(resp.status)
		                   ? IMGP_E_SERVER : IMGP_E_ACCESS,
		                   "%s: HTTP %ld", what, resp.status);
	else if(!(*body = imgp_dbuf_take(&resp.body)) &&
	        !(*body = imgp_strdup("")))
		result = imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	imgp_http_response_release(&resp);
	return result;
}

static bool loopback_or_ecs_host(const char *url)
{
	static const char *const allowed[] = {
		"http://127.", "http://localhost:", "http://localhost/",
		"http://[::1]", "http://169.254.170.2:", "http://169.254.170.2/",
		"http://169.254.170.23:", "http://169.254.170.23/",
		"http://[fd00:ec2::23]",
	};

	if(!strncasecmp(url, "https://", 8))
		return true;
	for(size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if(!strncasecmp(url, allowed[i], strlen(allowed[i])))
			return true;
	return false;
}

char *imgp_creds_container_url(void)
{
	const char *rel = imgp_env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = imgp_env("AWS_CONTAINER_CREDENTIALS_FULL_URI");

	if(rel)
		return imgp_asprintf("%s%s%s", CONTAINER_HOST, *rel == '/' ? "" : "/", rel);
	return full ? imgp_strdup(full) : NULL;
}

/* The container authorization token: the file wins over the variable. */
static char *container_token(void)
{
	const char *path = imgp_env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	char buf[8192];
	FILE *f;
	size_t n;

	if(!path) {
		const char *t = imgp_env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
		return t ? imgp_strdup(t) : NULL;
	}
	f = fopen(path, "r");
	if(!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return imgp_strdup(trim(buf));
}

static enum imgp_status from_container(struct imgp_creds_provider *p, struct imgp_creds *c,
                                       char *err)
{
	char *url = imgp_creds_container_url(), *token = NULL, *body = NULL;
	struct header_set hs = { { NULL }, { NULL } };
	enum imgp_status result;

	if(!url)
		return IMGP_E_NOT_FOUND;
	if(!loopback_or_ecs_host(url)) {
		result = imgp_fail(err, IMGP_E_CONFIG,
		                    "container credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI "
		                    "must be https or a loopback or ECS/EKS address");
		goto out;
	}
	token = container_token();
	if(token && strpbrk(token, "\r\n")) {
		result = imgp_fail(err, IMGP_E_CONFIG,
		                   "container credentials: authorization token has a line break");
		goto out;
	}
	if(token) {
		hs.name[0] = "Authorization";
		hs.value[0] = token;
	}
	result = metadata_call(p, "GET", url, &hs, "container credentials", &body, err);
	if(!result)
		result = parse_creds_json(body, "container", c, err);
out:
	imgp_free(url);
	wipe_free(token);
	wipe_free(body);
	return result;
}

static enum imgp_status from_imds(struct imgp_creds_provider *p, struct imgp_creds *c,
                                  char *err)
{
	enum imgp_status result;
	const char *disabled = imgp_env("AWS_EC2_METADATA_DISABLED");
	const char *base = imgp_env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	char *token = NULL, *role = NULL, *body = NULL, *url = NULL;
	struct header_set hs = { { "X-aws-ec2-metadata-token-ttl-seconds" }, { "21600" } };
	size_t blen;

	if(disabled && !strcasecmp(disabled, "true"))
		return IMGP_E_NOT_FOUND;
	if(!base)
		base = IMDS_DEFAULT;
	blen = strlen(base);
	while(blen && base[blen - 1] == '/')
		blen--;
	url = imgp_asprintf("%.*s/latest/api/token", (int)blen, base);
	if(!url)
		goto nomem;
	result = metadata_call(p, "PUT", url, &hs, "instance metadata token", &token, err);
	if(result)
		goto out;
	hs.name[0] = "X-aws-ec2-metadata-token";
	hs.value[0] = trim(token);
	imgp_free(url);
	url = imgp_asprintf("%.*s/latest/meta-data/iam/security-credentials/",
	                    (int)blen, base);
	if(!url)
		goto nomem;
	result = metadata_call(p, "GET", url, &hs, "instance metadata role", &role, err);
	if(result)
		goto out;
	role[strcspn(role, "\r\n")] = '\0';
	if(!*trim(role) || strchr(role, '/')) {
		result = imgp_fail(err, IMGP_E_ACCESS,
		                    "instance metadata: no IAM role attached");
		goto out;
	}
	imgp_free(url);
	url = imgp_asprintf("%.*s/latest/meta-data/iam/security-credentials/%s",
	                    (int)blen, base, trim(role));
	if(!url)
		goto nomem;
	result = metadata_call(p, "GET", url, &hs, "instance metadata credentials",
	                        &body, err);
	if(!result)
		result = parse_creds_json(body, "imds", c, err);
	goto out;
nomem:
	result = imgp_fail(err, IMGP_E_NOMEM, "out of memory");
out:
	imgp_free(url);
	wipe_free(token);
	imgp_free(role);
	wipe_free(body);
	return result;
}

/* --- Google's metadata server: an OAuth 2.0 token for Cloud Storage ------- */

/* Is the S3 endpoint Google Cloud Storage's XML API? */
static bool gcs_endpoint(void)
{
	const char *url = imgp_env("AWS_ENDPOINT_URL_S3");
	const char *host;

	if(!url)
		url = imgp_env("AWS_ENDPOINT_URL");
	if(!url || !(host = strstr(url, "://")))
		return false;
	host += 3;
	return !strncasecmp(host, "storage.googleapis.com", 22) &&
	       (!host[22] || host[22] == '/' || host[22] == ':');
}

char *imgp_creds_gce_token_url(void)
{
	const char *host = imgp_env("GCE_METADATA_HOST");

	if(!host && !gcs_endpoint())
		return NULL;
	return imgp_asprintf("http://%s/computeMetadata/v1/instance/service-accounts/default/token",
	                     host ? host : GCE_METADATA_DEFAULT);
}

/*
 * {"access_token": "...", "expires_in": 3599, "token_type": "Bearer"}
 * from the metadata server, asked with Metadata-Flavor: Google (which it
 * requires, and which keeps a browser's request from reaching it).
 */
static enum imgp_status from_gce(struct imgp_creds_provider *p, struct imgp_creds *c,
                                 char *err)
{
	struct header_set hs = { { "Metadata-Flavor" }, { "Google" } };
	char *url = imgp_creds_gce_token_url(), *body = NULL;
	enum imgp_status result;
	const char *token, *type;
	json_t *root = NULL;
	json_error_t jerr;
	json_int_t ttl;

	if(!url)
		return IMGP_E_NOT_FOUND;
	if(strpbrk(url + 7, "/?#@ ") != strstr(url + 7, "/computeMetadata/")) {
		result = imgp_fail(err, IMGP_E_CONFIG, "GCE_METADATA_HOST must be a host or "
		                   "host:port, nothing more");
		goto out;
	}
	result = metadata_call(p, "GET", url, &hs, "metadata server token", &body, err);
	if(result)
		goto out;
	root = json_loads(body, 0, &jerr);
	token = json_string_value(json_object_get(root, "access_token"));
	type = json_string_value(json_object_get(root, "token_type"));
	ttl = json_integer_value(json_object_get(root, "expires_in"));
	if(!token || !*token || strpbrk(token, "\r\n") || (type && strcasecmp(type, "Bearer")))
		result = imgp_fail(err, IMGP_E_SERVER, "metadata server token: the answer has no "
		                   "bearer access_token");
	else if((result = creds_set_bearer(c, token, ttl > 0 ? time(NULL) + (time_t)ttl : 0,
	                                   "gce-metadata")))
		imgp_fail(err, result, "out of memory");
out:
	json_decref(root);
	imgp_free(url);
	wipe_free(body);
	return result;
}

/* The first source that has credentials, or the reason none had. */
static enum imgp_status resolve(struct imgp_creds_provider *p,
                                struct imgp_creds *c, char *err)
{
	enum imgp_status result;
	char why[IMGP_ERRSIZE] = "";

	if((result = from_env(c)) != IMGP_E_NOT_FOUND ||
	   (result = from_profile(c)) != IMGP_E_NOT_FOUND)
		return result ? imgp_fail(err, result, "out of memory") : IMGP_OK;
	if((result = from_gce(p, c, err)) != IMGP_E_NOT_FOUND)
		return result;
	if((result = from_container(p, c, err)) != IMGP_E_NOT_FOUND)
		return result;
	result = from_imds(p, c, why);
	if(!result)
		return IMGP_OK;
	/* a metadata service that is there but failing is worth a retry;
	 * nothing listening (not on EC2), or a refusal, is no credentials */
	if(imgp_status_temporary(result) && result != IMGP_E_NETWORK &&
	   result != IMGP_E_TIMEOUT)
		return imgp_fail(err, result, "%s", why);
	return imgp_fail(err, IMGP_E_ACCESS,
	                 "no AWS credentials: none in the environment, profile \"%s\", "
	                 "container or instance metadata%s%s%s; set AWS_ACCESS_KEY_ID and "
	                 "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (~/.aws/credentials), or "
	                 "IMGPIPE_STORE=dir:PATH to use local folders as buckets",
	                 imgp_env("AWS_PROFILE") ? imgp_env("AWS_PROFILE") : "default",
	                 *why ? " (" : "", *why ? why : "", *why ? ")" : "");
}

enum imgp_status imgp_creds_provider_new(struct imgp_creds_provider **out,
                                         char *err)
{
	struct imgp_creds_provider *p = imgp_calloc(1, sizeof(*p));

	*out = NULL;
	if(!p)
		return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	pthread_mutex_init(&p->lock, NULL);
	*out = p;
	return IMGP_OK;
}

void imgp_creds_provider_free(struct imgp_creds_provider *p)
{
	if(!p)
		return;
	imgp_creds_release(&p->current);
	imgp_http_close(p->http);
	pthread_mutex_destroy(&p->lock);
	imgp_free(p);
}

static bool fresh(const struct imgp_creds *c, time_t now, time_t margin)
{
	return c->expires == 0 || c->expires - now > margin;
}

enum imgp_status imgp_creds_get(struct imgp_creds_provider *p,
                                struct imgp_creds *out, char *err)
{
	struct imgp_creds next = { 0 };
	enum imgp_status result = IMGP_OK;
	time_t now = time(NULL);

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&p->lock);
	if(!p->have || !fresh(&p->current, now, REFRESH_MARGIN_S)) {
		result = resolve(p, &next, err);
		if(!result) {
			imgp_creds_release(&p->current);
			p->current = next;
			p->have = true;
		}
		/* a failed refresh keeps credentials that are still valid */
		else if(p->have && fresh(&p->current, now, 0))
			result = IMGP_OK;
	}
	if(!result) {
		result = creds_copy(out, &p->current);
		if(result)
			imgp_fail(err, result, "out of memory");
	}
	pthread_mutex_unlock(&p->lock);
	return result;
}
