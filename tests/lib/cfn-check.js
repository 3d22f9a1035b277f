'use strict';
/*
 * cfn-check.js: validate a CloudFormation / SAM template as far as can be
 * done without an AWS account, against the CloudFormation resource
 * specification (npm @aws-cdk/cfnspec, pinned by tests/package-lock.json;
 * it includes SAM's AWS::Serverless::* types).
 *
 *   node tests/lib/cfn-check.js TEMPLATE [--imgpipe]
 *
 * Checks: the YAML parses with CloudFormation's short-form tags; the
 * top-level sections are known; every resource type exists; every property
 * exists for its type (nested property types too) and every required one is
 * there; primitive values have the right shape; Ref, Fn::GetAtt, Fn::Sub
 * variables, DependsOn, Condition, Fn::If and Fn::FindInMap name things
 * that exist (and GetAtt attributes the type has); SAM's Globals hold
 * properties their type has; parameter defaults satisfy their own
 * constraints; Rules use only the functions Rules allow; IAM policy actions
 * look like service:Action.
 *
 * --imgpipe adds the deployment's own invariants, for every function
 * resource (SAM's Globals included): the loop guard is wired
 * (IMGPIPE_DEST_BUCKET is a Ref to the sink bucket resource,
 * IMGPIPE_SOURCE_BUCKET and _PREFIX the trigger's key space, a Rule keeps
 * the two bucket names apart); the role is least-privilege (no wildcard
 * action or resource, nothing written to the source bucket, nothing
 * deleted, no s3:prefix condition on ListBucket, no grant nothing uses);
 * buckets are retained; the log group has a retention and log levels come
 * only with the JSON format; a queue's maxReceiveCount is at least 5, an
 * event source mapping waits for the role that lets it read, and its
 * default concurrency fits a new account; the failure queue and imgpipe's
 * Failed metric have alarms; each Zip bundle is its function's
 * architecture's; a dashboard's body is JSON.
 *
 * Prints each problem as "TEMPLATE: path: message" and exits 1 if there is
 * any, else prints "TEMPLATE: valid (N resources)" and exits 0.
 */
const fs = require('fs');
const path = require('path');
const yaml = require('js-yaml');

const spec = require('@aws-cdk/cfnspec/spec/specification.json');

/*
 * What the pinned specification (frozen at version 117, when the package
 * was deprecated) is too old to know, added here by hand: Lambda's
 * advanced logging controls (LoggingConfig, November 2023). cfn-lint, which
 * the deploy tests run when it is installed, reads current schemas.
 */
const LATER = {
  LoggingConfig: {
    Properties: {
      ApplicationLogLevel: { PrimitiveType: 'String' },
      LogFormat: { PrimitiveType: 'String' },
      LogGroup: { PrimitiveType: 'String' },
      SystemLogLevel: { PrimitiveType: 'String' },
    },
  },
};
for (const type of ['AWS::Serverless::Function', 'AWS::Lambda::Function']) {
  const rs = spec.ResourceTypes[type];
  for (const [name, ps] of Object.entries(LATER)) {
    if (rs && !(name in rs.Properties)) rs.Properties[name] = { Type: name, Required: false };
    if (!spec.PropertyTypes[`${type}.${name}`]) spec.PropertyTypes[`${type}.${name}`] = ps;
  }
}

/* --- CloudFormation's YAML tags ------------------------------------------ */

const FNS = ['Base64', 'Cidr', 'FindInMap', 'GetAtt', 'GetAZs', 'ImportValue', 'Join',
  'Select', 'Split', 'Sub', 'Transform', 'And', 'Equals', 'If', 'Not', 'Or', 'Contains',
  'EachMemberEquals', 'EachMemberIn', 'RefAll', 'ValueOf', 'ValueOfAll', 'Length', 'ToJsonString'];
