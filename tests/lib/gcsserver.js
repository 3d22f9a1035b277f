'use strict';
/*
 * gcsserver.js: a loopback stand-in for Cloud Storage's XML API as a
 * client with an OAuth 2.0 token sees it, for the tests of the metadata
 * server's token (tests/test_serve_gcs.c). s3rver stores the objects;
 * in front of it this file does what Cloud Storage does with a request
 * that carries "Authorization: Bearer TOKEN" rather than an AWS signature:
 *
 *  - the token must be one the test's metadata stand-in issued (its
 *    prefix is GCS_TOKEN_PREFIX); any other is 401 with Cloud Storage's
 *    XML error (AuthenticationRequired);
 *  - custom metadata is x-goog-meta-*, both ways; x-amz-* headers on such
 *    a request are ignored (Cloud Storage reads them only from AWS-signed
 *    requests), so a client that sent x-amz-meta-* with a token would
 *    lose its metadata here, as it would there.
 *
 * Requests signed with SigV4 (the test's own puts and reads) go to
 * s3rver untouched.
 *
 *   GCS_TOKEN_PREFIX=ya29.test node gcsserver.js DIR [BUCKET...]
 *
 * Prints "PORT <n>" once listening; exits when its stdin closes.
 */
const PREFIX = process.env.GCS_TOKEN_PREFIX || 'ya29.';
let bearerRequests = 0;

function refuse(ctx, status, code, message) {
  ctx.status = status;
  ctx.type = 'application/xml';
  ctx.body =
    "<?xml version='1.0' encoding='UTF-8'?>" +
    `<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
}

async function bearer(ctx, next) {
  const auth = ctx.get('authorization');
  if (ctx.path === '/__bearer_requests') {
    ctx.body = String(bearerRequests);
    return;
  }
  if (!/^Bearer /i.test(auth)) return next();
  const token = auth.slice(7).trim();
  if (!token.startsWith(PREFIX)) {
    return refuse(ctx, 401, 'AuthenticationRequired', 'Invalid Credentials');
  }
  bearerRequests++;
  const headers = ctx.req.headers;
  delete headers.authorization;
  for (const name of Object.keys(headers)) {
    if (name.startsWith('x-amz-')) delete headers[name];
  }
  for (const name of Object.keys(headers)) {
    if (name.startsWith('x-goog-meta-')) {
      headers['x-amz-meta-' + name.slice(12)] = headers[name];
      delete headers[name];
    }
  }
  await next();
  for (const [name, value] of Object.entries(ctx.response.headers)) {
    if (name.startsWith('x-amz-meta-')) {
      ctx.remove(name);
      ctx.set('x-goog-meta-' + name.slice(11), value);
    }
  }
}

require('./s3server.js').main('gcsserver', bearer);
