'use strict';
/*
 * placeholder-decode.js: the reference ThumbHash and BlurHash
 * implementations (npm thumbhash and blurhash, pinned by
 * tests/package-lock.json) for tests/test_placeholder.c, which encodes in C
 * and asks these what they make of it.
 *
 *   node placeholder-decode.js thumbhash BASE64
 *   node placeholder-decode.js blurhash HASH W H
 *       decode; prints {"width", "height", "average": [r, g, b, a],
 *       "grid": [[r, g, b, a] x 9], "linear": {"average", "grid"}} where
 *       average is the mean of the decoded pixels (0..255), grid the means
 *       of a 3x3 grid of regions (row by row, region i spanning
 *       floor(i*w/3)..floor((i+1)*w/3)), and linear the same means taken in
 *       linear light, told as sRGB 0..255 (BlurHash's average: its DC term);
 *       for ThumbHash also "aspect" (thumbHashToApproximateAspectRatio) and
 *       "averageRGBA" (thumbHashToAverageRGBA, 0..1)
 *   node placeholder-decode.js --encode thumbhash FILE W H
 *   node placeholder-decode.js --encode blurhash FILE W H XC YC
 *       encode FILE (W*H*4 bytes of RGBA) with the reference encoder;
 *       prints {"hash": ...}, ThumbHash's bytes in base64 and as "bytes", an
 *       array of numbers
 *
 * Exit status 2 on bad usage, 1 when the reference throws.
 */
const fs = require('fs');
const blurhash = require('blurhash');

const GRID = 3;

function usage() {
	process.stderr.write('usage: placeholder-decode.js thumbhash BASE64 | blurhash HASH W H |\n' +
		'       --encode thumbhash FILE W H | --encode blurhash FILE W H XC YC\n');
	process.exit(2);
}

const toLinear = (v) => {
	v /= 255;
	return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
};
const toSRGB = (v) => 255 * (v <= 0.0031308 ? v * 12.92 : 1.055 * Math.pow(v, 1 / 2.4) - 0.055);

/* Mean of each of the 4 bands over the pixels x0..x1, y0..y1 (exclusive);
 * linear: of RGB in linear light, told in sRGB. */
function mean(rgba, w, x0, y0, x1, y1, linear) {
	const sum = [0, 0, 0, 0];
	for (let y = y0; y < y1; y++)
		for (let x = x0; x < x1; x++)
			for (let b = 0; b < 4; b++) {
				const v = rgba[(y * w + x) * 4 + b];
				sum[b] += linear && b < 3 ? toLinear(v) : v;
			}
	const n = (x1 - x0) * (y1 - y0);
	return sum.map((s, b) => linear && b < 3 ? toSRGB(s / n) : s / n);
}

function means(rgba, w, h, linear) {
	const grid = [];
	for (let gy = 0; gy < GRID; gy++)
		for (let gx = 0; gx < GRID; gx++)
			grid.push(mean(rgba, w, Math.floor(gx * w / GRID), Math.floor(gy * h / GRID),
				Math.floor((gx + 1) * w / GRID), Math.floor((gy + 1) * h / GRID), linear));
	return { average: mean(rgba, w, 0, 0, w, h, linear), grid };
}

function describe(rgba, w, h) {
	return { width: w, height: h, ...means(rgba, w, h, false), linear: means(rgba, w, h, true) };
}

function int(s) {
	const n = Number(s);
	if (!Number.isInteger(n) || n < 1)
		usage();
	return n;
}

async function main(argv) {
	const thumbhash = await import('thumbhash');
	let out;

	if (argv[0] === '--encode') {
		const [, kind, file, w, h, xc, yc] = argv;
		const pixels = fs.readFileSync(file);
		if (kind === 'thumbhash' && argv.length === 5) {
			const hash = thumbhash.rgbaToThumbHash(int(w), int(h), new Uint8Array(pixels));
			out = { hash: Buffer.from(hash).toString('base64'), bytes: Array.from(hash) };
		} else if (kind === 'blurhash' && argv.length === 7) {
			out = { hash: blurhash.encode(new Uint8ClampedArray(pixels), int(w), int(h), int(xc), int(yc)) };
		} else {
			usage();
		}
	} else if (argv[0] === 'thumbhash' && argv.length === 2) {
		const hash = new Uint8Array(Buffer.from(argv[1], 'base64'));
		const image = thumbhash.thumbHashToRGBA(hash);
		const avg = thumbhash.thumbHashToAverageRGBA(hash);
		out = describe(image.rgba, image.w, image.h);
		out.aspect = thumbhash.thumbHashToApproximateAspectRatio(hash);
		out.averageRGBA = [avg.r, avg.g, avg.b, avg.a];
	} else if (argv[0] === 'blurhash' && argv.length === 4) {
		const w = int(argv[2]), h = int(argv[3]);
		out = describe(blurhash.decode(argv[1], w, h), w, h);
	} else {
		usage();
	}
	process.stdout.write(JSON.stringify(out) + '\n');
}

main(process.argv.slice(2)).catch((e) => {
	process.stderr.write(`placeholder-decode: ${e && e.message ? e.message : e}\n`);
	process.exit(1);
});
