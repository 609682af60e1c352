/**
 * The browser side of live reload, served from memory at `/__porthole/client.js`.
 *
 * It opens one WebSocket per tab to `__porthole/socket` (live-reload-channel) beside its own
 * script's URL (so it works under any host name or IP the page was opened with, and under a
 * proxy's path prefix such as code-server's `/proxy/<port>/`) and handles:
 * - `hello` ({"id": server instance, "generation": events sent so far}): reload when the
 *   page is behind — another instance (the server restarted), or a change sent while this page
 *   had no connection: between the page's response and the first connection (the served
 *   page's tag carries the instance and generation it was served at), or during a reconnection;
 * - every event carries its generation;
 * - `reload`: full reload;
 * - `css` ({"paths": [...]}): swap in place every stylesheet of the page that is one of the
 *   paths — a `<link>`, or an `@import` (from a `<link>`'s sheet or a `<style>`, at any depth) —
 *   and keep the page's JavaScript state; reload when none is (never nothing at all);
 * - `img` ({"paths": [...]}): re-fetch the matching <img>; reload when none matches;
 * - `navigate` ({"path": "/page.html"}): go to that path of the site as this page reaches it
 *   (origin and proxy prefix; the editor's "one tab" and "follow the editor"); a preview page
 *   keeps its preview marker, and so do the same-origin links clicked in it;
 * - any other message: reload.
 * When the connection closes, it reconnects with a bounded backoff.
 */
import { createHash } from 'node:crypto';