const tagTypes = [];
for (const kind of ['scalar', 'sequence', 'mapping']) {
  tagTypes.push(new yaml.Type('!Ref', { kind, construct: (d) => ({ Ref: d }) }));
  tagTypes.push(new yaml.Type('!Condition', { kind, construct: (d) => ({ Condition: d }) }));
  for (const fn of FNS) {
    tagTypes.push(new yaml.Type('!' + fn, {
      kind,
      construct: (d) => ({
        ['Fn::' + fn]: fn === 'GetAtt' && typeof d === 'string'
          ? [d.slice(0, d.indexOf('.')), d.slice(d.indexOf('.') + 1)] : d,
      }),
    }));
  }
}
const SCHEMA = yaml.DEFAULT_SCHEMA.extend(tagTypes);

/* --- the checks ------------------------------------------------------------ */

const PSEUDO = new Set(['AWS::AccountId', 'AWS::NotificationARNs', 'AWS::NoValue',
  'AWS::Partition', 'AWS::Region', 'AWS::StackId', 'AWS::StackName', 'AWS::URLSuffix']);
const SECTIONS = new Set(['AWSTemplateFormatVersion', 'Description', 'Metadata', 'Parameters',
  'Rules', 'Mappings', 'Conditions', 'Transform', 'Resources', 'Outputs', 'Globals']);
const PARAM_TYPES = /^(String|Number|List<Number>|CommaDelimitedList|AWS::[A-Za-z0-9:]+|List<AWS::[A-Za-z0-9:]+>|AWS::SSM::Parameter::Value<.+>)$/;
const RESOURCE_KEYS = new Set(['Type', 'Properties', 'DependsOn', 'Condition', 'Metadata',
  'DeletionPolicy', 'UpdateReplacePolicy', 'UpdatePolicy', 'CreationPolicy']);
const RULE_FNS = new Set(['Fn::And', 'Fn::Contains', 'Fn::EachMemberEquals', 'Fn::EachMemberIn',
  'Fn::Equals', 'Fn::Not', 'Fn::Or', 'Fn::RefAll', 'Fn::ValueOf', 'Fn::ValueOfAll', 'Ref']);
/* attributes SAM adds that the specification does not list */
const SAM_ATTRS = { 'AWS::Serverless::Function': ['Arn'] };

function isIntrinsic(v) {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0] === 'Condition' ||
    keys[0].startsWith('Fn::'));
}

