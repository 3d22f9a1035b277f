'use strict';
/*
 * s3server.js: s3rver, the S3-compatible server of the tests, on 127.0.0.1
 * with a port the kernel picks, and with SigV4 signatures really checked.
 *
 *   node s3server.js DIR [BUCKET...]
 *
 * Prints "PORT <n>" once listening. Exits when its stdin closes, so a test
 * process that dies takes its server with it.
 *
 * Why the check lives here: s3rver 3.7.1 verifies an access key for a SigV4
 * request but not the signature (lib/middleware/authentication.js: "Signature
 * version 4 calculation is unimplemeneted"). This file puts an independent
 * SigV4 verification (node's crypto, written from AWS's description, not
 * from imgpipe's C) in front of s3rver's own middleware: a request whose
 * signature does not match gets S3's 403 SignatureDoesNotMatch. The payload
 * hash is taken from x-amz-content-sha256 as signed, not recomputed.
 */
const crypto = require('crypto');

/*
 * s3rver makes ListObjectsV2 continuation tokens with single DES, which
 * OpenSSL 3 keeps in its legacy provider: paging then fails with
 * ERR_OSSL_EVP_UNSUPPORTED. Triple DES with one key three times is single
 * DES, and it is in the default provider, so swap it in.
 */
for (const name of ['createCipheriv', 'createDecipheriv']) {
  const original = crypto[name];
  crypto[name] = (algorithm, key, iv, options) =>
    algorithm === 'des'
      ? original('des-ede3-cbc', Buffer.concat([key, key, key]), iv, options)
      : original(algorithm, key, iv, options);
}

const S3rver = require('s3rver');

const SECRETS = { S3RVER: 'S3RVER' };   /* s3rver's built-in account */

function uriEncode(buf, keepSlash) {
  let out = '';
  for (const b of buf) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/* Percent-decode to bytes (tolerant: a stray '%' stays). */
function percentDecode(s) {
  const bytes = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%' && /^[0-9a-fA-F]{2}$/.test(s.substr(i + 1, 2))) {
      bytes.push(parseInt(s.substr(i + 1, 2), 16));
      i += 2;
    } else {
      for (const b of Buffer.from(s[i], 'utf8')) bytes.push(b);
    }
  }
  return Buffer.from(bytes);
}

function canonicalUri(rawPath) {
  return rawPath.split('/').map(seg => uriEncode(percentDecode(seg), false)).join('/');
}

function canonicalQuery(rawQuery) {
  if (!rawQuery) return '';
  return rawQuery
    .split('&')
    .filter(Boolean)
    .map(p => {
      const eq = p.indexOf('=');
      const name = eq < 0 ? p : p.slice(0, eq);
      const value = eq < 0 ? '' : p.slice(eq + 1);
      return [uriEncode(percentDecode(name)), uriEncode(percentDecode(value))];
    })
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([n, v]) => `${n}=${v}`)
    .join('&');
}

function hmac(key, text) {
  return crypto.createHmac('sha256', key).update(text, 'utf8').digest();
}

function refuse(ctx, code, message) {
  const id = crypto.randomBytes(8).toString('hex').toUpperCase();
  ctx.status = 403;
  ctx.set('x-amz-request-id', id);
  ctx.type = 'application/xml';
  ctx.body =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${code}</Code><Message>${message}</Message>` +
    `<RequestId>${id}</RequestId></Error>`;
}

async function verifySigV4(ctx, next) {
  const auth = ctx.get('authorization');
  if (!auth.startsWith('AWS4-HMAC-SHA256 ')) return next();
  const parts = {};
  for (const kv of auth.slice(17).split(',')) {
    const eq = kv.indexOf('=');
    parts[kv.slice(0, eq).trim()] = kv.slice(eq + 1).trim();
  }
  const [accessKey, date, region, service, term] = (parts.Credential || '').split('/');
  const secret = SECRETS[accessKey];
  if (!secret) return next();  /* s3rver answers InvalidAccessKeyId */
  const signed = (parts.SignedHeaders || '').split(';');
  const amzDate = ctx.get('x-amz-date');
  if (!signed.includes('host') || term !== 'aws4_request' || !amzDate.startsWith(date)) {
    return refuse(ctx, 'AuthorizationHeaderMalformed', 'The authorization header is malformed.');
  }
  const raw = ctx.req.url;
  const q = raw.indexOf('?');
  const headers = signed
    .map(name => {
      const v = ctx.req.headers[name];
      return `${name}:${String(v === undefined ? '' : v).trim().replace(/\s+/g, ' ')}\n`;
    })
    .join('');
  const canonical = [
    ctx.method,
    canonicalUri(q < 0 ? raw : raw.slice(0, q)),
    canonicalQuery(q < 0 ? '' : raw.slice(q + 1)),
    headers,
    signed.join(';'),
    ctx.get('x-amz-content-sha256'),
  ].join('\n');
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    `${date}/${region}/${service}/aws4_request`,
    crypto.createHash('sha256').update(canonical, 'utf8').digest('hex'),
  ].join('\n');
  const key = hmac(hmac(hmac(hmac('AWS4' + secret, date), region), service), 'aws4_request');
  const expected = hmac(key, stringToSign).toString('hex');
  if (expected !== parts.Signature) {
    return refuse(
      ctx,
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. ' +
        'Check your key and signing method.',
    );
  }
  /*
   * s3rver's router cannot match an empty path segment, so a key with "//"
   * would be a 404 there; now that the signature is checked on the path as
   * sent, spell each "//" as "/%2F", which its router decodes back.
   */
  if (ctx.path.includes('//')) ctx.path = ctx.path.replace(/\/\//g, '/%2F');
  return next();
}

/*
 * s3rver on 127.0.0.1 with middleware in front of its own, over DIR with
 * BUCKETs made (argv): prints "PORT <n>" once listening, exits when stdin
 * closes. gcsserver.js runs the same with its own middleware.
 */
async function serve(name, middleware) {
  const [directory, ...buckets] = process.argv.slice(2);
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: !process.env.S3SERVER_VERBOSE,
    directory,
    vhostBuckets: false,
    configureBuckets: buckets.map(name => ({ name })),
  });
  server.middleware.unshift(middleware);
  const { port } = await server.run();
  process.stdout.write(`PORT ${port}\n`);
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}

function main(name, middleware) {
  serve(name, middleware).catch(err => {
    process.stderr.write(`${name}: ${err.stack || err}\n`);
    process.exit(1);
  });
}

module.exports = { main };

if (require.main === module) main('s3server', verifySigV4);
