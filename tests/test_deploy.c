/*
 * test_deploy.c: the deployment template, deploy/template.yaml, checked as
 * far as a machine without an AWS account can: tests/lib/cfn-check.js
 * parses it and checks every resource type and property against the
 * CloudFormation resource specification (npm @aws-cdk/cfnspec, SAM types
 * included), every reference, and imgpipe's own invariants (the loop guard
 * wired, least privilege). Broken copies prove that the check can fail.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/testutil.h"

static char *scratch;

static void setup(void)
{
	scratch = tu_tempdir();
}

static void teardown(void)
{
	if(scratch)
		tu_rmtree(scratch);
	free(scratch);
	scratch = NULL;
}

TestSuite(deploy, .init = setup, .fini = teardown, .timeout = 60);

static char *template_path(void)
{
	char *path = NULL;

	cr_assert_geq(asprintf(&path, "%s/deploy/template.yaml", tu_srcdir()), 0);
	return path;
}

/* Run the check on path; its exit status, its output into *out. */
static int cfn_check(const char *path, char **out)
{
	char *script = NULL, *err = NULL;
	int status;

	cr_assert_geq(asprintf(&script, "%s/tests/lib/cfn-check.js", tu_srcdir()), 0);
	{
		const char *argv[] = { "/usr/bin/env", "node", script, path, "--imgpipe", NULL };

		status = tu_run(argv, out, &err);
	}
	if(err && *err && status != 0 && status != 1)
		cr_log_error("cfn-check: %s", err);
	free(err);
	free(script);
	return status;
}

Test(deploy, template_is_valid)
{
	char *path = template_path(), *out = NULL;
	int status = cfn_check(path, &out);

	cr_assert_eq(status, 0, "deploy/template.yaml is refused (exit %d):\n%s", status,
	             out ? out : "");
	cr_assert(out && strstr(out, "valid ("), "%s", out ? out : "");
	free(out);
	free(path);
}

/* The template with the first `from` replaced by `to`, into scratch. */
static char *broken_copy(const char *from, const char *to)
{
	char *path = template_path(), *copy = NULL, *text, *at, *out;
	size_t len;

	text = tu_read(path, &len);
	cr_assert_not_null(text);
	at = strstr(text, from);
	cr_assert_not_null(at, "the template no longer contains \"%s\"", from);
	out = malloc(len + strlen(to) + 1);
	cr_assert_not_null(out);
	memcpy(out, text, (size_t)(at - text));
	strcpy(out + (at - text), to);
	strcat(out, at + strlen(from));
	cr_assert_geq(asprintf(&copy, "%s/template.yaml", scratch), 0);
	cr_assert(tu_write(copy, out, strlen(out)));
	free(out);
	free(text);
	free(path);
	return copy;
}

Test(deploy, broken_templates_are_refused)
{
	static const struct { const char *from, *to, *expect, *why; } cases[] = {
		{ "      MemorySize: !Ref MemorySize\n",
		  "      MemorySize: !Ref MemorySize\n      MemorySizeMB: 2048\n",
		  "has no property MemorySizeMB", "a property the type does not have" },
		{ "Type: AWS::SQS::QueuePolicy", "Type: AWS::SQS::QueuePolicies",
		  "unknown resource type AWS::SQS::QueuePolicies", "a resource type that does not exist" },
		{ "      Qualifier: $LATEST\n", "",
		  "requires Qualifier", "a required property missing" },
		{ "MaximumRetryAttempts: 2", "MaximumRetryAttempts: two",
		  "expected Integer", "a value of the wrong type" },
		{ "FunctionName: !Ref Function\n", "FunctionName: !Ref Functio\n",
		  "Ref to unknown Functio", "a Ref to nothing" },
		{ "!GetAtt FailureQueue.Arn", "!GetAtt FailureQueue.Url",
		  "has no attribute Url", "an attribute the type does not have" },
		{ "BlockPublicAcls: true", "BlockPublicAcls: [true", "does not parse", "bad YAML" },
		{ "IMGPIPE_DEST_BUCKET: !Ref SinkBucketName", "IMGPIPE_DEST_BUCKET: !Ref SourceBucketName",
		  "a loop", "the variants written into the source bucket" },
		{ "IMGPIPE_SOURCE_BUCKET: !Ref SourceBucketName", "IMGPIPE_SOURCE_BUCKETS: !Ref SourceBucketName",
		  "IMGPIPE_SOURCE_BUCKET must be", "the loop guard not told the source" },
		{ "Action: [s3:PutObject, s3:GetObject]", "Action: [s3:PutObject, s3:GetObject, s3:DeleteObject]",
		  "deletes objects", "a role that may delete" },
		{ "Action: [s3:GetObject, s3:GetObjectVersion]\n                Resource: !Sub arn:${AWS::Partition}:s3:::${SourceBucketName}/${SourcePrefix}*",
		  "Action: [s3:GetObject, s3:PutObject]\n                Resource: !Sub arn:${AWS::Partition}:s3:::${SourceBucketName}/${SourcePrefix}*",
		  "writes to the source bucket", "a role that may write where the trigger listens" },
	};

	for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *copy = broken_copy(cases[i].from, cases[i].to), *out = NULL;
		int status = cfn_check(copy, &out);

		cr_expect_eq(status, 1, "%s: accepted (exit %d):\n%s", cases[i].why, status,
		             out ? out : "");
		cr_expect(out && strstr(out, cases[i].expect), "%s: no \"%s\" in:\n%s", cases[i].why,
		          cases[i].expect, out ? out : "");
		free(out);
		free(copy);
	}
}
