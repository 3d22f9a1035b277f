'use strict';
/*
 * azblob.js: the reference client of the Azure tests, Microsoft's
 * @azure/storage-blob, against Azurite's development account at PORT.
 * One command per run; what it reads is printed as JSON.
 *
 *   node azblob.js PORT put CONTAINER KEY FILE [CONTENT_TYPE]   → {"etag"}
 *   node azblob.js PORT props CONTAINER KEY    → {"etag", "contentType", "cacheControl",
 *                                                  "contentLength", "lastModified", "metadata"}
 *   node azblob.js PORT list CONTAINER         → [{"name", "etag", "metadata"}...]
 *   node azblob.js PORT get CONTAINER KEY FILE
 *   node azblob.js PORT del CONTAINER KEY
 *   node azblob.js PORT sas                    → a connection string with an account SAS
 *
 * A failure prints the service's error code and exits 1.
 */
const fs = require('fs');
const { BlobServiceClient, StorageSharedKeyCredential, AccountSASPermissions,
        AccountSASResourceTypes, AccountSASServices, generateAccountSASQueryParameters,
        SASProtocol } = require('@azure/storage-blob');

const ACCOUNT = 'devstoreaccount1';
const KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

async function main() {
  const [port, cmd, container, key, file, type] = process.argv.slice(2);
  /* AZURITE_CERT set: Azurite speaks HTTPS with that (self-signed) certificate */
  const https = !!process.env.AZURITE_CERT;
  if (https) process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  const endpoint = `${https ? 'https' : 'http'}://127.0.0.1:${port}/${ACCOUNT}`;
  const cred = new StorageSharedKeyCredential(ACCOUNT, KEY);
  const svc = new BlobServiceClient(endpoint, cred);
  const blob = () => svc.getContainerClient(container).getBlockBlobClient(key);
  switch (cmd) {
  case 'put': {
    const r = await blob().uploadFile(file, type ? { blobHTTPHeaders: { blobContentType: type } } : {});
    console.log(JSON.stringify({ etag: r.etag }));
    break;
  }
  case 'props': {
    const p = await blob().getProperties();
    console.log(JSON.stringify({ etag: p.etag, contentType: p.contentType,
      cacheControl: p.cacheControl, contentLength: p.contentLength,
      lastModified: p.lastModified, metadata: p.metadata }));
    break;
  }
  case 'list': {
    const out = [];
    for await (const b of svc.getContainerClient(container).listBlobsFlat({ includeMetadata: true }))
      out.push({ name: b.name, etag: b.properties.etag, metadata: b.metadata });
    console.log(JSON.stringify(out));
    break;
  }
  case 'get':
    await blob().downloadToFile(file);
    break;
  case 'del':
    await blob().delete();
    break;
  case 'sas': {
    const sas = generateAccountSASQueryParameters({
      expiresOn: new Date(Date.now() + 3600 * 1000),
      permissions: AccountSASPermissions.parse('rwdlc'),
      resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
      services: AccountSASServices.parse('b').toString(),
      protocol: SASProtocol.HttpsAndHttp,
    }, cred).toString();
    console.log(`BlobEndpoint=${endpoint};SharedAccessSignature=${sas}`);
    break;
  }
  default:
    throw new Error(`unknown command ${cmd}`);
  }
}

main().catch((e) => {
  console.error(`azblob.js: ${e.code || ''} ${e.statusCode || ''} ${e.message.split('\n')[0]}`);
  process.exit(1);
});
