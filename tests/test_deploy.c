/*
 * test_deploy.c: the deployment template, deploy/template.yaml, checked as
 * far as a machine without an AWS account can. tests/lib/cfn-check.js
 * parses it and checks every resource type and property against the
 * CloudFormation resource specification (npm @aws-cdk/cfnspec, SAM types
 * included), every reference, and imgpipe's own invariants (the loop guard
 * wired, least privilege, the review's findings). cfn-lint, where it is on
 * PATH, lints a copy of the template for every combination of the
 * parameters its Conditions read, SAM transform included; where it is not,
 * those tests say so and skip. Broken copies prove that both checks can
 * fail.
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

static char *template_text(void)
{
	char *path = template_path(), *text;
	size_t len;

	text = tu_read(path, &len);

	cr_assert_not_null(text, "cannot read %s", path);
	free(path);
	return text;
}

/* Run the check on paths[0..n); its exit status, its output into *out. */
static int cfn_check_all(char *const *paths, size_t n, char **out)
{
	const char **argv = calloc(n + 5, sizeof(*argv));
	char *script = NULL, *err = NULL;
	int status;

	cr_assert_not_null(argv);
	cr_assert_geq(asprintf(&script, "%s/tests/lib/cfn-check.js", tu_srcdir()), 0);
	argv[0] = "/usr/bin/env";
	argv[1] = "node";
	argv[2] = script;
	argv[3] = "--imgpipe";
	for(size_t i = 0; i < n; i++)
		argv[4 + i] = paths[i];
	status = tu_run(argv, out, &err);
	if(err && *err && status != 0 && status != 1)
		cr_log_error("cfn-check: %s", err);
	free(err);
	free(script);
	free(argv);
	return status;
}

static int cfn_check(const char *path, char **out)
{
	char *paths[] = { (char *)path };

	return cfn_check_all(paths, 1, out);
}

/*
 * Whether cfn-lint is on PATH: env exits 127 when it finds no such
 * program. Its version line into *version (caller frees) when it is.
 */
static bool have_cfn_lint(char **version)
{
	const char *argv[] = { "/usr/bin/env", "cfn-lint", "--version", NULL };
	char *out = NULL;
	int status = tu_run(argv, &out, NULL);

	if(status == 0 && out) {
		out[strcspn(out, "\n")] = '\0';
		*version = out;
		return true;
	}
	free(out);
	return false;
}

#define NO_CFN_LINT "cfn-lint is not on PATH, so the template was not linted " \
	"(only tests/lib/cfn-check.js checked it): pip install cfn-lint to lint it"

/* The tally of cfn-lint's parseable output ("FILE:L:C:L:C:RULE:MESSAGE"). */
struct lint_tally {
	int errors, warnings, informational;
};

/*
 * Lint paths[0..n) in one cfn-lint process (its start is most of the cost
 * of one template). Exit status; findings counted into *tally, the output
 * into *out. --non-zero-exit-code warning: informational findings alone
 * exit 0.
 */
