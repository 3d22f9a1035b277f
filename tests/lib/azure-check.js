'use strict';
/*
 * azure-check.js: deploy/azure checked as far as a machine without Azure
 * (and without the Bicep compiler, which npm does not carry) can.
 *
 *   node azure-check.js SETTINGS_FILE FUNCTION_APP_DIR BICEP...
 *
 * SETTINGS_FILE: the names imgpipe reads (settings.c's table), one a line.
 * Prints one line per problem and "checked N" at the end; exits 1 when
 * there was a problem, 2 on bad arguments.
 *
 * The function app: host.json a custom handler running `imgpipe serve`
 * with extension bundle 4 (Flex Consumption wants it); each function's
 * function.json one trigger binding of a type imgpipe's serve reads.
 * Each Bicep file: brackets and quotes balanced outside comments and
 * strings; every resource's type@version from the list below; every
 * setting it gives imgpipe one imgpipe reads; the Event Grid subscription
 * filtered to the upload container's blobs and to the two event types
 * imgpipe reads (so its own writes never trigger it); its Function
 * destination a function of the app with an eventGridTrigger; the
 * identity given Storage Blob Data Contributor; the upload and variant
 * containers different by default.
 */
const fs = require('fs');
const path = require('path');

const KNOWN = {
  'Microsoft.Storage/storageAccounts': '2025-01-01',
  'Microsoft.Storage/storageAccounts/blobServices': '2025-01-01',
  'Microsoft.Storage/storageAccounts/blobServices/containers': '2025-01-01',
  'Microsoft.Storage/storageAccounts/queueServices': '2025-01-01',
  'Microsoft.Storage/storageAccounts/queueServices/queues': '2025-01-01',
  'Microsoft.Insights/components': '2020-02-02',
  'Microsoft.Web/serverfarms': '2024-11-01',
  'Microsoft.Web/sites': '2024-11-01',
  'Microsoft.Authorization/roleAssignments': '2022-04-01',
  'Microsoft.EventGrid/systemTopics': '2025-02-15',
  'Microsoft.EventGrid/systemTopics/eventSubscriptions': '2025-02-15',
  'Microsoft.OperationalInsights/workspaces': '2023-09-01',
  'Microsoft.App/managedEnvironments': '2025-01-01',
  'Microsoft.App/containerApps': '2025-01-01',
};
const BLOB_DATA_CONTRIBUTOR = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe';
const EVENT_TYPES = ['Microsoft.Storage.BlobCreated', 'Microsoft.Storage.BlobDeleted'];
const TRIGGERS = ['eventGridTrigger', 'queueTrigger'];

let checked = 0;
let problems = 0;
function check(ok, what) {
  checked++;
  if (!ok) {
    problems++;
    console.log(what);
  }
}

/* The text with comments and string contents blanked (quotes kept), so
 * that brackets and keywords can be looked at. */
function code(text, file) {
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('//', i)) {
      while (i < text.length && text[i] !== '\n') { out += ' '; i++; }
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      check(end >= 0, `${file}: a comment never ends`);
      const stop = end < 0 ? text.length : end + 2;
      for (; i < stop; i++) out += text[i] === '\n' ? '\n' : ' ';
    } else if (text[i] === "'") {
      out += "'";
      i++;
      while (i < text.length && text[i] !== "'" && text[i] !== '\n') {
        if (text[i] === '\\') { out += ' '; i++; }
        out += ' ';
        i++;
      }
      check(text[i] === "'", `${file}:${text.slice(0, i).split('\n').length}: a string never ends`);
      out += "'";
      i++;
    } else {
      out += text[i];
      i++;
    }
  }
  return out;
}

function balanced(c, file) {
  const stack = [];
  const pairs = { ')': '(', ']': '[', '}': '{' };
  let line = 1;
  for (const ch of c) {
    if (ch === '\n') line++;
    if ('([{'.includes(ch)) stack.push([ch, line]);
    if (')]}'.includes(ch)) {
      const top = stack.pop();
      check(top && top[0] === pairs[ch], `${file}:${line}: '${ch}' closes nothing it opened`);
    }
  }
  check(stack.length === 0, `${file}: ${stack.length} bracket(s) never closed` +
        (stack.length ? ` (line ${stack[stack.length - 1][1]})` : ''));
}