function check(file, opts) {
  const problems = [];
  const bad = (where, msg) => problems.push(`${where}: ${msg}`);
  let t;

  try {
    t = yaml.load(fs.readFileSync(file, 'utf8'), { schema: SCHEMA });
  } catch (e) {
    return { problems: [`does not parse: ${e.message.split('\n')[0]}`], t: null };
  }
  if (!t || typeof t !== 'object') return { problems: ['not a template (no mapping)'], t: null };
  for (const k of Object.keys(t)) if (!SECTIONS.has(k)) bad(k, 'unknown top-level section');
  if (t.AWSTemplateFormatVersion !== undefined && t.AWSTemplateFormatVersion !== '2010-09-09')
    bad('AWSTemplateFormatVersion', 'must be "2010-09-09"');
  const params = t.Parameters || {};
  const resources = t.Resources || {};
  const conditions = t.Conditions || {};
  const mappings = t.Mappings || {};
  if (!Object.keys(resources).length) bad('Resources', 'none');

  /* parameters */
  for (const [name, p] of Object.entries(params)) {
    const at = `Parameters.${name}`;
    if (!p || !PARAM_TYPES.test(String(p.Type))) { bad(at, `unknown Type ${p && p.Type}`); continue; }
    if (p.Default === undefined) continue;
    const d = String(p.Default);
    if (p.AllowedValues && !p.AllowedValues.map(String).includes(d))
      bad(at, `Default ${d} is not one of its AllowedValues`);
    if (p.AllowedPattern && !new RegExp(`^(?:${p.AllowedPattern})$`).test(d))
      bad(at, `Default "${d}" does not match its AllowedPattern`);
    if (p.Type === 'Number') {
      if (Number.isNaN(Number(d))) bad(at, `Default ${d} is not a number`);
      if (p.MinValue !== undefined && Number(d) < p.MinValue) bad(at, 'Default below MinValue');
      if (p.MaxValue !== undefined && Number(d) > p.MaxValue) bad(at, 'Default above MaxValue');
    }
  }

  /* names a Ref or a Sub variable may use */
  const refable = (n) => n in params || n in resources || PSEUDO.has(n);
  const getatt = (where, res, attr) => {
    if (!(res in resources)) return bad(where, `Fn::GetAtt names no resource ${res}`);
    const type = resources[res].Type;
    const known = Object.keys((spec.ResourceTypes[type] || {}).Attributes || {})
      .concat(SAM_ATTRS[type] || []);
    if (spec.ResourceTypes[type] && !known.includes(attr) && !type.startsWith('Custom::'))
      bad(where, `${type} has no attribute ${attr} (it has: ${known.join(', ') || 'none'})`);
  };

  /* every intrinsic anywhere: its references must exist */
  const walk = (v, where, inRule) => {
    if (Array.isArray(v)) return v.forEach((x, i) => walk(x, `${where}[${i}]`, inRule));
    if (!v || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v)) {
      const at = `${where}.${k}`;
      if (inRule && (k === 'Ref' || k.startsWith('Fn::')) && !RULE_FNS.has(k))
        bad(at, `${k} is not allowed in Rules`);
      if (k === 'Ref' && typeof x === 'string' && !refable(x)) bad(at, `Ref to unknown ${x}`);
      if (k === 'Condition' && isIntrinsic(v) && typeof x === 'string' && !(x in conditions))
        bad(at, `unknown condition ${x}`);
      if (k === 'Fn::GetAtt') {
        if (Array.isArray(x) && x.length === 2 && typeof x[0] === 'string') getatt(at, x[0], x[1]);
        else if (!Array.isArray(x) || x.length !== 2) bad(at, 'Fn::GetAtt takes [resource, attribute]');
      }
      if (k === 'Fn::If') {
        if (!Array.isArray(x) || x.length !== 3) bad(at, 'Fn::If takes [condition, then, else]');
        else if (!(x[0] in conditions)) bad(at, `unknown condition ${x[0]}`);
      }
      if (k === 'Fn::FindInMap' && Array.isArray(x)) {
        if (typeof x[0] === 'string' && !(x[0] in mappings)) bad(at, `unknown mapping ${x[0]}`);
        else if (typeof x[0] === 'string' && typeof x[1] === 'string' && !(x[1] in mappings[x[0]]))
          bad(at, `mapping ${x[0]} has no key ${x[1]}`);
      }
      if (k === 'Fn::Sub') {
        const text = Array.isArray(x) ? x[0] : x;
        const vars = Array.isArray(x) && x[1] ? x[1] : {};
        if (typeof text === 'string') {
          for (const m of text.matchAll(/\$\{([^!}][^}]*)\}/g)) {
            const name = m[1].trim();
            if (name in vars) continue;
            if (name.includes('.') && !PSEUDO.has(name)) getatt(at, name.split('.')[0], name.slice(name.indexOf('.') + 1));
            else if (!refable(name)) bad(at, `Fn::Sub variable \${${name}} is unknown`);
          }
        }
      }
      walk(x, at, inRule);
    }
  };
  walk(t.Resources, 'Resources', false);
  walk(t.Globals, 'Globals', false);
  walk(t.Outputs, 'Outputs', false);
  walk(t.Conditions, 'Conditions', false);
  walk(t.Rules, 'Rules', true);

  /* resources against the specification */
  const checkValue = (type, prop, pspec, value, where) => {
    if (value === undefined || value === null) return;
    if (isIntrinsic(value)) return;
    const primitive = (ptype, v, at) => {
      if (isIntrinsic(v)) return;
      const ok = {
        String: () => ['string', 'number', 'boolean'].includes(typeof v),
        Integer: () => Number.isInteger(Number(v)) && typeof v !== 'object',
        Long: () => Number.isInteger(Number(v)) && typeof v !== 'object',
        Double: () => !Number.isNaN(Number(v)) && typeof v !== 'object',
        Boolean: () => v === true || v === false || v === 'true' || v === 'false',
        Timestamp: () => typeof v === 'string',
        Json: () => typeof v === 'object' || typeof v === 'string',
      }[ptype];
      if (ok && !ok()) bad(at, `expected ${ptype}, got ${JSON.stringify(v)}`);
    };
    const sub = (itemType) => {
      const key = `${type}.${itemType}`;
      return spec.PropertyTypes[key] || spec.PropertyTypes[itemType];
    };
    const object = (ptypeName, v, at) => {
      if (isIntrinsic(v)) return;
      const ps = sub(ptypeName);
      if (!ps) return;     /* a type the spec describes no further */
      if (ps.PrimitiveType) return primitive(ps.PrimitiveType, v, at);
      if (typeof v !== 'object' || Array.isArray(v)) return bad(at, `expected ${ptypeName}, an object`);
      checkProps(type, ps.Properties || {}, v, at);
    };
    const items = (v, at, fn) => {
      if (Array.isArray(v)) v.forEach((x, i) => fn(x, `${at}[${i}]`));
      else bad(at, 'expected a list');
    };
    const entries = (v, at, fn) => {
      if (typeof v === 'object' && !Array.isArray(v)) Object.entries(v).forEach(([k, x]) => fn(x, `${at}.${k}`));
      else bad(at, 'expected a map');
    };
    if (pspec.PrimitiveType) return primitive(pspec.PrimitiveType, value, where);
    /* SAM's unions (e.g. Policies: string, list or document) are not checked deeper */
    if (pspec.PrimitiveTypes || pspec.Types || pspec.ItemTypes || pspec.InclusivePrimitiveItemTypes) return;
    if (pspec.Type === 'List') {
      if (pspec.PrimitiveItemType) return items(value, where, (x, at) => primitive(pspec.PrimitiveItemType, x, at));
      return items(value, where, (x, at) => object(pspec.ItemType, x, at));
    }
    if (pspec.Type === 'Map') {
      if (pspec.PrimitiveItemType) return entries(value, where, (x, at) => primitive(pspec.PrimitiveItemType, x, at));
      return entries(value, where, (x, at) => object(pspec.ItemType, x, at));
    }
    if (pspec.Type) return object(pspec.Type, value, where);
  };
  const checkProps = (type, known, props, where) => {
    if (isIntrinsic(props)) return;
    for (const [k, v] of Object.entries(props)) {
      if (k === 'Fn::If') continue;
      if (!(k in known)) { bad(`${where}.${k}`, `${type} has no property ${k}`); continue; }
      /* a property whose value is Fn::If: check both branches */
      if (v && typeof v === 'object' && !Array.isArray(v) && 'Fn::If' in v && Array.isArray(v['Fn::If'])) {
        for (const branch of v['Fn::If'].slice(1)) checkValue(type, k, known[k], branch, `${where}.${k}`);
        continue;
      }
      checkValue(type, k, known[k], v, `${where}.${k}`);
    }
    for (const [k, ps] of Object.entries(known))
      if (ps.Required && !(k in props)) bad(where, `${type} requires ${k}`);
  };
  for (const [name, r] of Object.entries(resources)) {
    const at = `Resources.${name}`;
    if (!r || typeof r !== 'object') { bad(at, 'not a mapping'); continue; }
    for (const k of Object.keys(r)) if (!RESOURCE_KEYS.has(k)) bad(at, `unknown resource attribute ${k}`);
    if (r.Condition !== undefined && !(r.Condition in conditions)) bad(at, `unknown condition ${r.Condition}`);
    for (const d of [].concat(r.DependsOn || []))
      if (!(d in resources)) bad(`${at}.DependsOn`, `no resource ${d}`);
    const rs = spec.ResourceTypes[r.Type];
    if (!rs) {
      if (!String(r.Type).startsWith('Custom::')) bad(`${at}.Type`, `unknown resource type ${r.Type}`);
      continue;
    }
    if (String(r.Type).startsWith('AWS::Serverless::') && t.Transform !== 'AWS::Serverless-2016-10-31' &&
        !(Array.isArray(t.Transform) && t.Transform.includes('AWS::Serverless-2016-10-31')))
      bad(`${at}.Type`, `${r.Type} needs Transform: AWS::Serverless-2016-10-31`);
    checkProps(r.Type, rs.Properties || {}, r.Properties || {}, `${at}.Properties`);
  }

  /* SAM's Globals: each section holds properties of its resource type */
  const GLOBAL_TYPES = { Function: 'AWS::Serverless::Function', Api: 'AWS::Serverless::Api',
    HttpApi: 'AWS::Serverless::HttpApi', SimpleTable: 'AWS::Serverless::SimpleTable',
    StateMachine: 'AWS::Serverless::StateMachine', LayerVersion: 'AWS::Serverless::LayerVersion' };
  for (const [section, props] of Object.entries(t.Globals || {})) {
    const type = GLOBAL_TYPES[section];
    const rs = type && spec.ResourceTypes[type];
    if (!type) { bad(`Globals.${section}`, 'unknown Globals section'); continue; }
    if (!rs || !props || typeof props !== 'object') continue;
    /* Globals add to each resource: nothing in them is required */
    const known = Object.fromEntries(Object.entries(rs.Properties || {})
      .map(([k, ps]) => [k, { ...ps, Required: false }]));
    checkProps(type, known, props, `Globals.${section}`);
  }

  /* IAM actions */
  const actions = (v, where) => {
    if (Array.isArray(v)) return v.forEach((x, i) => actions(x, `${where}[${i}]`));
    if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if ((k === 'Action' || k === 'NotAction'))
          for (const a of [].concat(x)) {
            if (typeof a === 'string' && a !== '*' && !/^[a-z0-9-]+:[A-Za-z0-9*]+$/.test(a))
              bad(`${where}.${k}`, `"${a}" is not an IAM action (service:Action)`);
          }
        actions(x, `${where}.${k}`);
      }
    }
  };
  actions(resources, 'Resources');

  if (opts.imgpipe) imgpipeChecks(t, bad);
  /* a fault in Globals shows once, not once per function */
  return { problems: [...new Set(problems)], t };
}

