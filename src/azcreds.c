/*
 * azcreds.c: see azcreds.h. The account and its credential from the
 * environment, in the order Azure's SDKs look: AZURE_STORAGE_CONNECTION_STRING
 * (AccountName, AccountKey, BlobEndpoint, SharedAccessSignature,
 * DefaultEndpointsProtocol, EndpointSuffix, UseDevelopmentStorage=true for
 * Azurite), else AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY or
 * AZURE_STORAGE_SAS_TOKEN, else that account with a managed identity
 * (IDENTITY_ENDPOINT and IDENTITY_HEADER, as Functions, App Service and
 * Container Apps set them; else the instance metadata service at
 * IMGPIPE_AZURE_IMDS_ENDPOINT or 169.254.169.254), which a connection
 * string with neither key nor SAS also means.
 *
 * It must never put a key, a SAS or a token into an error, and never log.
 */
#include "azcreds.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "settings.h"
#include "store_impl.h"

#define TOKEN_BODY_MAX (64 * 1024)
#define TOKEN_MARGIN_S 300                  /* renew this long before expiry */
/* Azurite's well-known development account (public, in Microsoft's docs) */
#define DEV_ACCOUNT "devstoreaccount1"
#define DEV_KEY "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
#define DEV_ENDPOINT "http://127.0.0.1:10000/" DEV_ACCOUNT

/* The token endpoint's one header (prepare of http.c). */
struct header {
	const char *name;
	const char *value;
};

const char *imgp_azcreds_method(const struct azcreds *c)
{
	static const char *const names[] = { "Shared Key", "SAS", "managed identity" };

	return names[c->auth];
}

/* http.c's prepare for the token endpoint: its one header. */
static enum imgp_status token_header(void *ud, const struct imgp_http_request *req,
                                     struct imgp_http_headers *out, char *err)
{
	const struct header *h = ud;

	(void)req;
	if(imgp_http_headers_add(out, h->name, h->value))
		return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	return IMGP_OK;
}

/* A token for https://storage.azure.com/ from the identity endpoint the
 * platform set (App Service, Functions, Container Apps) or the instance
 * metadata service, into s->token. Called with token_lock held. */
static enum imgp_status fetch_token(struct azcreds *s, struct imgp_store_error *e)
{
	const char *endpoint = imgp_env("IDENTITY_ENDPOINT");
	const char *secret = imgp_env("IDENTITY_HEADER");
	const char *imds = imgp_env("IMGPIPE_AZURE_IMDS_ENDPOINT");
	const char *client = imgp_env("AZURE_CLIENT_ID");
	struct imgp_http_policy policy;
	struct imgp_http_response resp;
	struct imgp_http *h = NULL;
	char *url, why[IMGP_ERRSIZE];
	struct header hdr;
	json_t *doc = NULL, *expires;
	const char *token;
	enum imgp_status result;
	long long exp;

