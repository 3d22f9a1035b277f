/*
 * settings.c: the environment, in one place. Every variable imgpipe reads
 * is a line of the table below, read by imgp_env and nowhere else.
 * It must never interpret a value: parsing and checking are the owner's
 * (config.c for imgpipe's own settings, creds.c for credentials, ...).
 */
#include "settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct imgp_setting table[] = {
	/* the job, every front end */
	{ "IMGPIPE_DEST_BUCKET", "imgpipe", "where variants go" },
	{ "IMGPIPE_DEST_PREFIX", "imgpipe", "prefix of every variant key" },
	{ "IMGPIPE_OUTPUT_KEY", "imgpipe", "the variant key template" },
	{ "IMGPIPE_MANIFEST_KEY", "imgpipe", "the manifest key template; empty: none" },
	{ "IMGPIPE_CACHE_CONTROL", "imgpipe", "Cache-Control of every output" },
	{ "IMGPIPE_SOURCE_BUCKET", "imgpipe", "the trigger's bucket, for the loop guard" },
	{ "IMGPIPE_SOURCE_PREFIX", "imgpipe", "the trigger's prefix, for the loop guard" },
	{ "IMGPIPE_ON_DELETE", "imgpipe", "delete: removal events delete the variants" },
	{ "IMGPIPE_DEADLINE_RESERVE_MS", "imgpipe", "no source started with less time left" },
	{ "IMGPIPE_STORE", "imgpipe", "azure, or dir:PATH for the local-folder store; else S3" },
	{ "IMGPIPE_VARIANTS", "imgpipe", "the variant spec" },
	{ "IMGPIPE_CONFIG", "imgpipe", "a JSON config file" },
	{ "IMGPIPE_MAX_PIXELS", "imgpipe", "refuse sources over this many pixels" },
	{ "IMGPIPE_MAX_BYTES", "imgpipe", "refuse sources over this many bytes" },
	{ "IMGPIPE_MAX_FRAMES", "imgpipe", "refuse kept animations over this many frames" },
	{ "IMGPIPE_FAIL_ON", "imgpipe", "none, truncated, error or warning" },
	{ "IMGPIPE_METRICS_NAMESPACE", "imgpipe", "the EMF metrics' namespace" },
	{ "IMGPIPE_MAX_INVOCATIONS", "imgpipe", "imgpipe lambda exits after this many" },
	{ "IMGPIPE_S3_ADDRESSING", "imgpipe", "path or virtual: S3 bucket addressing" },
	{ "IMGPIPE_DEBUG", "imgpipe", "keep libvips' warnings on stderr" },
	/* imgpipe serve */
	{ "PORT", "serve", "the port serve listens on (Cloud Run, Knative)" },
	{ "IMGPIPE_LISTEN", "serve", "the address serve listens on" },
	{ "IMGPIPE_SERVE_CONCURRENCY", "serve", "events at work at once; beyond, 429" },
	{ "IMGPIPE_SERVE_TIMEOUT", "serve", "seconds of work per event" },
	{ "IMGPIPE_SERVE_GRACE", "serve", "seconds after SIGTERM for work in flight" },
	{ "IMGPIPE_SERVE_MAX_BODY", "serve", "bytes of a request body; beyond, 413" },
	{ "IMGPIPE_SERVE_TOKEN", "serve", "the bearer token every POST must carry" },
	/* Lambda, as it sets them for a custom runtime */
	{ "AWS_LAMBDA_RUNTIME_API", "lambda", "the Runtime API's host:port" },
	{ "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "lambda", "the function's memory, for its CPU share" },
	{ "AWS_LAMBDA_LOG_FORMAT", "lambda", "Text or JSON" },
	{ "AWS_LAMBDA_LOG_LEVEL", "lambda", "the application log level" },
	{ "_X_AMZN_TRACE_ID", "lambda", "the trace id (imgpipe invoke, serve)" },
	/* AWS, as the SDKs read them */
	{ "AWS_REGION", "aws", "the region" },
	{ "AWS_DEFAULT_REGION", "aws", "the region, when AWS_REGION is unset" },
	{ "AWS_ENDPOINT_URL_S3", "aws", "the S3 endpoint" },
	{ "AWS_ENDPOINT_URL", "aws", "every service's endpoint" },
	{ "AWS_ACCESS_KEY_ID", "aws", "credentials: the key id" },
	{ "AWS_SECRET_ACCESS_KEY", "aws", "credentials: the secret key" },
	{ "AWS_SESSION_TOKEN", "aws", "credentials: the session token" },
	{ "AWS_PROFILE", "aws", "the shared files' profile" },
	{ "AWS_SHARED_CREDENTIALS_FILE", "aws", "the shared credentials file" },
	{ "AWS_CONFIG_FILE", "aws", "the shared config file" },
	{ "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "aws", "container credentials (ECS)" },
	{ "AWS_CONTAINER_CREDENTIALS_FULL_URI", "aws", "container credentials (full URI)" },
	{ "AWS_CONTAINER_AUTHORIZATION_TOKEN", "aws", "container credentials' token" },
	{ "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "aws", "container credentials' token file" },
	{ "AWS_EC2_METADATA_DISABLED", "aws", "true: never ask IMDS" },
	{ "AWS_EC2_METADATA_SERVICE_ENDPOINT", "aws", "IMDS' address" },
	/* Google */
	{ "GCE_METADATA_HOST", "google", "the metadata server's address" },
	/* Azure, as its SDKs and platforms set them */
	{ "AZURE_STORAGE_CONNECTION_STRING", "azure", "the storage account, endpoint and key or SAS" },
	{ "AZURE_STORAGE_ACCOUNT", "azure", "the storage account" },
	{ "AZURE_STORAGE_KEY", "azure", "the account's key (Shared Key)" },
	{ "AZURE_STORAGE_SAS_TOKEN", "azure", "a SAS token for the account" },
	{ "IDENTITY_ENDPOINT", "azure", "the managed identity's token endpoint" },
	{ "IDENTITY_HEADER", "azure", "the managed identity endpoint's secret" },
	{ "AZURE_CLIENT_ID", "azure", "a user-assigned identity's client id" },
	{ "IMGPIPE_AZURE_IMDS_ENDPOINT", "azure", "the instance metadata service's address" },
	{ "FUNCTIONS_CUSTOMHANDLER_PORT", "azure", "the port of an Azure Functions custom handler" },
	/* the system */
	{ "HOME", "system", "where ~/.aws is" },
	{ "SSL_CERT_FILE", "system", "the CA bundle libcurl uses" },
};

const char *imgp_env_set(const char *name)
{
	for(size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if(!strcmp(table[i].name, name))
			return getenv(name);
	fprintf(stderr, "imgpipe: bug: the setting %s is not in settings.c's table\n", name);
	abort();
}

const char *imgp_env(const char *name)
{
	const char *v = imgp_env_set(name);

	return v && *v ? v : NULL;
}

const struct imgp_setting *imgp_settings(size_t *n)
{
	*n = sizeof(table) / sizeof(table[0]);
	return table;
}