/* --- imgpipe's own invariants ------------------------------------------- */

const refOf = (v) => (v && typeof v === 'object' && typeof v.Ref === 'string' ? v.Ref : null);
const ifOf = (v) => (v && typeof v === 'object' && Array.isArray(v['Fn::If']) ? v['Fn::If'] : null);
/* the names an intrinsic refers to (Ref, GetAtt), through every Fn::If branch */
const namesIn = (v) => {
  const out = new Set();
  const go = (x) => {
    if (Array.isArray(x)) return x.forEach(go);
    if (!x || typeof x !== 'object') return;
    if (typeof x.Ref === 'string') out.add(x.Ref);
    if (Array.isArray(x['Fn::GetAtt'])) out.add(x['Fn::GetAtt'][0]);
    Object.values(x).forEach(go);
  };
  go(v);
  return out;
};

function imgpipeChecks(t, bad) {
  const res = t.Resources || {};
  const params = t.Parameters || {};
  const conditions = t.Conditions || {};
  const fns = Object.entries(res).filter(([, r]) => r.Type === 'AWS::Serverless::Function' ||
    r.Type === 'AWS::Lambda::Function');
  if (!fns.length) return bad('Resources', 'no imgpipe function');
  const globals = ((t.Globals || {}).Function) || {};
  const buckets = Object.entries(res).filter(([, r]) => r.Type === 'AWS::S3::Bucket');
  const nameOf = (r) => refOf((r.Properties || {}).BucketName);
  /* the bucket a Ref names: the resource itself, or the one its parameter names */
  const bucketOf = (ref) => buckets.find(([n, r]) => n === ref || nameOf(r) === ref);
  let source, sink;

  /* the loop guard, in every function (Globals and its own variables) */
  for (const [fname, fn] of fns) {
    const own = ((fn.Properties || {}).Environment || {}).Variables;
    const env = { ...((globals.Environment || {}).Variables || {}), ...(own || {}) };
    const at = own ? `Resources.${fname}.Properties.Environment.Variables`
      : 'Globals.Function.Environment.Variables';
    const dest = refOf(env.IMGPIPE_DEST_BUCKET), src = refOf(env.IMGPIPE_SOURCE_BUCKET);
    /* the bucket, not its name: CloudFormation then makes the bucket first */
    if (!dest || !(dest in res)) bad(at, 'IMGPIPE_DEST_BUCKET must be a Ref to the sink bucket resource');
    if (!src) bad(at, 'IMGPIPE_SOURCE_BUCKET must be a Ref to the source bucket name (the loop guard)');
    if (!('IMGPIPE_SOURCE_PREFIX' in env)) bad(at, 'IMGPIPE_SOURCE_PREFIX must be set (the loop guard)');
    if (!('IMGPIPE_METRICS_NAMESPACE' in env)) bad(at, 'IMGPIPE_METRICS_NAMESPACE must be set (the alarms read it)');
    const d = dest && bucketOf(dest), s = src && bucketOf(src);
    if (src && !s) bad('Resources', `no bucket is named by ${src}`);
    if (dest && !d) bad('Resources', `no bucket is named by ${dest}`);
    if (d && s && d[0] === s[0]) bad(at, 'the destination is the source bucket: a loop');
    if (d && s && d[0] !== s[0]) { source = s; sink = d; }
  }
  if (sink && (sink[1].Properties || {}).NotificationConfiguration)
    bad(`Resources.${sink[0]}`, 'the sink bucket must not notify anything (a loop)');
  /* the two names can never be equal: a Rule says so */
  const rules = JSON.stringify(t.Rules || {});
  if (source && sink) {
    const a = nameOf(source[1]), b = nameOf(sink[1]);
    if (!(a && b && rules.includes(`{"Ref":"${a}"}`) && rules.includes(`{"Ref":"${b}"}`) &&
        rules.includes('Fn::Not')))
      bad('Rules', `no Rule asserts that ${a} and ${b} differ`);
  }

  /* images outlive the stack */
  for (const [n, r] of buckets)
    if (r.DeletionPolicy !== 'Retain' || r.UpdateReplacePolicy !== 'Retain')
      bad(`Resources.${n}`, 'a bucket must have DeletionPolicy and UpdateReplacePolicy Retain (deleting the stack must not delete images)');

  /* logs: a log group with a retention, named by every function */
  for (const [fname, fn] of fns) {
    const own = (fn.Properties || {}).LoggingConfig;
    const lc = { ...(globals.LoggingConfig || {}), ...(own || {}) };
    const at = own ? `Resources.${fname}.Properties.LoggingConfig` : 'Globals.Function.LoggingConfig';
    const group = refOf(lc.LogGroup);
    if (!group || !res[group] || res[group].Type !== 'AWS::Logs::LogGroup')
      bad(at, 'LogGroup must be a Ref to the stack\'s AWS::Logs::LogGroup');
    else if (!(res[group].Properties || {}).RetentionInDays)
      bad(`Resources.${group}`, 'the log group needs RetentionInDays');
    /* Lambda takes the log levels only with the JSON format */
    const format = lc.LogFormat;
    for (const level of ['ApplicationLogLevel', 'SystemLogLevel']) {
      if (!(level in lc) || format === 'JSON') continue;
      const cond = ifOf(lc[level]) && conditions[ifOf(lc[level])[0]];
      const eq = cond && cond['Fn::Equals'];
      const guarded = Array.isArray(eq) && refOf(format) &&
        JSON.stringify(eq) === JSON.stringify([{ Ref: refOf(format) }, 'JSON']) &&
        JSON.stringify(ifOf(lc[level])[2]) === '{"Ref":"AWS::NoValue"}';
      if (!guarded) bad(at, `${level} needs LogFormat JSON: make it an Fn::If on LogFormat being JSON, else AWS::NoValue`);
    }
  }

  /* the bundles: each Zip function's architecture is its file's */
  for (const [fname, fn] of fns) {
    const p = fn.Properties || {};
    if (p.PackageType === 'Image' || typeof p.CodeUri !== 'string') continue;
    const arch = [].concat(p.Architectures || ['x86_64'])[0];
    const want = { x86_64: '-x86_64.zip', arm64: '-aarch64.zip' }[arch];
    if (!want || !p.CodeUri.endsWith(want))
      bad(`Resources.${fname}.Properties.CodeUri`, `${p.CodeUri} is not the ${arch} bundle (…${want})`);
  }

  /* least privilege */
  const statements = [];
  const collect = (v, owner) => {
    if (Array.isArray(v)) return v.forEach((x) => collect(x, owner));
    if (v && typeof v === 'object') {
      if ('Effect' in v && ('Action' in v || 'NotAction' in v)) statements.push([owner, v]);
      Object.values(v).forEach((x) => collect(x, owner));
    }
  };
  for (const [n, r] of Object.entries(res))
    if (r.Type === 'AWS::IAM::Role' || r.Type === 'AWS::IAM::Policy') collect(r.Properties || {}, n);
  const srcName = source && nameOf(source[1]);
  for (const [, s] of statements) {
    if (s.Effect !== 'Allow') continue;
    const acts = [].concat(s.Action || []);
    const sid = s.Sid || 'a statement';
    const resJson = JSON.stringify(s.Resource || '');
    if ('NotAction' in s || 'NotResource' in s) bad('IAM', `${sid}: NotAction/NotResource`);
    if (acts.some((a) => a === '*' || /^[a-z0-9-]+:\*$/.test(a)))
      bad('IAM', `${sid}: wildcard action ${acts.join(',')}`);
    if (s.Resource === '*' || (Array.isArray(s.Resource) && s.Resource.includes('*')))
      if (!acts.every((a) => a === 'sts:AssumeRole')) bad('IAM', `${sid}: Resource "*"`);
    if (srcName && resJson.includes(`\${${srcName}}`) &&
        acts.some((a) => /^s3:(Put|Delete|Restore|Replicate)/.test(a)))
      bad('IAM', `${sid}: writes to the source bucket`);
    if (acts.some((a) => /^s3:Delete/.test(a))) bad('IAM', `${sid}: deletes objects`);
    /* S3's implicit ListBucket check on a GET or HEAD of a missing key
     * carries no prefix: with one, a deleted upload answers 403, not 404 */
    if (acts.includes('s3:ListBucket') && JSON.stringify(s.Condition || {}).includes('s3:prefix'))
      bad('IAM', `${sid}: an s3:prefix condition on s3:ListBucket, which S3's check for a missing key never matches`);
    /* Lambda's SQS poller changes no visibility on the function's behalf */
    if (acts.includes('sqs:ChangeMessageVisibility'))
      bad('IAM', `${sid}: sqs:ChangeMessageVisibility, which nothing here calls`);
  }

  /* queues: throttled receives count, so at least 5 before the failure queue */
  const atLeast = (v, min) => {
    const p = refOf(v) && params[refOf(v)];
    if (p) return p.MinValue !== undefined && Number(p.MinValue) >= min && Number(p.Default) >= min;
    return Number(v) >= min;
  };
  for (const [n, r] of Object.entries(res)) {
    if (r.Type !== 'AWS::SQS::Queue') continue;
    const rp = (r.Properties || {}).RedrivePolicy;
    if (rp && typeof rp === 'object' && !atLeast(rp.maxReceiveCount, 5))
      bad(`Resources.${n}.Properties.RedrivePolicy`, 'maxReceiveCount must be at least 5 (AWS\'s guidance: throttled receives count)');
  }
  /* an event source mapping waits for the grant to read its queue */
  const granting = new Set(statements.filter(([, s]) => s.Effect === 'Allow' &&
    [].concat(s.Action || []).includes('sqs:ReceiveMessage')).map(([owner]) => owner));
  for (const [n, r] of Object.entries(res)) {
    if (r.Type !== 'AWS::Lambda::EventSourceMapping') continue;
    const deps = [].concat(r.DependsOn || []);
    if (![...granting].some((g) => deps.includes(g)))
      bad(`Resources.${n}.DependsOn`, `must name ${[...granting].join(' or ') || 'the role that grants sqs:ReceiveMessage'} (IAM changes propagate after the role's ARN is known)`);
    const mc = ((r.Properties || {}).ScalingConfig || {}).MaximumConcurrency;
    const def = refOf(mc) && params[refOf(mc)] ? params[refOf(mc)].Default : mc;
    if (def !== undefined && Number(def) > 10)
      bad(`Resources.${n}.Properties.ScalingConfig`, `MaximumConcurrency ${def} by default, above the 10 concurrent executions of a new account`);
  }

  /* alarms: the failure queue's depth, and imgpipe's Failed metric */
  const alarms = Object.entries(res).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm');
  const failureQueues = new Set();
  for (const [, r] of Object.entries(res))
    if (r.Type === 'AWS::Lambda::EventInvokeConfig')
      namesIn((((r.Properties || {}).DestinationConfig || {}).OnFailure || {}).Destination)
        .forEach((q) => failureQueues.add(q));
  for (const q of failureQueues) {
    const watched = alarms.some(([, a]) => (a.Properties || {}).MetricName === 'ApproximateNumberOfMessagesVisible' &&
      namesIn((a.Properties || {}).Dimensions).has(q));
    if (!watched) bad('Resources', `no alarm on the depth of the failure queue ${q}`);
  }
  const envNs = refOf(((globals.Environment || {}).Variables || {}).IMGPIPE_METRICS_NAMESPACE);
  const failedAlarm = alarms.some(([, a]) => JSON.stringify((a.Properties || {}).Metrics || [])
    .match(/SUM\(Failed\) FROM SCHEMA\(\\"\$\{([^}]+)\}\\", Trigger\)/) &&
    JSON.stringify(a.Properties.Metrics).includes(`\${${envNs}}`));
  if (!failedAlarm)
    bad('Resources', 'no alarm on imgpipe\'s Failed metric, summed over Trigger, in the namespace IMGPIPE_METRICS_NAMESPACE names');

  /* each dashboard's body is JSON, whichever branch its variables take */
  for (const [n, r] of Object.entries(res)) {
    if (r.Type !== 'AWS::CloudWatch::Dashboard') continue;
    const body = (r.Properties || {}).DashboardBody;
    const sub = body && body['Fn::Sub'];
    const text = Array.isArray(sub) ? sub[0] : sub;
    if (typeof text !== 'string') continue;
    const vars = Array.isArray(sub) && sub[1] ? sub[1] : {};
    const fill = (s) => s.replace(/\$\{([^!}][^}]*)\}/g, '1');
    /* every variable as each of its Fn::If branches, the rest as 1 */
    let variants = [{}];
    for (const [k, v] of Object.entries(vars)) {
      const branches = ifOf(v) ? ifOf(v).slice(1) : [v];
      const values = branches.map((b) => (typeof b === 'string' ? fill(b)
        : b && typeof b['Fn::Sub'] === 'string' ? fill(b['Fn::Sub']) : '1'));
      variants = variants.flatMap((o) => values.map((x) => ({ ...o, [k]: x })));
    }
    for (const values of variants) {
      const json = text.replace(/\$\{([^!}][^}]*)\}/g, (m, name) => (name in values ? values[name] : '1'));
      try {
        JSON.parse(json);
      } catch (e) {
        bad(`Resources.${n}.Properties.DashboardBody`, `not JSON: ${e.message}`);
        break;
      }
    }
  }
}

/* --- main ------------------------------------------------------------------ */

function main() {
  const args = process.argv.slice(2);
  const imgpipe = args.includes('--imgpipe');
  const files = args.filter((a) => !a.startsWith('--'));
  if (!files.length) {
    process.stderr.write('usage: node cfn-check.js TEMPLATE... [--imgpipe]\n');
    process.exit(2);
  }
  let failed = false;
  for (const file of files) {
    const { problems, t } = check(file, { imgpipe });
    const name = path.relative(process.cwd(), file) || file;
    for (const p of problems) process.stdout.write(`${name}: ${p}\n`);
    if (problems.length) failed = true;
    else process.stdout.write(`${name}: valid (${Object.keys(t.Resources).length} resources, ` +
      `CloudFormation specification ${spec.ResourceSpecificationVersion})\n`);
  }
  process.exit(failed ? 1 : 0);
}

main();