	if(endpoint && secret) {
		url = imgp_asprintf("%s?api-version=2019-08-01&resource=https%%3A%%2F%%2Fstorage."
		                    "azure.com%%2F%s%s", endpoint, client ? "&client_id=" : "",
		                    client ? client : "");
		hdr = (struct header){ "x-identity-header", secret };
	}
	else {
		url = imgp_asprintf("%s/metadata/identity/oauth2/token?api-version=2018-02-01&"
		                    "resource=https%%3A%%2F%%2Fstorage.azure.com%%2F%s%s",
		                    imds ? imds : "http://169.254.169.254",
		                    client ? "&client_id=" : "", client ? client : "");
		hdr = (struct header){ "metadata", "true" };
	}
	if(!url)
		return imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
	imgp_http_policy_default(&policy);
	policy.max_attempts = 3;
	policy.budget_ms = 10000;
	policy.connect_timeout_ms = 2000;
	policy.no_proxy = true;
	imgp_http_response_init(&resp);
	result = imgp_http_open(&policy, &h, why);
	if(!result)
		result = imgp_http_send(h, &(struct imgp_http_request){
			.method = "GET", .url = url, .max_body = TOKEN_BODY_MAX,
			.prepare = token_header, .ud = &hdr }, &resp, why);
	imgp_free(url);
	if(result)
		imgp_store_fail(e, result, "managed identity for account %s: the token endpoint "
		                "did not answer: %s", s->account, why);
	/* IMDS answers 429 when throttling and 404 while an identity is
	 * being assigned: both worth another delivery */
	else if(resp.status != 200)
		result = imgp_store_fail(e, resp.status == 429 ? IMGP_E_THROTTLED
		                         : resp.status >= 500 || resp.status == 404 ? IMGP_E_SERVER
		                         : IMGP_E_ACCESS,
		                         "managed identity for account %s: the token endpoint "
		                         "answered HTTP %ld", s->account, resp.status);
	else if(!(doc = json_loadb(imgp_dbuf_str(&resp.body), resp.body.len, 0, NULL)) ||
	        !(token = json_string_value(json_object_get(doc, "access_token"))) || !*token)
		result = imgp_store_fail(e, IMGP_E_ACCESS, "managed identity for account %s: the "
		                         "token endpoint's answer has no access_token", s->account);
	else {
		/* expires_on: epoch seconds, a string or a number */
		expires = json_object_get(doc, "expires_on");
		exp = json_is_integer(expires) ? (long long)json_integer_value(expires)
		      : json_is_string(expires) ? strtoll(json_string_value(expires), NULL, 10) : 0;
		if(exp <= 0)
			exp = (long long)time(NULL) + 3600;
		if(s->token) {
			explicit_bzero(s->token, strlen(s->token));
			imgp_free(s->token);
		}
		s->token = imgp_strdup(token);
		s->token_expires = (time_t)exp;
		if(!s->token)
			result = imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
	}
	json_decref(doc);
	imgp_http_response_release(&resp);
	imgp_http_close(h);
	return result;
}

enum imgp_status imgp_azcreds_bearer(struct azcreds *s, char **out, struct imgp_store_error *e)
{
	enum imgp_status result = IMGP_OK;

	pthread_mutex_lock(&s->token_lock);
	if(!s->token || time(NULL) + TOKEN_MARGIN_S >= s->token_expires) {
		result = fetch_token(s, e);
		/* a renewal that failed: the token held is good until it expires */
		if(result && s->token && time(NULL) < s->token_expires) {
			imgp_store_error_clear(e);
			result = IMGP_OK;
		}
	}
	if(!result && !(*out = imgp_strdup(s->token)))
		result = imgp_store_fail(e, IMGP_E_NOMEM, "out of memory");
	pthread_mutex_unlock(&s->token_lock);
	return result;
}

void imgp_azcreds_forget_token(struct azcreds *s)
{
	pthread_mutex_lock(&s->token_lock);
	s->token_expires = 0;
	pthread_mutex_unlock(&s->token_lock);
}

/* --- from the environment ------------------------------------------------------ */

/* The value of name in a connection string ("A=1;B=2"; names any case), a
 * new string, NULL when absent. The value may hold '=' (base64, a SAS). */
static char *conn_value(const char *conn, const char *name)
{
	size_t n = strlen(name);

	for(const char *p = conn; p && *p;) {
		const char *end = strchr(p, ';'), *eq = strchr(p, '=');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		while(*p == ' ')
			p++, len--;
		if(eq && eq < p + len && (size_t)(eq - p) == n && !strncasecmp(p, name, n))
			return imgp_strndup(eq + 1, len - n - 1);
		p = end ? end + 1 : NULL;
	}
	return NULL;
}

/* endpoint into s->endpoint (no '/' at the end) and its path. */
static enum imgp_status set_endpoint(struct azcreds *s, const char *endpoint, char *err)
{
	const char *host, *slash;
	size_t n = strlen(endpoint);