function checkBicep(file, settings, functions) {
  const text = fs.readFileSync(file, 'utf8');
  const base = path.basename(file);
  balanced(code(text, base), base);
  const resources = [...text.matchAll(/^resource\s+(\w+)\s+'([^'@]+)@([^']+)'/gm)];
  check(resources.length > 0, `${base}: no resources`);
  for (const [, name, type, version] of resources)
    check(KNOWN[type] === version, `${base}: resource ${name}: ${type}@${version} is not one ` +
          `of the checked types and versions (${KNOWN[type] || 'unknown type'})`);
  // every setting handed to imgpipe is one imgpipe reads
  const names = [...text.matchAll(/\{\s*name:\s*'([A-Z_][A-Z0-9_]*)'\s*,\s*(value|secretRef):/g)]
    .map((m) => m[1]);
  const ours = names.filter((n) => /^(IMGPIPE_|AZURE_|PORT$|FUNCTIONS_CUSTOMHANDLER)/.test(n));
  check(ours.length >= 5, `${base}: gives imgpipe only ${ours.length} settings`);
  for (const n of ours)
    check(settings.has(n), `${base}: the setting ${n} is not one imgpipe reads (settings.c)`);
  for (const n of ['IMGPIPE_STORE', 'AZURE_STORAGE_ACCOUNT', 'IMGPIPE_SOURCE_BUCKET', 'IMGPIPE_DEST_BUCKET'])
    check(ours.includes(n), `${base}: does not set ${n}`);
  check(/name:\s*'IMGPIPE_STORE',\s*value:\s*'azure'/.test(text), `${base}: IMGPIPE_STORE is not azure`);
  check(!/AZURE_STORAGE_KEY|AZURE_STORAGE_CONNECTION_STRING|AccountKey/.test(text),
        `${base}: a key where the managed identity should do`);
  // containers: upload and variants apart
  const up = /param uploadContainer string = '([^']+)'/.exec(text);
  const down = /param variantContainer string = '([^']+)'/.exec(text);
  check(up && down && up[1] !== down[1], `${base}: the upload and variant containers must differ`);
  // the subscription
  const sub = /resource \w+ 'Microsoft\.EventGrid\/systemTopics\/eventSubscriptions@[^']+' = \{([\s\S]*?)\n\}/.exec(text);
  check(sub, `${base}: no Event Grid subscription`);
  if (sub) {
    const body = sub[1];
    check(/subjectBeginsWith:\s*'\/blobServices\/default\/containers\/\$\{uploadContainer\}\/blobs\/'/.test(body),
          `${base}: the subscription is not filtered to the upload container's blobs`);
    const types = /includedEventTypes:\s*\[([^\]]*)\]/.exec(body);
    const listed = types ? [...types[1].matchAll(/'([^']+)'/g)].map((m) => m[1]) : [];
    check(listed.length === 2 && EVENT_TYPES.every((t) => listed.includes(t)),
          `${base}: the subscription's event types are not ${EVENT_TYPES.join(' and ')}`);
    check(/maxDeliveryAttempts:\s*\d+/.test(body), `${base}: no retry policy`);
    const fn = /resourceId:\s*'\$\{app\.id\}\/functions\/(\w+)'/.exec(body);
    if (/endpointType:\s*'AzureFunction'/.test(body)) {
      check(fn && functions[fn[1]] === 'eventGridTrigger',
            `${base}: the subscription's function ${fn ? fn[1] : '?'} is not an eventGridTrigger function of the app`);
      check(/deadLetter/.test(body), `${base}: no dead-letter destination`);
    } else {
      check(/endpointUrl:\s*'https:\/\/[^']*\?token=\$\{token\}'/.test(body),
            `${base}: the webhook URL does not carry the token`);
    }
  }
  check(text.includes(BLOB_DATA_CONTRIBUTOR) &&
        /principalId:\s*app\.identity\.principalId/.test(text),
        `${base}: the app's identity is not given Storage Blob Data Contributor`);
  check(/identity:\s*\{\s*type:\s*'SystemAssigned'\s*\}/.test(text), `${base}: no system-assigned identity`);
}

function checkFunctionApp(dir) {
  const functions = {};
  const host = JSON.parse(fs.readFileSync(path.join(dir, 'host.json'), 'utf8'));
  const d = host.customHandler && host.customHandler.description;
  check(host.version === '2.0', 'host.json: version is not "2.0"');
  check(d && d.defaultExecutablePath === 'imgpipe', 'host.json: the executable is not imgpipe (the bundle\'s start script)');
  check(d && Array.isArray(d.arguments) && d.arguments.length === 1 && d.arguments[0] === 'serve',
        'host.json: the arguments are not ["serve"]');
  check(host.extensionBundle && host.extensionBundle.id === 'Microsoft.Azure.Functions.ExtensionBundle' &&
        /^\[4\./.test(host.extensionBundle.version), 'host.json: not extension bundle 4 (Flex Consumption needs it)');
  check(!('enableForwardingHttpRequest' in (host.customHandler || {})),
        'host.json: HTTP forwarding is for HTTP-triggered functions only');
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const file = path.join(dir, entry.name, 'function.json');
    check(fs.existsSync(file), `${entry.name}: no function.json`);
    if (!fs.existsSync(file)) continue;
    const fn = JSON.parse(fs.readFileSync(file, 'utf8'));
    const b = fn.bindings || [];
    check(b.length === 1, `${entry.name}: ${b.length} bindings; imgpipe's serve reads one trigger`);
    if (!b.length) continue;
    check(TRIGGERS.includes(b[0].type), `${entry.name}: binding type ${b[0].type} is not one of ${TRIGGERS.join(', ')}`);
    check(b[0].direction === 'in', `${entry.name}: the binding's direction is not "in"`);
    check(/^[A-Za-z_]\w*$/.test(b[0].name || ''), `${entry.name}: the binding has no name`);
    if (b[0].type === 'queueTrigger')
      check(b[0].queueName && b[0].connection, `${entry.name}: a queueTrigger without queueName and connection`);
    check(/^\w+$/.test(entry.name), `${entry.name}: a function's folder name is its URL path: letters, digits, _`);
    functions[entry.name] = b[0].type;
  }
  check(Object.keys(functions).length > 0, 'the function app has no function');
  return functions;
}

const [settingsFile, appDir, ...bicep] = process.argv.slice(2);
if (!settingsFile || !appDir || !bicep.length) {
  console.error('usage: azure-check.js SETTINGS_FILE FUNCTION_APP_DIR BICEP...');
  process.exit(2);
}
const settings = new Set(fs.readFileSync(settingsFile, 'utf8').split('\n').filter(Boolean));
const functions = checkFunctionApp(appDir);
for (const f of bicep) checkBicep(f, settings, functions);
console.log(`checked ${checked}`);
process.exit(problems ? 1 : 0);
