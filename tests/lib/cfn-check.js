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
 * that exist (and GetAtt attributes the type has); parameter defaults
 * satisfy their own constraints; Rules use only the functions Rules allow;
 * IAM policy actions look like service:Action.
 *
 * --imgpipe adds the deployment's own invariants: the loop guard is wired
 * (IMGPIPE_DEST_BUCKET is the sink, IMGPIPE_SOURCE_BUCKET and _PREFIX the
 * trigger's key space, a Rule keeps the two buckets apart) and the role is
 * least-privilege (no wildcard action or resource, nothing written to the
 * source bucket, nothing deleted).
 *
 * Prints each problem as "TEMPLATE: path: message" and exits 1 if there is
 * any, else prints "TEMPLATE: valid (N resources)" and exits 0.
 */
const fs = require('fs');
const path = require('path');
const yaml = require('js-yaml');

const spec = require('@aws-cdk/cfnspec/spec/specification.json');

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
  return { problems, t };
}

/* --- imgpipe's own invariants ------------------------------------------- */

function imgpipeChecks(t, bad) {
  const res = t.Resources || {};
  const fns = Object.entries(res).filter(([, r]) => r.Type === 'AWS::Serverless::Function' ||
    r.Type === 'AWS::Lambda::Function');
  const refOf = (v) => (v && typeof v === 'object' && typeof v.Ref === 'string' ? v.Ref : null);
  if (fns.length !== 1) return bad('Resources', `expected one imgpipe function, found ${fns.length}`);
  const [fname, fn] = fns[0];
  const env = ((fn.Properties || {}).Environment || {}).Variables || {};
  const dest = refOf(env.IMGPIPE_DEST_BUCKET), src = refOf(env.IMGPIPE_SOURCE_BUCKET);
  const at = `Resources.${fname}.Properties.Environment.Variables`;
  if (!dest) bad(at, 'IMGPIPE_DEST_BUCKET must be a Ref to the sink bucket name');
  if (!src) bad(at, 'IMGPIPE_SOURCE_BUCKET must be a Ref to the source bucket name (the loop guard)');
  if (!('IMGPIPE_SOURCE_PREFIX' in env)) bad(at, 'IMGPIPE_SOURCE_PREFIX must be set (the loop guard)');
  if (dest && src && dest === src) bad(at, 'the destination is the source bucket: a loop');
  const buckets = Object.entries(res).filter(([, r]) => r.Type === 'AWS::S3::Bucket');
  const nameOf = (r) => refOf((r.Properties || {}).BucketName);
  const source = buckets.find(([, r]) => nameOf(r) === src);
  const sink = buckets.find(([, r]) => nameOf(r) === dest);
  if (src && !source) bad('Resources', `no bucket is named by ${src}`);
  if (dest && !sink) bad('Resources', `no bucket is named by ${dest}`);
  if (sink && (sink[1].Properties || {}).NotificationConfiguration)
    bad(`Resources.${sink[0]}`, 'the sink bucket must not notify anything (a loop)');
  /* the two names can never be equal: a Rule says so */
  const rules = JSON.stringify(t.Rules || {});
  if (src && dest && !(rules.includes(`{"Ref":"${src}"}`) && rules.includes(`{"Ref":"${dest}"}`) &&
      rules.includes('Fn::Not')))
    bad('Rules', `no Rule asserts that ${src} and ${dest} differ`);

  /* least privilege */
  const statements = [];
  const collect = (v) => {
    if (Array.isArray(v)) return v.forEach(collect);
    if (v && typeof v === 'object') {
      if ('Effect' in v && ('Action' in v || 'NotAction' in v)) statements.push(v);
      Object.values(v).forEach(collect);
    }
  };
  for (const [, r] of Object.entries(res))
    if (r.Type === 'AWS::IAM::Role' || r.Type === 'AWS::IAM::Policy') collect(r.Properties || {});
  for (const s of statements) {
    if (s.Effect !== 'Allow') continue;
    const acts = [].concat(s.Action || []);
    const resJson = JSON.stringify(s.Resource || '');
    if ('NotAction' in s || 'NotResource' in s) bad('IAM', `${s.Sid || 'a statement'}: NotAction/NotResource`);
    if (acts.some((a) => a === '*' || /^[a-z0-9-]+:\*$/.test(a)))
      bad('IAM', `${s.Sid || 'a statement'}: wildcard action ${acts.join(',')}`);
    if (s.Resource === '*' || (Array.isArray(s.Resource) && s.Resource.includes('*')))
      if (!acts.every((a) => a === 'sts:AssumeRole')) bad('IAM', `${s.Sid || 'a statement'}: Resource "*"`);
    if (src && resJson.includes(`\${${src}}`) &&
        acts.some((a) => /^s3:(Put|Delete|Restore|Replicate)/.test(a)))
      bad('IAM', `${s.Sid || 'a statement'}: writes to the source bucket`);
    if (acts.some((a) => /^s3:Delete/.test(a))) bad('IAM', `${s.Sid || 'a statement'}: deletes objects`);
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
