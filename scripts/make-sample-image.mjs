// Renders the sample site's picture (htdocs-sample/image.jpg) in headless Chromium.
// The drawing is an inline SVG made here: no image is taken from elsewhere and no network is used.
// Usage: node scripts/make-sample-image.mjs [output.jpg]
import { mkdir, stat } from 'node:fs/promises';
import { log } from 'node:console';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { launchChromium } from '../test/browser/chromium.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const output = path.resolve(process.argv[2] ?? path.join(root, 'htdocs-sample', 'image.jpg'));
const width = 640;
const height = 400;

/** Little stars scattered with a fixed seed, so the picture is the same on every run. */
function stars(count) {
  let seed = 20240611;
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const out = [];
  for (let i = 0; i < count; i += 1) {
    const x = (next() * width).toFixed(1);
    const y = (next() * height * 0.55).toFixed(1);
    const r = (0.6 + next() * 1.6).toFixed(2);
    const o = (0.35 + next() * 0.6).toFixed(2);
    out.push(`<circle cx="${x}" cy="${y}" r="${r}" fill="#fff" opacity="${o}"/>`);
  }
  return out.join('');
}

const svg = `
<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
  <defs>
    <linearGradient id="sky" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="#0f1f4d"/>
      <stop offset="0.55" stop-color="#3b4fb8"/>
      <stop offset="1" stop-color="#f59e5b"/>
    </linearGradient>
    <radialGradient id="glass" cx="0.4" cy="0.35" r="0.75">
      <stop offset="0" stop-color="#bfe3ff"/>
      <stop offset="0.6" stop-color="#3a86c8"/>
      <stop offset="1" stop-color="#123a6b"/>
    </radialGradient>
    <linearGradient id="sea" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="#1e6fa8"/>
      <stop offset="1" stop-color="#0b2f52"/>
    </linearGradient>
    <clipPath id="window"><circle cx="470" cy="200" r="118"/></clipPath>
  </defs>
  <rect width="${width}" height="${height}" fill="url(#sky)"/>
  ${stars(70)}
  <circle cx="120" cy="90" r="34" fill="#ffe9a8" opacity="0.9"/>
  <path d="M0 300 Q 80 270 160 300 T 320 300 T 480 300 T 640 300 V 400 H 0 Z" fill="#13507f" opacity="0.85"/>
  <path d="M0 330 Q 80 305 160 330 T 320 330 T 480 330 T 640 330 V 400 H 0 Z" fill="#0d3a63"/>
  <g transform="translate(505 200) scale(0.92) translate(-470 -200)">
  <g clip-path="url(#window)">
    <rect x="340" y="70" width="260" height="260" fill="url(#glass)"/>
    <rect x="340" y="230" width="260" height="100" fill="url(#sea)"/>
    <circle cx="430" cy="150" r="20" fill="#fff5cc" opacity="0.85"/>
    <path d="M360 232 Q 400 222 440 232 T 520 232 T 600 232" stroke="#d9f0ff" stroke-width="3" fill="none" opacity="0.7"/>
    <ellipse cx="420" cy="130" rx="70" ry="28" fill="#ffffff" opacity="0.18" transform="rotate(-25 420 130)"/>
  </g>
  <circle cx="470" cy="200" r="118" fill="none" stroke="#c9a14a" stroke-width="18"/>
  <circle cx="470" cy="200" r="129" fill="none" stroke="#7a5a1e" stroke-width="4"/>
  <circle cx="470" cy="200" r="108" fill="none" stroke="#7a5a1e" stroke-width="3"/>
  ${Array.from({ length: 8 }, (_, i) => {
    const a = (i * Math.PI) / 4;
    const x = (470 + Math.cos(a) * 118).toFixed(1);
    const y = (200 + Math.sin(a) * 118).toFixed(1);
    return `<circle cx="${x}" cy="${y}" r="5" fill="#f3dc9b" stroke="#7a5a1e" stroke-width="1.5"/>`;
  }).join('')}
  </g>
  <text x="36" y="226" font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif" font-size="58" font-weight="700"
        fill="#ffffff" stroke="#0f1f4d" stroke-width="2" paint-order="stroke">Porthole</text>
  <text x="40" y="260" font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif" font-size="17"
        fill="#e8ecff">a static preview server on raw sockets</text>
</svg>`;

const html = `<!DOCTYPE html><html><head><meta charset="utf-8">
<style>html,body{margin:0;padding:0;background:#000}svg{display:block}</style></head>
<body>${svg}</body></html>`;

const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width, height }, deviceScaleFactor: 1 });
  await page.setContent(html, { waitUntil: 'load' });
  await mkdir(path.dirname(output), { recursive: true });
  await page.screenshot({
    path: output,
    type: 'jpeg',
    quality: 80,
    clip: { x: 0, y: 0, width, height },
  });
} finally {
  await browser.close();
}

const { size } = await stat(output);
log(`wrote ${path.relative(process.cwd(), output) || output} (${width}x${height}, ${size} bytes)`);