	if(strncasecmp(endpoint, "http://", 7) && strncasecmp(endpoint, "https://", 8))
		return imgp_fail(err, IMGP_E_CONFIG, "the Blob endpoint \"%.200s\" is not an "
		                 "http:// or https:// URL", endpoint);
	while(n && endpoint[n - 1] == '/')
		n--;
	host = strstr(endpoint, "://") + 3;
	if(!*host || strpbrk(host, "?#@ ") || host >= endpoint + n)
		return imgp_fail(err, IMGP_E_CONFIG, "the Blob endpoint \"%.200s\" has no plain "
		                 "host", endpoint);
	slash = memchr(host, '/', (size_t)(endpoint + n - host));
	s->endpoint = imgp_strndup(endpoint, n);
	s->endpoint_path = imgp_strndup(slash ? slash : "", slash ? (size_t)(endpoint + n - slash)
	                                                          : 0);
	if(!s->endpoint || !s->endpoint_path)
		return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	return IMGP_OK;
}

/* A base64 account key into s->key. */
static enum imgp_status set_key(struct azcreds *s, const char *b64, char *err)
{
	unsigned char raw[4 * ((sizeof(s->key) + 2) / 3)];
	size_t len = strlen(b64), pad = 0;
	int n;

	while(pad < len && pad < 3 && b64[len - 1 - pad] == '=')
		pad++;
	if(!len || len % 4 || pad > 2 || len > 4 * ((sizeof(s->key) + 2) / 3) ||
	   strcspn(b64, "=") != len - pad)
		return imgp_fail(err, IMGP_E_CONFIG, "the account key of %s is not base64 of an "
		                 "Azure Storage key", s->account);
	n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)len);
	/* EVP_DecodeBlock counts the padding's bytes too */
	if(n >= 0)
		n -= (int)pad;
	if(n <= 0 || (size_t)n > sizeof(s->key)) {
		explicit_bzero(raw, sizeof(raw));
		return imgp_fail(err, IMGP_E_CONFIG, "the account key of %s is not base64 of an "
		                 "Azure Storage key", s->account);
	}
	memcpy(s->key, raw, (size_t)n);
	s->key_len = n;
	s->auth = AZ_AUTH_KEY;
	explicit_bzero(raw, sizeof(raw));
	return IMGP_OK;
}

static enum imgp_status set_sas(struct azcreds *s, const char *sas, char *err)
{
	if(*sas == '?')
		sas++;
	if(!*sas || strpbrk(sas, " #\r\n"))
		return imgp_fail(err, IMGP_E_CONFIG, "the SAS token for %s is empty or not a "
		                 "query string", s->account);
	if(!(s->sas = imgp_strdup(sas)))
		return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	s->auth = AZ_AUTH_SAS;
	return IMGP_OK;
}

