'use strict';
/*
 * azurite.js: Azurite, Microsoft's Azure Storage emulator (npm, pinned in
 * tests/package-lock.json), as the Blob service of the tests: on 127.0.0.1,
 * a port the kernel picks, its data in DIR, with the CONTAINERs made by
 * the official @azure/storage-blob client.
 *
 *   node azurite.js DIR [CONTAINER...]
 *
 * With AZURITE_CERT and AZURITE_KEY (PEM files) it speaks HTTPS and takes
 * bearer tokens too. Prints "PORT <n>" once the containers exist; exits (and stops Azurite)
 * when its stdin closes, so a test process that dies takes it along.
 * Azurite checks Shared Key signatures and SAS tokens itself.
 * --skipApiVersionCheck: the reference client speaks a newer x-ms-version
 * than this Azurite knows; imgpipe pins 2021-08-06, which it does.
 */
const { spawn } = require('child_process');
const net = require('net');
const path = require('path');
const { BlobServiceClient } = require('@azure/storage-blob');

const ACCOUNT = 'devstoreaccount1';
const KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function main() {
  const [dir, ...containers] = process.argv.slice(2);
  const port = await freePort();
  const main = path.join(path.dirname(require.resolve('azurite/package.json')),
                         'dist', 'src', 'blob', 'main.js');
  /* AZURITE_CERT and AZURITE_KEY: HTTPS, and bearer tokens checked the
   * way Azurite's "basic" OAuth does (issuer, audience, lifetime) */
  const tls = process.env.AZURITE_CERT && process.env.AZURITE_KEY;
  const args = [main, '--blobHost', '127.0.0.1', '--blobPort', String(port), '--location', dir,
                '--disableTelemetry', '--skipApiVersionCheck', '--silent'];
  if (tls) {
    args.push('--cert', process.env.AZURITE_CERT, '--key', process.env.AZURITE_KEY, '--oauth', 'basic');
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';   /* this script's own calls only */
  }
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const died = (code) => { process.stderr.write(`azurite exited: ${code}\n`); process.exit(1); };
  /* Azurite dies before this does, so that its folder can go at once
   * (a SIGTERM would let it save its database into a removed folder) */
  const stop = () => {
    child.off('exit', died);
    child.on('exit', () => process.exit(0));
    child.kill('SIGKILL');
  };
  child.on('exit', died);
  process.on('SIGTERM', stop);
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
  const svc = BlobServiceClient.fromConnectionString(
    `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${KEY};` +
    `BlobEndpoint=${tls ? 'https' : 'http'}://127.0.0.1:${port}/${ACCOUNT};`);
  for (let i = 0; ; i++) {
    try {
      for (const c of containers) await svc.getContainerClient(c).createIfNotExists();
      break;
    } catch (e) {
      if (i > 100) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  process.stdout.write(`PORT ${port}\n`);
}

main().catch((e) => { process.stderr.write(`azurite.js: ${e.message}\n`); process.exit(1); });
