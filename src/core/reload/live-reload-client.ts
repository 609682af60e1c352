/**
 * The browser side of live reload, served from memory at `/__porthole/client.js`.
 *
 * It opens one EventSource per tab to `__porthole/events` beside its own URL (so it works under
 * any host name or IP the page was opened with, and under a proxy's path prefix) and handles:
 * - `hello` (data: {"id": server instance, "generation": events sent so far}): reload when the
 *   page is behind — another instance (the server restarted), or a change sent while this page
 *   had no stream: between the page's response and the stream's first connection (the served
 *   page's tag carries the instance and generation it was served at), or during a reconnection;
 * - every event carries its generation as the SSE `id`;
 * - `reload`: full reload;
 * - `css` (data: {"paths": [...]}): swap the matching same-origin stylesheets in place (all of
 *   them when none matches, e.g. an @import'ed file); the page's JavaScript state is kept;
 * - `img` (data: {"paths": [...]}): re-fetch the matching <img>; reload when none matches;
 * - `navigate` (data: {"path": "/page.html"}): go to that path of this page's own origin (the
 *   editor's "one tab" and "follow the editor"); a preview page keeps its preview marker, and so
 *   do the same-origin links clicked in it.
 * When the browser gives up on the stream (readyState CLOSED), it retries with a bounded backoff.
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
  var state = { id: null, generation: isFinite(servedGeneration) ? servedGeneration : null, attempts: 0 };
  window.__portholeReload = state;
  var MAX_ATTEMPTS = 40;
  // The site's root as this page reaches it: the client's own URL minus __porthole/client.js (a
  // proxy may serve the site under a path prefix, e.g. code-server's /proxy/<port>/).
  var root = new URL(tag && tag.src ? '../' : '/', tag && tag.src ? tag.src : location.href);
  var rootPath = root.pathname;
  var eventsUrl = new URL('__porthole/events', root).href;

  function decodePath(p) {
    try { return decodeURIComponent(p); } catch (e) { return p; }
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
  function pathsOf(data) {
    try { var p = JSON.parse(data).paths; return Array.isArray(p) ? p : []; } catch (e) { return []; }
  }
  function swapStylesheets(paths) {
    var links = document.querySelectorAll('link[rel~="stylesheet"][href]');
    var all = [], matched = [];
    for (var i = 0; i < links.length; i++) {
      var link = links[i];
      if (link.getAttribute('data-porthole-old') !== null) continue;
      var p = sameOriginPath(link.href);
      if (p === null) continue;
      all.push(link);
      if (paths.indexOf(p) >= 0) matched.push(link);
    }
    var targets = matched.length > 0 ? matched : all;
    targets.forEach(function (old) {
      var next = old.cloneNode(false);
      next.href = busted(old.href);
      old.setAttribute('data-porthole-old', '');
      var done = function () { if (old.parentNode) old.parentNode.removeChild(old); };
      next.addEventListener('load', done);
      next.addEventListener('error', done);
      old.parentNode.insertBefore(next, old.nextSibling);
    });
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
  function connect() {
    var source = new EventSource(eventsUrl);
    source.addEventListener('hello', function (e) {
      var hello;
      try { hello = JSON.parse(e.data); } catch (err) { return; }
      var knownId = state.id !== null ? state.id : servedId;
      if (knownId !== null && (knownId !== hello.id || (state.generation !== null && state.generation !== hello.generation))) {
        location.reload();
        return;
      }
      state.id = hello.id;
      state.generation = hello.generation;
      state.attempts = 0;
    });
    function seen(e) {
      var n = Number(e.lastEventId);
      if (e.lastEventId !== '' && isFinite(n)) state.generation = n;
    }
    source.addEventListener('reload', function (e) { seen(e); location.reload(); });
    source.addEventListener('css', function (e) { seen(e); swapStylesheets(pathsOf(e.data)); });
    source.addEventListener('img', function (e) { seen(e); refreshImages(pathsOf(e.data)); });
    source.addEventListener('navigate', function (e) {
      var to;
      try { to = new URL(String(JSON.parse(e.data).path).slice(1), root); } catch (err) { return; }
      if (to.origin !== root.origin) return;
      var marker = new URL(location.href).searchParams.get('__porthole_preview');
      if (marker !== null) to.searchParams.set('__porthole_preview', marker);
      location.href = to.href;
    });
    source.addEventListener('error', function () {
      if (source.readyState !== 2 || state.attempts >= MAX_ATTEMPTS) return;
      source.close();
      var delay = Math.min(10000, 250 * Math.pow(2, state.attempts++));
      setTimeout(connect, delay);
    });
  }
  // The editor's preview (its URL has the marker): links within the site keep the marker, so the
  // next page is injected too (a page's own iframes never get it).
  var previewMarker = new URL(location.href).searchParams.get('__porthole_preview');
  if (previewMarker !== null) {
    document.addEventListener('click', function (e) {
      var a = e.target && e.target.closest ? e.target.closest('a[href]') : null;
      if (!a || (a.target && a.target !== '_self') || a.hasAttribute('download')) return;
      var u;
      try { u = new URL(a.href); } catch (err) { return; }
      if (u.origin !== location.origin || u.searchParams.has('__porthole_preview')) return;
      u.searchParams.set('__porthole_preview', previewMarker);
      a.href = u.href;
    }, true);
  }
  connect();
})();
`;

/** Changes whenever the script does: part of the client's ETag and of injected pages' ETags. */
export const CLIENT_VERSION = createHash('sha256').update(CLIENT_SCRIPT).digest('hex').slice(0, 12);