static int cfn_lint_all(char *const *paths, size_t n, struct lint_tally *tally, char **out)
{
	const char **argv = calloc(n + 10, sizeof(*argv));
	char *err = NULL;
	int status;

	cr_assert_not_null(argv);
	argv[0] = "/usr/bin/env";
	argv[1] = "cfn-lint";
	argv[2] = "--format";
	argv[3] = "parseable";
	argv[4] = "--non-zero-exit-code";
	argv[5] = "warning";
	/* the informational checks too (I3011: a stateful resource's deletion
	 * policy left to CloudFormation's default) */
	argv[6] = "--include-checks";
	argv[7] = "I";
	argv[8] = "--";
	for(size_t i = 0; i < n; i++)
		argv[9 + i] = paths[i];
	status = tu_run(argv, out, &err);
	if(err && *err)
		cr_log_warn("cfn-lint (stderr): %s", err);
	memset(tally, 0, sizeof(*tally));
	for(const char *line = *out; line && *line; ) {
		const char *end = strchr(line, '\n'), *rule = line;

		if(!end)
			end = line + strlen(line);
		for(int colons = 0; rule < end && colons < 5; rule++)
			colons += *rule == ':';
		if(rule < end && *rule == 'E')
			tally->errors++;
		else if(rule < end && *rule == 'W')
			tally->warnings++;
		else if(rule < end && *rule == 'I')
			tally->informational++;
		line = *end ? end + 1 : end;
	}
	free(err);
	free(argv);
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

/* The template with the first `from` replaced by `to`, into scratch/name. */
static char *edited_copy(const char *text, const char *from, const char *to, const char *name)
{
	const char *at = strstr(text, from);
	char *copy = NULL, *out;
	size_t len = strlen(text);

	cr_assert_not_null(at, "the template no longer contains \"%s\"", from);
	out = malloc(len + strlen(to) + 1);
	cr_assert_not_null(out);
	memcpy(out, text, (size_t)(at - text));
	strcpy(out + (at - text), to);
	strcat(out, at + strlen(from));
	cr_assert_geq(asprintf(&copy, "%s/%s", scratch, name), 0);
	cr_assert(tu_write(copy, out, strlen(out)));
	free(out);
	return copy;
}

/*
 * Each case breaks one thing. CHECK cases are refused by cfn-check.js;
 * LINT cases are ones only cfn-lint sees (cfn-check must still accept
 * them, which is why they are here): they prove the lint can fail.
 */
enum checker { CHECK, LINT };

Test(deploy, broken_templates_are_refused)
{
	static const struct { enum checker by; const char *from, *to, *expect, *why; } cases[] = {
		{ CHECK, "    MemorySize: !Ref MemorySize\n",
		  "    MemorySize: !Ref MemorySize\n    MemorySizeMB: 2048\n",
		  "has no property MemorySizeMB", "a property the type does not have" },
		{ CHECK, "Type: AWS::SQS::QueuePolicy", "Type: AWS::SQS::QueuePolicies",
		  "unknown resource type AWS::SQS::QueuePolicies", "a resource type that does not exist" },
		{ CHECK, "      Qualifier: $LATEST\n", "",
		  "requires Qualifier", "a required property missing" },
		{ CHECK, "MaximumRetryAttempts: 2", "MaximumRetryAttempts: two",
		  "expected Integer", "a value of the wrong type" },
		{ CHECK, "TopicArn: !Ref AlarmTopic\n", "TopicArn: !Ref AlarmTopics\n",
		  "Ref to unknown AlarmTopics", "a Ref to nothing" },
		{ CHECK, "!GetAtt FailureQueue.Arn", "!GetAtt FailureQueue.Url",
		  "has no attribute Url", "an attribute the type does not have" },
		{ CHECK, "BlockPublicAcls: true", "BlockPublicAcls: [true", "does not parse", "bad YAML" },
		{ CHECK, "IMGPIPE_DEST_BUCKET: !Ref SinkBucket\n", "IMGPIPE_DEST_BUCKET: !Ref SourceBucket\n",
		  "a loop", "the variants written into the source bucket" },
		{ CHECK, "IMGPIPE_DEST_BUCKET: !Ref SinkBucket\n", "IMGPIPE_DEST_BUCKET: !Ref SinkBucketName\n",
		  "Ref to the sink bucket resource", "the sink named, not the bucket (no dependency)" },
		{ CHECK, "IMGPIPE_SOURCE_BUCKET: !Ref SourceBucketName", "IMGPIPE_SOURCE_BUCKETS: !Ref SourceBucketName",
		  "IMGPIPE_SOURCE_BUCKET must be", "the loop guard not told the source" },
		{ CHECK, "Action: [s3:PutObject, s3:GetObject]", "Action: [s3:PutObject, s3:GetObject, s3:DeleteObject]",
		  "deletes objects", "a role that may delete" },
		{ CHECK, "Action: [s3:GetObject, s3:GetObjectVersion]\n                Resource: !Sub arn:${AWS::Partition}:s3:::${SourceBucketName}/${SourcePrefix}*",
		  "Action: [s3:GetObject, s3:PutObject]\n                Resource: !Sub arn:${AWS::Partition}:s3:::${SourceBucketName}/${SourcePrefix}*",
		  "writes to the source bucket", "a role that may write where the trigger listens" },
		/* the review's findings (issue 17), each put back */
		{ CHECK, "Action: s3:ListBucket\n                Resource: !Sub arn:${AWS::Partition}:s3:::${SourceBucketName}\n",
		  "Action: s3:ListBucket\n                Resource: !Sub arn:${AWS::Partition}:s3:::${SourceBucketName}\n"
		  "                Condition:\n                  StringLike: { \"s3:prefix\": !Sub \"${SourcePrefix}*\" }\n",
		  "s3:prefix condition", "1: a ListBucket grant a deleted upload's HEAD never matches" },
		{ CHECK, "    Default: 5\n    MinValue: 5\n", "    Default: 3\n    MinValue: 1\n",
		  "maxReceiveCount must be at least 5", "3: throttled receives exhaust the redrive" },
		{ CHECK, "    Default: 5\n    MinValue: 2\n", "    Default: 20\n    MinValue: 2\n",
		  "above the 10 concurrent executions", "3: a default a new account cannot serve" },
		{ CHECK, "    DependsOn: FunctionRole\n", "",
		  "QueueMapping.DependsOn: must name FunctionRole", "4: the mapping racing the role's update" },
		{ CHECK, "    DeletionPolicy: Retain\n    UpdateReplacePolicy: Retain\n    Properties:\n      BucketName: !Ref SinkBucketName",
		  "    Properties:\n      BucketName: !Ref SinkBucketName",
		  "DeletionPolicy and UpdateReplacePolicy Retain", "6: deleting the stack deleting the variants" },
		{ CHECK, "      RetentionInDays: !Ref LogRetentionDays\n", "",
		  "needs RetentionInDays", "6: logs kept for ever" },
		{ CHECK, "MetricName: ApproximateNumberOfMessagesVisible\n", "MetricName: NumberOfMessagesSent\n",
		  "no alarm on the depth of the failure queue", "6: failures nobody hears of" },
		{ CHECK, "sqs:GetQueueAttributes]", "sqs:GetQueueAttributes, sqs:ChangeMessageVisibility]",
		  "sqs:ChangeMessageVisibility", "8: a grant nothing uses" },
		/* the template's new parts (issue 13) */
		{ CHECK, "ApplicationLogLevel: !If [JsonLogs, !Ref ApplicationLogLevel, !Ref AWS::NoValue]",
		  "ApplicationLogLevel: !Ref ApplicationLogLevel",
		  "ApplicationLogLevel needs LogFormat JSON", "a log level Lambda refuses with Text" },
		{ CHECK, "CodeUri: ../dist/imgpipe-0.1.0-lambda-aarch64.zip", "CodeUri: ../dist/imgpipe-0.1.0-lambda-x86_64.zip",
		  "is not the arm64 bundle", "an arm64 function given the x86_64 bundle" },
		{ CHECK, "SELECT SUM(Failed)", "SELECT SUM(Failures)",
		  "no alarm on imgpipe's Failed metric", "an alarm on a metric imgpipe never logs" },
		{ CHECK, "\"width\": 12, \"height\": 6, \"properties\": {", "\"width\": 12, \"height\": 6 \"properties\": {",
		  "DashboardBody: not JSON", "a dashboard CloudWatch cannot read" },
		{ LINT, "ComparisonOperator: GreaterThanThreshold", "ComparisonOperator: GreaterThan",
		  ":E3030:", "a value outside the property's allowed values" },
		{ LINT, "IMGPIPE_SOURCE_BUCKET: !Ref SourceBucketName", "IMGPIPE_SOURCE_BUCKET: !Ref SourceBucket",
		  ":E3004:", "a circular dependency (source bucket, its notification target, the function)" },
	};
	char *text = template_text(), *version = NULL;
	bool lint = have_cfn_lint(&version);

	if(!lint)
		cr_log_warn("%s; its broken cases were not run", NO_CFN_LINT);
	for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *copy = edited_copy(text, cases[i].from, cases[i].to, "template.yaml"), *out = NULL;
		int status = cfn_check(copy, &out);

		if(cases[i].by == CHECK) {
			cr_expect_eq(status, 1, "%s: accepted (exit %d):\n%s", cases[i].why, status,
			             out ? out : "");
			cr_expect(out && strstr(out, cases[i].expect), "%s: no \"%s\" in:\n%s",
			          cases[i].why, cases[i].expect, out ? out : "");
		} else {
			struct lint_tally tally;
			char *lout = NULL;

			cr_expect_eq(status, 0, "%s: cfn-check refuses it too, so it proves nothing "
			             "about cfn-lint:\n%s", cases[i].why, out ? out : "");
			if(lint) {
				cr_expect_neq(cfn_lint_all(&copy, 1, &tally, &lout), 0,
				              "%s: cfn-lint accepts it:\n%s", cases[i].why, lout ? lout : "");
				cr_expect(lout && strstr(lout, cases[i].expect), "%s: no \"%s\" in:\n%s",
				          cases[i].why, cases[i].expect, lout ? lout : "");
			}
			free(lout);
		}
		free(out);
		free(copy);
	}
	free(version);
	free(text);
}

