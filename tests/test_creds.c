/*
 * test_creds.c: the credential chain in the SDKs' order, with the container
 * and instance metadata services played by a loopback responder that
 * follows AWS's documented protocol (IMDSv2: token first), never AWS.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "creds.h"
#include "lib/s3test.h"
#include "lib/testutil.h"
#include "store.h"

static char *home;
static struct netfake fake = { .fd = -1 };

/* No source but what a test sets up. */
static void setup(void)
{
	static const char *const vars[] = {
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_EC2_METADATA_SERVICE_ENDPOINT",
		"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_CONFIG_FILE",
		"AWS_SHARED_CREDENTIALS_FILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
	};
	for(size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	home = tu_tempdir();
	setenv("HOME", home, 1);       /* no ~/.aws of the machine's */
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	setenv("NO_PROXY", "127.0.0.1", 1);
}

static void teardown(void)
{
	netfake_stop(&fake);
	tu_rmtree(home);
	free(home);
}

TestSuite(creds, .init = setup, .fini = teardown, .timeout = 60);

static enum imgp_status get(struct imgp_creds *c, char *err)
{
	struct imgp_creds_provider *p;
	enum imgp_status result;

	cr_assert_eq(imgp_creds_provider_new(&p, err), IMGP_OK);
	result = imgp_creds_get(p, c, err);
	imgp_creds_provider_free(p);
	return result;
}

/* Write ~/.aws/NAME in the test's own HOME. */
static void write_file(const char *name, const char *text)
{
	char *dir, *path;

	cr_assert(asprintf(&dir, "%s/.aws", home) > 0);
	mkdir(dir, 0700);
	cr_assert(asprintf(&path, "%s/%s", dir, name) > 0);
	cr_assert(tu_write(path, text, strlen(text)));
	free(path);
	free(dir);
}

Test(creds, environment_first_with_session_token)
{
	struct imgp_creds c;
	char err[IMGP_ERRSIZE];

	write_file("credentials", "[default]\naws_access_key_id = FROMFILE\naws_secret_access_key = s\n");
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secretenv", 1);
	setenv("AWS_SESSION_TOKEN", "tokenenv", 1);
	cr_assert_eq(get(&c, err), IMGP_OK, "%s", err);
	cr_expect_str_eq(c.access_key, "AKIDENV");
	cr_expect_str_eq(c.secret_key, "secretenv");
	cr_expect_str_eq(c.session_token, "tokenenv");
	cr_expect_str_eq(c.source, "env");
	cr_expect_eq(c.expires, 0);
	imgp_creds_release(&c);
}

Test(creds, shared_files_and_profiles)
{
	struct imgp_creds c;
	char err[IMGP_ERRSIZE], *region;

	write_file("credentials",
	           "# comment\n[default]\naws_access_key_id=DEFAULTKEY\naws_secret_access_key=defsecret\n"
	           "\n[dev]\naws_access_key_id = DEVKEY\naws_secret_access_key = devsecret\n"
	           "aws_session_token = devtoken\n");
	write_file("config",
	           "[default]\nregion = eu-west-1\n"
	           "[profile dev]\nregion = ap-south-1\ns3 =\n  addressing_style = path\n"
	           "[profile onlyconfig]\naws_access_key_id = CFGKEY\naws_secret_access_key = cfgsecret\n"
	           "[sso-session onlyconfig]\naws_access_key_id = NOTTHIS\n");
	cr_assert_eq(get(&c, err), IMGP_OK, "%s", err);
	cr_expect_str_eq(c.access_key, "DEFAULTKEY");
	cr_expect_str_eq(c.source, "profile");
	cr_expect_null(c.session_token);
	imgp_creds_release(&c);
	region = imgp_creds_profile_region();
	cr_expect_str_eq(region, "eu-west-1");
	imgp_free(region);

	setenv("AWS_PROFILE", "dev", 1);
	cr_assert_eq(get(&c, err), IMGP_OK, "%s", err);
	cr_expect_str_eq(c.access_key, "DEVKEY");
	cr_expect_str_eq(c.session_token, "devtoken");
	imgp_creds_release(&c);
	region = imgp_creds_profile_region();
	cr_expect_str_eq(region, "ap-south-1");
	imgp_free(region);

	setenv("AWS_PROFILE", "onlyconfig", 1);
	cr_assert_eq(get(&c, err), IMGP_OK, "%s", err);
	cr_expect_str_eq(c.access_key, "CFGKEY");
	imgp_creds_release(&c);

	setenv("AWS_PROFILE", "nosuch", 1);
	cr_expect_eq(get(&c, err), IMGP_E_ACCESS);
	cr_expect(strstr(err, "no AWS credentials"), "%s", err);
	cr_expect(strstr(err, "profile \"nosuch\""), "%s", err);
}

Test(creds, files_named_by_environment)
{
	struct imgp_creds c;
	char err[IMGP_ERRSIZE], *path;

	cr_assert(asprintf(&path, "%s/elsewhere", home) > 0);
	cr_assert(tu_write(path, "[default]\naws_access_key_id=K2\naws_secret_access_key=S2\n", 55));
	setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
	cr_assert_eq(get(&c, err), IMGP_OK, "%s", err);
	cr_expect_str_eq(c.access_key, "K2");
	imgp_creds_release(&c);
	free(path);
}

Test(creds, none_anywhere_is_access_with_a_reason)
{
	struct imgp_creds c;
	char err[IMGP_ERRSIZE];

	cr_assert_eq(get(&c, err), IMGP_E_ACCESS);
	cr_expect(strstr(err, "no AWS credentials: none in the environment, profile \"default\""),
	          "%s", err);
	cr_expect_not(imgp_status_temporary(IMGP_E_ACCESS));
}

Test(creds, container_urls)
{
	char *url;

	setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc", 1);
	url = imgp_creds_container_url();
	cr_expect_str_eq(url, "http://169.254.170.2/v2/credentials/abc");
	imgp_free(url);
	unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://10.1.2.3/creds", 1);
	{
		struct imgp_creds c;
		char err[IMGP_ERRSIZE];

		/* only https or a loopback / ECS / EKS address may be trusted */
		cr_expect_eq(get(&c, err), IMGP_E_CONFIG);
		cr_expect(strstr(err, "must be https or a loopback"), "%s", err);
	}
}

/* --- the metadata services, played on loopback ---------------------------- */

struct service {
	pthread_mutex_t lock;
	int requests;
	int token_puts;
	bool no_token_seen;        /* a credentials GET came without the token */
	char auth[256];            /* the Authorization a container request sent */
	long expires_in;           /* seconds from now */
};

static void expiration(long from_now, char *out, size_t n)
{
	time_t t = time(NULL) + from_now;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void header_value(const char *head, const char *name, char *out, size_t n)
{
	const char *h = strcasestr(head, name);

	out[0] = '\0';
	if(h) {
		h += strlen(name);
		while(*h == ' ')
			h++;
		snprintf(out, n, "%.*s", (int)strcspn(h, "\r\n"), h);
	}
}

static void container(void *ud, const char *method, const char *path, const char *head,
                      int *status, char *body, size_t size)
{
	struct service *s = ud;
	char exp[32];

	pthread_mutex_lock(&s->lock);
	s->requests++;
	header_value(head, "\nAuthorization:", s->auth, sizeof(s->auth));
	pthread_mutex_unlock(&s->lock);
	if(strcmp(path, "/v2/credentials/task")) {
		*status = 404;
		return;
	}
	expiration(s->expires_in, exp, sizeof(exp));
	*status = 200;
	snprintf(body, size, "{\"AccessKeyId\":\"S3RVER\",\"SecretAccessKey\":\"S3RVER\","
	         "\"Token\":\"container-token\",\"Expiration\":\"%s\",\"RoleArn\":\"x\"}", exp);
}

Test(creds, container_with_token_file)
{
	static struct service svc = { PTHREAD_MUTEX_INITIALIZER, 0, 0, false, "", 3600 };
	struct imgp_creds c;
	char err[IMGP_ERRSIZE], url[128], *tokfile;

	cr_assert(responder_start(&fake, container, &svc));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v2/credentials/task", fake.port);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "from-variable", 1);
	cr_assert(asprintf(&tokfile, "%s/token", home) > 0);
	cr_assert(tu_write(tokfile, "from-file\n", 10));
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tokfile, 1);
	cr_assert_eq(get(&c, err), IMGP_OK, "%s", err);
	cr_expect_str_eq(c.access_key, "S3RVER");
	cr_expect_str_eq(c.session_token, "container-token");
	cr_expect_str_eq(c.source, "container");
	cr_expect_gt(c.expires, time(NULL) + 3500);
	cr_expect_str_eq(svc.auth, "from-file", "the token file wins over the variable");
	imgp_creds_release(&c);
	free(tokfile);
}

Test(creds, temporary_credentials_are_refreshed_before_expiry)
{
	static struct service svc = { PTHREAD_MUTEX_INITIALIZER, 0, 0, false, "", 120 };
	struct imgp_creds_provider *p;
	struct imgp_creds c;
	char err[IMGP_ERRSIZE], url[128];

	cr_assert(responder_start(&fake, container, &svc));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v2/credentials/task", fake.port);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
	cr_assert_eq(imgp_creds_provider_new(&p, err), IMGP_OK);
	/* two minutes left is inside the five-minute margin: fetched every time */
	for(int i = 0; i < 3; i++) {
		cr_assert_eq(imgp_creds_get(p, &c, err), IMGP_OK, "%s", err);
		imgp_creds_release(&c);
	}
	cr_expect_eq(svc.requests, 3);
	/* an hour left: kept */
	svc.expires_in = 3600;
	for(int i = 0; i < 3; i++) {
		cr_assert_eq(imgp_creds_get(p, &c, err), IMGP_OK, "%s", err);
		imgp_creds_release(&c);
	}
	cr_expect_eq(svc.requests, 4);
	/* the service goes away: still-valid credentials are kept */
	netfake_stop(&fake);
	cr_assert_eq(imgp_creds_get(p, &c, err), IMGP_OK, "%s", err);
	imgp_creds_release(&c);
	imgp_creds_provider_free(p);
}

/* IMDSv2 as documented: PUT a token, then GETs that carry it. */
static void imds(void *ud, const char *method, const char *path, const char *head,
                 int *status, char *body, size_t size)
{
	struct service *s = ud;
	char token[64], ttl[16], exp[32];

	header_value(head, "\nX-aws-ec2-metadata-token:", token, sizeof(token));
	header_value(head, "\nX-aws-ec2-metadata-token-ttl-seconds:", ttl, sizeof(ttl));
	pthread_mutex_lock(&s->lock);
	s->requests++;
	pthread_mutex_unlock(&s->lock);
	*status = 200;
	if(!strcmp(method, "PUT") && !strcmp(path, "/latest/api/token") && atoi(ttl) > 0) {
		s->token_puts++;
		snprintf(body, size, "IMDSTOKEN123");
		return;
	}
	if(strcmp(token, "IMDSTOKEN123")) {
		s->no_token_seen = true;
		*status = 401;
		return;
	}
	if(!strcmp(path, "/latest/meta-data/iam/security-credentials/"))
		snprintf(body, size, "my-role\n");
	else if(!strcmp(path, "/latest/meta-data/iam/security-credentials/my-role")) {
		expiration(21600, exp, sizeof(exp));
		snprintf(body, size, "{\"Code\":\"Success\",\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"S3RVER\","
		         "\"SecretAccessKey\":\"S3RVER\",\"Token\":\"imds-token\",\"Expiration\":\"%s\"}", exp);
	}
	else
		*status = 404;
}

Test(creds, instance_metadata_v2)
{
	static struct service svc = { PTHREAD_MUTEX_INITIALIZER, 0, 0, false, "", 0 };
	struct imgp_creds c;
	char err[IMGP_ERRSIZE], url[128];

	cr_assert(responder_start(&fake, imds, &svc));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", fake.port);
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url, 1);
	unsetenv("AWS_EC2_METADATA_DISABLED");
	cr_assert_eq(get(&c, err), IMGP_OK, "%s", err);
	cr_expect_str_eq(c.access_key, "S3RVER");
	cr_expect_str_eq(c.session_token, "imds-token");
	cr_expect_str_eq(c.source, "imds");
	cr_expect_eq(svc.token_puts, 1);
	cr_expect_not(svc.no_token_seen, "a metadata GET went without the IMDSv2 token");
	imgp_creds_release(&c);

	/* disabled: never asked */
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	cr_expect_eq(get(&c, err), IMGP_E_ACCESS);
	cr_expect_eq(svc.token_puts, 1);
}

