/*
 * test_deploy_azure.c: deploy/azure checked as far as a machine without
 * Azure and without the Bicep compiler can (tests/lib/azure-check.js):
 * the Function App's host.json and function.json files, and both Bicep
 * templates against imgpipe's own settings table and invariants (the
 * subscription filtered to the upload container, the identity's role, no
 * key). Broken copies prove each kind of check can fail. What this cannot
 * say (that Azure accepts the templates) is said in docs/deploy-azure.md.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"
#include "lib/testutil.h"

static char *scratch, settings_path[4200];

static void setup(void)
{
	size_t n;
	const struct imgp_setting *s = imgp_settings(&n);
	FILE *f;

	scratch = tu_tempdir();
	snprintf(settings_path, sizeof(settings_path), "%s/settings.txt", scratch);
	f = fopen(settings_path, "w");
	cr_assert(f);
	for(size_t i = 0; i < n; i++)
		fprintf(f, "%s\n", s[i].name);
	fclose(f);
}

static void teardown(void)
{
	tu_rmtree(scratch);
	free(scratch);
}

TestSuite(deploy_azure, .init = setup, .fini = teardown, .timeout = 60);

/* node azure-check.js SETTINGS APP BICEP...; its output in *out. */
static int check(const char *app, const char *b1, const char *b2, char **out)
{
	char script[4200];
	const char *argv[] = { "/usr/bin/env", "node", script, settings_path, app, b1, b2, NULL };
	char *err = NULL;
	int rc;

	snprintf(script, sizeof(script), "%s/tests/lib/azure-check.js", tu_srcdir());
	rc = tu_run(argv, out, &err);
	if(rc != 0 && rc != 1)
		cr_log_error("azure-check: %s", err ? err : "");
	free(err);
	return rc;
}

static char *repo(const char *rel)
{
	char *p;

	cr_assert_geq(asprintf(&p, "%s/%s", tu_srcdir(), rel), 0);
	return p;
}

Test(deploy_azure, templates_and_function_app_pass)
{
	char *app = repo("deploy/azure/function-app"), *main_b = repo("deploy/azure/main.bicep");
	char *ca = repo("deploy/azure/containerapp.bicep"), *out = NULL;
	long n = 0;

	cr_assert_eq(check(app, main_b, ca, &out), 0, "%s", out);
	cr_assert(sscanf(strstr(out, "checked ") ? strstr(out, "checked ") : "", "checked %ld", &n) == 1,
	          "%s", out);
	cr_assert_gt(n, 100, "only %ld checks ran", n);
	free(out);
	free(app);
	free(main_b);
	free(ca);
}

/* A copy of a repository file with one replacement (which must happen). */
static char *broken(const char *rel, const char *from, const char *to)
{
	char *src = repo(rel), *text, *at, *dst, *copy;
	size_t len;

	text = tu_read(src, &len);
	cr_assert(text, "%s", src);
	at = strstr(text, from);
	cr_assert(at, "%s has no \"%s\"", rel, from);
	cr_assert_geq(asprintf(&copy, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from)), 0);
	cr_assert_geq(asprintf(&dst, "%s/%s", scratch, strrchr(rel, '/') + 1), 0);
	cr_assert(tu_write(dst, copy, strlen(copy)));
	free(copy);
	free(text);
	free(src);
	return dst;
}

Test(deploy_azure, broken_templates_are_caught)
{
	static const struct { const char *from, *to, *says; } cases[] = {
		{ "subjectBeginsWith: '/blobServices/default/containers/${uploadContainer}/blobs/'",
		  "subjectBeginsWith: '/blobServices/default/containers/'",
		  "not filtered to the upload container" },
		{ "{ name: 'IMGPIPE_ON_DELETE', value: onDelete }",
		  "{ name: 'IMGPIPE_ONDELETE', value: onDelete }", "IMGPIPE_ONDELETE is not one imgpipe reads" },
		{ "'Microsoft.Storage.BlobDeleted' ]", "'Microsoft.Storage.BlobTierChanged' ]",
		  "event types are not" },
		{ "resourceId: '${app.id}/functions/ImgpipeEventGrid'",
		  "resourceId: '${app.id}/functions/ImgpipeQueue'", "is not an eventGridTrigger function" },
		{ "properties: { reserved: true }", "properties: { reserved: true ", "never closed" },
		{ "Microsoft.Web/sites@2024-11-01", "Microsoft.Web/sites@2016-08-01", "is not one of the checked" },
		{ "param variantContainer string = 'variants'", "param variantContainer string = 'uploads'",
		  "must differ" },
	};
	char *app = repo("deploy/azure/function-app"), *ca = repo("deploy/azure/containerapp.bicep");

	for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *b = broken("deploy/azure/main.bicep", cases[i].from, cases[i].to), *out = NULL;

		cr_assert_eq(check(app, b, ca, &out), 1, "case %zu passed: %s", i, out);
		cr_assert(strstr(out, cases[i].says), "case %zu: %s", i, out);
		free(out);
		free(b);
	}
	free(app);
	free(ca);
}

Test(deploy_azure, broken_function_app_is_caught)
{
	char dir[4300], fn[4400], *out = NULL, *main_b = repo("deploy/azure/main.bicep");
	char *ca = repo("deploy/azure/containerapp.bicep"), *host = repo("deploy/azure/function-app/host.json");
	char *text;
	size_t len;
	static const char http[] = "{\"bindings\":[{\"type\":\"httpTrigger\",\"direction\":\"in\","
	                           "\"name\":\"req\"}]}";

	snprintf(dir, sizeof(dir), "%s/app", scratch);
	snprintf(fn, sizeof(fn), "%s/ImgpipeEventGrid/function.json", dir);
	text = tu_read(host, &len);
	cr_assert(text);
	snprintf(fn, sizeof(fn), "%s/host.json", dir);
	cr_assert(tu_copy(host, fn));
	snprintf(fn, sizeof(fn), "%s/ImgpipeEventGrid/function.json", dir);
	cr_assert(tu_write(fn, http, strlen(http)) || (tu_copy(host, fn) && tu_write(fn, http, strlen(http))));
	cr_assert_eq(check(dir, main_b, ca, &out), 1, "%s", out);
	cr_assert(strstr(out, "ImgpipeEventGrid: binding type httpTrigger"), "%s", out);
	cr_assert(strstr(out, "is not an eventGridTrigger function"), "%s", out);
	free(out);
	free(text);
	free(host);
	free(main_b);
	free(ca);
}