export const CLIENT_SCRIPT = `/* Porthole live reload: see the README, "Live reload". */
(function () {
  'use strict';
  if (window.__portholeReload) return;
  var tag = document.currentScript;
  // The instance and generation the page was served at (its tag), until the stream says more.
  var servedId = tag ? tag.getAttribute('data-porthole-instance') : null;
  var servedGeneration = tag ? Number(tag.getAttribute('data-porthole-generation')) : NaN;
  // id: the instance of the stream's last hello (null until the first); generation: the last
  // change the page knows of.
  var state = { id: null, generation: isFinite(servedGeneration) ? servedGeneration : null, attempts: 0, socket: null };
  window.__portholeReload = state;
  var MAX_ATTEMPTS = 40;
  // One WebSocket per tab: browsers do not count WebSockets in the 6 connections per host they
  // allow over HTTP/1.1 (an event stream per tab held one of those for good).
  // The site's root as this page reaches it: the client's own URL minus __porthole/client.js (a
  // proxy may serve the site under a path prefix, e.g. code-server's /proxy/<port>/).
  var root = new URL(tag && tag.src ? '../' : '/', tag && tag.src ? tag.src : location.href);
  var rootPath = root.pathname;
  var socketTarget = new URL('__porthole/socket', root);
  socketTarget.protocol = socketTarget.protocol === 'https:' ? 'wss:' : 'ws:';
  var socketUrl = socketTarget.href;
  var PREVIEW = '__porthole_preview';

  // Segment by segment, as the server does: an encoded slash (%2F) is part of a name, never a
  // separator, so such a URL names no file of the server (null).
  function decodePath(p) {
    var parts = p.split('/');
    for (var i = 0; i < parts.length; i++) {
      try { parts[i] = decodeURIComponent(parts[i]); } catch (e) { return p; }
      if (parts[i].indexOf('/') >= 0) return null;
    }
    return parts.join('/');
  }
  function sameOriginPath(href) {
    try {
      var u = new URL(href, location.href);
      if (u.origin !== location.origin) return null;
      // Paths as the server names them: without the proxy's prefix.
      var p = u.pathname.indexOf(rootPath) === 0 ? '/' + u.pathname.slice(rootPath.length) : u.pathname;
      return decodePath(p);
    } catch (e) { return null; }
  }
  function busted(href) {
    var u = new URL(href, location.href);
    u.searchParams.set('__porthole', String(Date.now()));
    return u.href;
  }
  // A <link> is swapped for a clone with a cache-busting URL; the old one goes once the new
  // one has loaded (or failed), so the page is never without its styles in between.
  function swapLink(old) {
    var next = old.cloneNode(false);
    next.href = busted(old.href);
    old.setAttribute('data-porthole-old', '');
    var done = function () { if (old.parentNode) old.parentNode.removeChild(old); };
    next.addEventListener('load', done);
    next.addEventListener('error', done);
    old.parentNode.insertBefore(next, old.nextSibling);
  }
  function rulesOf(sheet) {
    try { return sheet.cssRules; } catch (e) { return null; } // another origin's sheet
  }
  function importUrl(rule, sheet) {
    try {
      return rule.styleSheet && rule.styleSheet.href ? rule.styleSheet.href : new URL(rule.href, sheet.href || document.baseURI).href;
    } catch (e) { return null; }
  }
  // True when \`sheet\` imports, at any depth, one of \`paths\`.
  function importsChanged(sheet, paths, depth) {
    var rules = rulesOf(sheet);
    if (rules === null || depth > 16) return false;
    for (var i = 0; i < rules.length; i++) {
      var rule = rules[i];
      if (typeof CSSImportRule === 'undefined' || !(rule instanceof CSSImportRule)) continue;
      var url = importUrl(rule, sheet);
      var p = url === null ? null : sameOriginPath(url);
      if (p !== null && paths.indexOf(p) >= 0) return true;
      if (rule.styleSheet && importsChanged(rule.styleSheet, paths, depth + 1)) return true;
    }
    return false;
  }
  // The @import rules of a top-level sheet (a <link>'s or a <style>'s) that are, or import at any
  // depth, one of \`paths\`: each is replaced, in place, by the same rule with a cache-busting
  // URL, which fetches it again; what it imports is revalidated with it (files are served
  // no-cache). Rules of imported sheets are never edited: Chromium drops the whole <link>'s
  // styles when an imported sheet gets a new @import. Returns how many were replaced.
  function swapImports(sheet, paths) {
    var rules = rulesOf(sheet);
    if (rules === null) return 0;
    var swapped = 0;
    for (var i = 0; i < rules.length; i++) {
      var rule = rules[i];
      if (typeof CSSImportRule === 'undefined' || !(rule instanceof CSSImportRule)) continue;
      var url = importUrl(rule, sheet);
      if (url === null) continue;
      var p = sameOriginPath(url);
      var hit = p !== null && paths.indexOf(p) >= 0;
      if (!hit && !(rule.styleSheet && importsChanged(rule.styleSheet, paths, 1))) continue;
      var text = rule.cssText.replace(/^@import\\s+(url\\(\\s*(["']?)[^)]*?\\2\\s*\\)|"[^"]*"|'[^']*')/i,
        '@import url(' + JSON.stringify(busted(url)) + ')');
      try {
        sheet.insertRule(text, i);
        sheet.deleteRule(i + 1);
        swapped++;
      } catch (e) { /* not replaceable here: counted as not applied */ }
    }
    return swapped;
  }
  // Every stylesheet the page uses: <link>s (loaded or still loading), and what any sheet imports,
  // from a <link> or a <style>, at any depth (document.styleSheets and CSSImportRule). When none
  // of them is a changed file, the change cannot be applied in place: reload.
  function swapStylesheets(paths) {
    var handled = 0;
    var links = document.querySelectorAll('link[rel~="stylesheet"][href]');
    for (var i = 0; i < links.length; i++) {
      var link = links[i];
      if (link.getAttribute('data-porthole-old') !== null) continue;
      var p = sameOriginPath(link.href);
      if (p !== null && paths.indexOf(p) >= 0) {
        swapLink(link);
        handled++;
      }
    }
    var sheets = document.styleSheets;
    for (var j = 0; j < sheets.length; j++) {
      var owner = sheets[j].ownerNode;
      if (owner && owner.getAttribute && owner.getAttribute('data-porthole-old') !== null) continue;
      handled += swapImports(sheets[j], paths);
    }
    if (handled === 0) location.reload();
  }
  function refreshImages(paths) {
    var images = document.querySelectorAll('img[src]');
    var hits = 0;
    for (var i = 0; i < images.length; i++) {
      var p = sameOriginPath(images[i].src);
      if (p !== null && paths.indexOf(p) >= 0) {
        images[i].src = busted(images[i].src);
        hits++;
      }
    }
    if (hits === 0) location.reload();
  }
  function handle(message) {
    if (!message || typeof message.type !== 'string') return;
    if (message.type === 'hello') {
      var knownId = state.id !== null ? state.id : servedId;
      if (knownId !== null && (knownId !== message.id || (state.generation !== null && state.generation !== message.generation))) {
        location.reload();
        return;
      }
      state.id = message.id;
      state.generation = message.generation;
      state.attempts = 0;
      return;
    }
    if (message.type === 'navigate') {
      // Not a change of the site: the generation stays.
      var to;
      try { to = new URL(String(message.path).slice(1), root); } catch (err) { return; }
      if (to.origin !== root.origin) return;
      var marker = new URL(location.href).searchParams.get(PREVIEW);
      if (marker !== null) to.searchParams.set(PREVIEW, marker);
      location.href = to.href;
      return;
    }
    if (typeof message.generation === 'number') state.generation = message.generation;
    var paths = Array.isArray(message.paths) ? message.paths : [];
    if (message.type === 'css') swapStylesheets(paths);
    else if (message.type === 'img') refreshImages(paths);
    else location.reload();
  }
  function retry() {
    if (state.attempts >= MAX_ATTEMPTS) return;
    var delay = Math.min(10000, 250 * Math.pow(2, state.attempts++));
    setTimeout(connect, delay);
  }
  function connect() {
    var socket;
    try {
      socket = new WebSocket(socketUrl);
    } catch (e) {
      retry();
      return;
    }
    state.socket = socket;
    socket.onmessage = function (e) {
      var message;
      try { message = JSON.parse(e.data); } catch (err) { return; }
      handle(message);
    };
    socket.onclose = function () {
      if (state.socket === socket) state.socket = null;
      retry();
    };
  }
  // The editor's preview (its URL has the marker): links within the site keep the marker, so the
  // next page is injected too (a page's own iframes never get it).
  var previewMarker = new URL(location.href).searchParams.get(PREVIEW);
  if (previewMarker !== null) {
    document.addEventListener('click', function (e) {
      var a = e.target && e.target.closest ? e.target.closest('a[href]') : null;
      if (!a || (a.target && a.target !== '_self') || a.hasAttribute('download')) return;
      var u;
      try { u = new URL(a.href); } catch (err) { return; }
      if (u.origin !== location.origin || u.searchParams.has(PREVIEW)) return;
      u.searchParams.set(PREVIEW, previewMarker);
      a.href = u.href;
    }, true);
  }
  connect();
})();
`;

/** Changes whenever the script does: part of the client's ETag and of injected pages' ETags. */
export const CLIENT_VERSION = createHash('sha256').update(CLIENT_SCRIPT).digest('hex').slice(0, 12);