Test(creds, nothing_listening_at_imds_means_no_credentials)
{
	struct imgp_creds c;
	char err[IMGP_ERRSIZE], url[64];
	int port;

	cr_assert(responder_start(&fake, imds, NULL));
	port = fake.port;
	netfake_stop(&fake);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url, 1);
	unsetenv("AWS_EC2_METADATA_DISABLED");
	cr_expect_eq(get(&c, err), IMGP_E_ACCESS);
	cr_expect(strstr(err, "instance metadata token"), "%s", err);
}

/* End to end: credentials from the container service sign real requests. */
Test(creds, store_signs_with_container_credentials)
{
	static struct service svc = { PTHREAD_MUTEX_INITIALIZER, 0, 0, false, "", 3600 };
	static const char *const buckets[] = { "b1", NULL };
	struct s3srv srv;
	struct imgp_store *st;
	struct imgp_store_error e;
	struct imgp_object o;
	char err[IMGP_ERRSIZE], url[128];

	cr_assert(s3srv_start(&srv, buckets));
	cr_assert(responder_start(&fake, container, &svc));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v2/credentials/task", fake.port);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
	setenv("AWS_ENDPOINT_URL_S3", srv.endpoint, 1);
	cr_assert_eq(imgp_store_open("s3", &st, err), IMGP_OK, "%s", err);
	cr_expect_eq(svc.requests, 0, "opening a store must not fetch credentials");
	cr_expect_eq(imgp_store_put(st, "b1", "k", "v", 1, NULL, &e), IMGP_OK, "%s", e.msg);
	cr_expect_eq(imgp_store_get(st, "b1", "k", 10, &o, &e), IMGP_OK, "%s", e.msg);
	imgp_object_release(&o);
	cr_expect_eq(svc.requests, 1, "credentials are cached between requests");
	imgp_store_close(st);
	s3srv_stop(&srv);
}