/*
 * The parameters the template's Conditions read, each with the two values
 * that flip them; the first value is the template's default. A copy of the
 * template per combination, with these as the defaults, is what cfn-lint
 * (and the SAM transform inside it, which resolves some values from the
 * defaults) sees.
 */
static const struct { const char *param, *value[2], *label[2]; } drivers[] = {
	{ "UseQueue", { "\"false\"", "\"true\"" }, { "direct", "queue" } },
	{ "PackageType", { "Image", "Zip" }, { "image", "zip" } },
	{ "Architecture", { "x86_64", "arm64" }, { "x86_64", "arm64" } },
	{ "SourcePrefix", { "uploads/", "\"\"" }, { "prefix", "noprefix" } },
	{ "SourceSuffix", { "\"\"", ".jpg" }, { "nosuffix", "suffix" } },
	{ "AlarmEmail", { "\"\"", "ops@example.com" }, { "noemail", "email" } },
	{ "LogFormat", { "Text", "JSON" }, { "text", "json" } },
	{ "CompletionBusArn", { "\"\"", "arn:aws:events:us-east-1:123456789012:event-bus/default" },
	  { "nobus", "bus" } },
};
#define NDRIVERS (sizeof(drivers) / sizeof(drivers[0]))

/* text with parameter `param`'s "Default:" line set to value; caller frees */
static char *set_default(const char *text, const char *param, const char *value)
{
	char *head = NULL, *out = NULL;
	const char *at, *def, *eol;

	cr_assert_geq(asprintf(&head, "\n  %s:\n", param), 0);
	at = strstr(text, head);
	cr_assert_not_null(at, "the template has no parameter %s", param);
	def = strstr(at + strlen(head), "\n    Default: ");
	/* the Default must be in this parameter's block, before the next one */
	cr_assert_not_null(def, "%s has no Default", param);
	for(const char *p = at + strlen(head); p < def; p = strchr(p, '\n') + 1)
		cr_assert(p[0] == ' ' && p[1] == ' ' && p[2] == ' ', "%s has no Default", param);
	def += strlen("\n    Default: ");
	eol = strchr(def, '\n');
	cr_assert_geq(asprintf(&out, "%.*s%s%s", (int)(def - text), text, value, eol), 0);
	free(head);
	return out;
}

