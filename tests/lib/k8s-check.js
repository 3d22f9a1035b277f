'use strict';
/*
 * k8s-check.js: the Knative manifests of deploy/ (Cloud Run's service.yaml
 * is one too) parsed with js-yaml and held to what Knative requires and to
 * what imgpipe serve needs of them. No Kubernetes or Knative schema package
 * is in the tests' dependencies, so the required fields are checked here,
 * from Knative's API reference: a Service needs metadata.name and
 * spec.template.spec.containers[] with an image; a Trigger needs
 * spec.broker and spec.subscriber (ref or uri).
 *
 *   node k8s-check.js FILE.yaml...     prints "ok FILE" or the problems
 */
const fs = require('fs');
const yaml = require('js-yaml');

const READ_TYPES = [
  'google.cloud.storage.object.v1.finalized',
  'google.cloud.storage.object.v1.deleted',
  'google.cloud.pubsub.topic.v1.messagePublished',
];
let failed = 0;
const services = new Set();
const triggers = [];

function fail(file, msg) {
  console.log(`FAIL ${file}: ${msg}`);
  failed++;
}

function env(container, name) {
  const e = (container.env || []).find(v => v.name === name);
  return e ? e.value : undefined;
}

function checkService(file, doc) {
  const name = doc.metadata && doc.metadata.name;
  const spec = doc.spec && doc.spec.template && doc.spec.template.spec;
  if (!name) return fail(file, 'Service without metadata.name');
  services.add(name);
  if (!spec || !Array.isArray(spec.containers) || spec.containers.length !== 1)
    return fail(file, 'Service without exactly one container in spec.template.spec.containers');
  const c = spec.containers[0];
  if (!c.image) fail(file, 'the container has no image');
  const ports = c.ports || [];
  if (ports.length && !ports.some(p => p.containerPort === 8080))
    fail(file, 'the container port is not 8080, where imgpipe serve listens ($PORT)');
  for (const v of c.env || []) {
    if (typeof v.value !== 'string' && !v.valueFrom)
      fail(file, `env ${v.name} is not a string (quote numbers)`);
  }
  if (!env(c, 'IMGPIPE_DEST_BUCKET')) fail(file, 'no IMGPIPE_DEST_BUCKET');
  const cap = env(c, 'IMGPIPE_SERVE_CONCURRENCY');
  if (spec.containerConcurrency === undefined || cap === undefined)
    fail(file, 'containerConcurrency and IMGPIPE_SERVE_CONCURRENCY must both be set');
  else if (String(spec.containerConcurrency) !== cap)
    fail(file, `containerConcurrency ${spec.containerConcurrency} is not ` +
               `IMGPIPE_SERVE_CONCURRENCY ${cap}: the platform would send what imgpipe refuses`);
  const timeout = env(c, 'IMGPIPE_SERVE_TIMEOUT');
  if (timeout && spec.timeoutSeconds && Number(timeout) >= spec.timeoutSeconds)
    fail(file, 'IMGPIPE_SERVE_TIMEOUT must be under timeoutSeconds, so imgpipe answers first');
  if (env(c, 'IMGPIPE_SERVE_TOKEN')) fail(file, 'a token in plain env: use a Secret');
}

function checkTrigger(file, doc) {
  const spec = doc.spec || {};
  if (!doc.metadata || !doc.metadata.name) fail(file, 'Trigger without metadata.name');
  if (!spec.broker) fail(file, 'Trigger without spec.broker');
  const sub = spec.subscriber || {};
  if (!sub.ref && !sub.uri) return fail(file, 'Trigger without spec.subscriber.ref or uri');
  if (sub.ref && (!sub.ref.apiVersion || !sub.ref.kind || !sub.ref.name))
    fail(file, 'spec.subscriber.ref needs apiVersion, kind and name');
  const type = spec.filter && spec.filter.attributes && spec.filter.attributes.type;
  if (type && !READ_TYPES.includes(type)) fail(file, `imgpipe does not read type ${type}`);
  triggers.push([file, sub.ref && sub.ref.name]);
}

for (const file of process.argv.slice(2)) {
  let docs;
  try {
    docs = yaml.loadAll(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    fail(file, `not YAML: ${e.message}`);
    continue;
  }
  const before = failed;
  for (const doc of docs.filter(Boolean)) {
    const key = `${doc.apiVersion} ${doc.kind}`;
    if (key === 'serving.knative.dev/v1 Service') checkService(file, doc);
    else if (key === 'eventing.knative.dev/v1 Trigger') checkTrigger(file, doc);
    else fail(file, `unexpected ${key}`);
  }
  if (failed === before) console.log(`ok ${file}`);
}
for (const [file, name] of triggers)
  if (name && services.size && !services.has(name)) fail(file, `subscriber ${name} is no Service here`);
process.exit(failed ? 1 : 0);