/* The account, its endpoint and credential from a connection string. */
static enum imgp_status from_connection_string(struct azcreds *s, const char *conn,
                                               char *err)
{
	char *dev = conn_value(conn, "UseDevelopmentStorage");
	char *name = NULL, *key = NULL, *endpoint = NULL, *sas = NULL, *proto = NULL;
	char *suffix = NULL, *built = NULL;
	enum imgp_status result = IMGP_OK;

	if(dev && !strcasecmp(dev, "true")) {
		name = imgp_strdup(DEV_ACCOUNT);
		key = imgp_strdup(DEV_KEY);
		endpoint = conn_value(conn, "DevelopmentStorageProxyUri");
		if(!endpoint)
			endpoint = imgp_strdup(DEV_ENDPOINT);
	}
	else {
		name = conn_value(conn, "AccountName");
		key = conn_value(conn, "AccountKey");
		endpoint = conn_value(conn, "BlobEndpoint");
		sas = conn_value(conn, "SharedAccessSignature");
		proto = conn_value(conn, "DefaultEndpointsProtocol");
		suffix = conn_value(conn, "EndpointSuffix");
	}
	if(!name && endpoint) {
		/* a SAS connection string may name only the endpoint: the
		 * account is https://ACCOUNT.blob.core.windows.net's first label,
		 * or http://127.0.0.1:10000/ACCOUNT's first segment (path style) */
		const char *host = strstr(endpoint, "://"), *slash;

		if(host) {
			host += 3;
			slash = strchr(host, '/');
			if(strstr(host, ".blob.") && (!slash || strstr(host, ".blob.") < slash))
				name = imgp_strndup(host, strcspn(host, "./:"));
			else if(slash && slash[1])
				name = imgp_strndup(slash + 1, strcspn(slash + 1, "/?"));
		}
	}
	if(!name || !*name) {
		result = imgp_fail(err, IMGP_E_CONFIG, "AZURE_STORAGE_CONNECTION_STRING names no "
		                   "account (AccountName=, or BlobEndpoint=, or "
		                   "UseDevelopmentStorage=true)");
		goto out;
	}
	if(!(s->account = imgp_strdup(name))) {
		result = imgp_fail(err, IMGP_E_NOMEM, "out of memory");
		goto out;
	}
	if(!endpoint) {
		built = imgp_asprintf("%s://%s.blob.%s", proto ? proto : "https", name,
		                      suffix ? suffix : "core.windows.net");
		if(!built) {
			result = imgp_fail(err, IMGP_E_NOMEM, "out of memory");
			goto out;
		}
	}
	result = set_endpoint(s, endpoint ? endpoint : built, err);
	if(!result && key)
		result = set_key(s, key, err);
	else if(!result && sas)
		result = set_sas(s, sas, err);
	else if(!result)
		s->auth = AZ_AUTH_IDENTITY;    /* an endpoint alone: the managed identity */
out:
	if(key)
		explicit_bzero(key, strlen(key));
	if(sas)
		explicit_bzero(sas, strlen(sas));
	imgp_free(dev);
	imgp_free(name);
	imgp_free(key);
	imgp_free(endpoint);
	imgp_free(sas);
	imgp_free(proto);
	imgp_free(suffix);
	imgp_free(built);
	return result;
}

/* The account from AZURE_STORAGE_ACCOUNT, with a key, a SAS or a managed
 * identity. */
static enum imgp_status from_account(struct azcreds *s, const char *account, char *err)
{
	const char *key = imgp_env("AZURE_STORAGE_KEY");
	const char *sas = imgp_env("AZURE_STORAGE_SAS_TOKEN");
	char *endpoint;
	enum imgp_status result;

	if(strspn(account, "abcdefghijklmnopqrstuvwxyz0123456789") != strlen(account))
		return imgp_fail(err, IMGP_E_CONFIG, "AZURE_STORAGE_ACCOUNT=%.64s is not a storage "
		                 "account name (lower-case letters and digits)", account);
	if(!(s->account = imgp_strdup(account)) ||
	   !(endpoint = imgp_asprintf("https://%s.blob.core.windows.net", account)))
		return imgp_fail(err, IMGP_E_NOMEM, "out of memory");
	result = set_endpoint(s, endpoint, err);
	imgp_free(endpoint);
	if(!result && key)
		result = set_key(s, key, err);
	else if(!result && sas)
		result = set_sas(s, sas, err);
	else if(!result)
		s->auth = AZ_AUTH_IDENTITY;
	return result;
}

enum imgp_status imgp_azcreds_load(struct azcreds *s, char *err)
{
	const char *conn = imgp_env("AZURE_STORAGE_CONNECTION_STRING");
	const char *account = imgp_env("AZURE_STORAGE_ACCOUNT");

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->token_lock, NULL);
	if(conn)
		return from_connection_string(s, conn, err);
	if(account)
		return from_account(s, account, err);
	return imgp_fail(err, IMGP_E_CONFIG, "IMGPIPE_STORE=azure needs "
	                 "AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCOUNT");
}

void imgp_azcreds_release(struct azcreds *s)
{
	pthread_mutex_destroy(&s->token_lock);
	explicit_bzero(s->key, sizeof(s->key));
	if(s->sas) {
		explicit_bzero(s->sas, strlen(s->sas));
		imgp_free(s->sas);
	}
	if(s->token) {
		explicit_bzero(s->token, strlen(s->token));
		imgp_free(s->token);
	}
	imgp_free(s->account);
	imgp_free(s->endpoint);
	imgp_free(s->endpoint_path);
	memset(s, 0, sizeof(*s));
}