/* Every combination's copy in scratch; their paths into *paths; the count. */
static size_t write_combinations(char ***paths)
{
	char *text = template_text();
	size_t n = (size_t)1 << NDRIVERS;

	*paths = calloc(n, sizeof(**paths));
	cr_assert_not_null(*paths);
	for(size_t c = 0; c < n; c++) {
		char *copy = strdup(text), name[256] = "";

		for(size_t d = 0; d < NDRIVERS; d++) {
			int bit = (c >> d) & 1;
			char *next = set_default(copy, drivers[d].param, drivers[d].value[bit]);

			free(copy);
			copy = next;
			strcat(name, drivers[d].label[bit]);
			strcat(name, d + 1 < NDRIVERS ? "-" : ".yaml");
		}
		cr_assert_geq(asprintf(&(*paths)[c], "%s/%s", scratch, name), 0);
		cr_assert(tu_write((*paths)[c], copy, strlen(copy)));
		free(copy);
	}
	free(text);
	return n;
}

static void free_paths(char **paths, size_t n)
{
	for(size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

/* Every parameter a Condition reads is one of the drivers: "every
 * combination" stays every combination when a condition is added. */
Test(deploy, every_condition_parameter_is_combined)
{
	char *text = template_text();
	const char *from = strstr(text, "\nConditions:\n"), *to;

	cr_assert_not_null(from, "the template has no Conditions");
	to = strstr(from + 1, "\n\n");
	cr_assert_not_null(to);
	for(const char *p = from; (p = strstr(p, "!Ref ")) && p < to; p += 5) {
		size_t len = strspn(p + 5, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
		bool known = false;

		for(size_t d = 0; d < NDRIVERS; d++)
			known |= strlen(drivers[d].param) == len && !strncmp(drivers[d].param, p + 5, len);
		cr_expect(known, "a Condition reads %.*s, which the combinations do not vary",
		          (int)len, p + 5);
	}
	free(text);
}

Test(deploy, every_combination_passes_the_check)
{
	char **paths, *out = NULL;
	size_t n = write_combinations(&paths);
	int status = cfn_check_all(paths, n, &out);

	cr_expect_eq(status, 0, "some of the %zu combinations are refused:\n%s", n, out ? out : "");
	free(out);
	free_paths(paths, n);
}

/* About 0.35 s of CPU per copy: the timeout leaves room for a busy machine. */
Test(deploy, every_combination_passes_cfn_lint, .timeout = 600)
{
	char **paths, *out = NULL, *version = NULL;
	struct lint_tally tally;
	size_t n;
	int status;

	if(!have_cfn_lint(&version))
		cr_skip_test("%s", NO_CFN_LINT);
	n = write_combinations(&paths);
	status = cfn_lint_all(paths, n, &tally, &out);
	cr_log_info("%s on %zu combinations: %d errors, %d warnings, %d informational", version, n,
	            tally.errors, tally.warnings, tally.informational);
	cr_expect_eq(tally.errors + tally.warnings + tally.informational, 0,
	             "cfn-lint finds problems:\n%s", out ? out : "");
	cr_expect_eq(status, 0, "cfn-lint exits %d:\n%s", status, out ? out : "");
	free(out);
	free(version);
	free_paths(paths, n);
}

/* The Zip functions name the files `make dist` writes for this version. */
Test(deploy, zip_bundles_are_what_make_dist_writes)
{
	char *text = template_text(), *header = NULL, *h, *makefile = NULL, *mk;
	char version[32] = "";
	size_t len;

	cr_assert_geq(asprintf(&header, "%s/src/imgpipe.h", tu_srcdir()), 0);
	cr_assert_geq(asprintf(&makefile, "%s/Makefile", tu_srcdir()), 0);
	h = tu_read(header, &len);
	mk = tu_read(makefile, &len);
	cr_assert(h && mk);
	cr_assert(strstr(h, "#define IMGP_VERSION \"") &&
	          sscanf(strstr(h, "#define IMGP_VERSION \""), "#define IMGP_VERSION \"%31[^\"]", version) == 1);
	cr_expect(strstr(mk, "imgpipe-$(VERSION)-lambda-$(DIST_ARCH).zip"),
	          "make dist no longer writes dist/imgpipe-VERSION-lambda-ARCH.zip, which the template names");
	for(size_t i = 0; i < 2; i++) {
		static const char *const arch[] = { "x86_64", "aarch64" };
		char *want = NULL;

		cr_assert_geq(asprintf(&want, "CodeUri: ../dist/imgpipe-%s-lambda-%s.zip\n", version,
		                       arch[i]), 0);
		cr_expect(strstr(text, want), "deploy/template.yaml has no \"%s\" (IMGP_VERSION is %s)",
		          want, version);
		free(want);
	}
	free(mk);
	free(h);
	free(makefile);
	free(header);
	free(text);
}
