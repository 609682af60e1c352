/**
 * The browser side of live reload, served from memory at `/__porthole/client.js`.
 *
 * It opens one WebSocket per tab to `__porthole/socket` (live-reload-channel) beside its own
 * script's URL (so it works under any host name or IP the page was opened with, and under a
 * proxy's path prefix such as code-server's `/proxy/<port>/`) and handles:
 * - `hello` ({"id": server instance, "generation": events sent so far, "client": the server's
 *   client version, liveReloadClient().version}): reload when the page is behind — another instance (the server restarted),
 *   or a change sent while this page had no connection: between the page's response and the
 *   first connection (the served page's tag carries the instance and generation it was served
 *   at), or during a reconnection. When `client` is not this script's own version (the browser
 *   ran a copy it cached from another Porthole version: the script is served with a max-age, see
 *   CLIENT_MAX_AGE_S), the script is fetched again past the cache (`cache: 'reload'`) and, once
 *   the cache holds the server's version, the page reloads with it;
 * - every event carries its generation;
 * - `reload`: full reload;
 * - `css` ({"paths": [...]}): swap in place every stylesheet of the page that is one of the
 *   paths — a `<link>`, or an `@import` (from a `<link>`'s sheet or a `<style>`, at any depth) —
 *   and keep the page's JavaScript state; reload when none is (never nothing at all);
 * - `img` ({"paths": [...]}): re-fetch the matching <img>; reload when none matches, or when the
 *   page may show the file otherwise too (a background, an SVG <image>: shownOtherwise);
 * - an in-place update (`css`, `img`) loads the file under a cache-busting URL, and also fetches
 *   its plain URL again past the browser's cache (refetchPlain), so other pages, new tabs and
 *   reloads do not show the copy a configured max-age kept; a reload for a change fetches the
 *   changed files first (loadedUrlsOf); neither under a Content-Security-Policy;
 * - `navigate` ({"path": "/page.html"}): go to that path of the site as this page reaches it
 *   (origin and proxy prefix; the editor's "one tab" and "follow the editor"); a preview page
 *   keeps its preview marker, and so do the same-origin links clicked in it;
 * - `console` ({"forward": "off"|"errors"|"all"}): what to forward of the page's console from now on;
 * - any other message: reload.
 * When the connection closes, it reconnects with a backoff that grows to RETRY_MAX_MS and never
 * gives up (a server stopped for lunch, a laptop asleep: the tab reconnects, and reloads, when it is
 * back); the browser coming back online or the tab shown again retries at once.
 *
 * It may run from the page's `<head>` (console forwarding on: it is placed before the page's own
 * scripts, live-reload-inject), before `document.body` exists: what it does at start touches only
 * `document.currentScript`, a capturing `click` listener on `document`, `window` listeners and the
 * console; the DOM is read only when a message comes (stylesheets, images: querySelectorAll then
 * sees the page as parsed so far; a reload or a navigation works at any point).
 *
 * Console forwarding (console-forward.ts is the server's side): the tag's `data-porthole-console`
 * says, before any connection, what to hook; `hello` and `console` messages say it again. `off`:
 * nothing is hooked (no wrapper, no listener). `errors`: `console.error` is wrapped and the window's
 * `error` and `unhandledrejection` events are listened to. `all`: `warn`, `info`, `log` and `debug`
 * are wrapped too. A wrapper calls the page's own method with the same `this` and arguments and
 * returns what it returns; everything it adds runs inside try/catch (nothing it does can throw into
 * the page) and is skipped while a serialisation is under way (a getter that logs cannot recurse).
 * Arguments are serialised cheaply, never running the page's getters (an accessor property shows
 * as [Getter]): strings cut at MAX_TEXT, objects to MAX_DEPTH levels and
 * MAX_ITEMS keys or items, cycles shown as [Circular], Errors as `Name: message` with their stack;
 * a Date as its text, a RegExp as /source/flags, a Map, a Set or a typed array with its size and
 * entries, an ArrayBuffer with its byteLength (read through
 * the built-ins' own methods, taken before the page runs); a first string's format specifiers (%s, %d, %i, %f, %o, %O, %c) take the arguments after it, as
 * the Console Standard's formatter (§2.2.1) and the browser's console do.
 * Entries wait in a queue of at most MAX_QUEUE (beyond: counted and reported as dropped) and go in
 * batches every BATCH_MS after the `hello`, each message well under the server's 64 KiB frame cap.
 */
import { nodeCrypto } from '../node-crypto';

/** Where the script's own version goes in CLIENT_SOURCE. */
const VERSION_PLACEHOLDER = '@@PORTHOLE_CLIENT_VERSION@@';

const CLIENT_SOURCE = `/* Porthole live reload: see the README, "Live reload". */
(function () {
  'use strict';
  if (window.__portholeReload) return;
  // In a frame of a page (same origin, at any depth) that runs the client, that client updates
  // this document (its stylesheets, its images; a reload of the page reloads the frame): a frame
  // navigation a service worker passed on comes injected, as the server cannot tell it from a
  // tab's. One client per page, as without a service worker.
  for (var up = window; up !== up.parent; ) {
    try {
      up = up.parent;
      if (up.__portholeReload) return;
    } catch (e) { break; } // another origin's frame
  }
  var VERSION = '${VERSION_PLACEHOLDER}';
  var tag = document.currentScript;
  // The page has a Content-Security-Policy: the server gave this tag a nonce (the browser hides
  // its value from the attribute, not the attribute itself).
  var underPolicy = !!tag && (tag.hasAttribute('nonce') || !!tag.nonce);
  // The instance and generation the page was served at (its tag), until the stream says more.
  var servedId = tag ? tag.getAttribute('data-porthole-instance') : null;
  var servedGeneration = tag ? Number(tag.getAttribute('data-porthole-generation')) : NaN;
  // id: the instance of the stream's last hello (null until the first); generation: the last
  // change the page knows of.
  var state = { id: null, generation: isFinite(servedGeneration) ? servedGeneration : null, attempts: 0, socket: null, version: VERSION, refreshing: false, changed: [] };
  window.__portholeReload = state;
  // The longest wait between two attempts to reconnect (ms); there is no last attempt.
  var RETRY_MAX_MS = 10000;
  var retryTimer = null;
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
  // The URL a busted one stands for: without its __porthole parameter (a link swapped before
  // carries one) nor fragment, the URL the page's other copies and the browser's cache know it by.
  function plainUrl(href) {
    try {
      var u = new URL(href, location.href);
      if (u.searchParams.has('__porthole')) {
        u.searchParams.delete('__porthole');
        if (u.search === '') u.search = ''; // no bare ? left
      }
      u.hash = '';
      return u.href;
    } catch (e) { return null; }
  }
  // A file updated in place is loaded under a busted URL, a cache entry of its own: the entry of
  // its plain URL stays as it was, and under a configured Cache-Control max-age another page, a
  // new tab or a reload (F5 takes subresources from the cache) would show the old copy. So each
  // plain URL of a change's in-place updates (\`urls\`: links, @import rules and images may share
  // one) is fetched again past the cache too, once (\`cache: 'reload'\` stores the new answer), at
  // most REFETCH_MAX of them; not under a Content-Security-Policy, whose connect-src may refuse
  // the fetches (see loadedUrlsOf), nor without fetch. Returns a promise settled once every fetch
  // has (a <link> whose sheet imports a changed file waits for it: swapStylesheets), or null when
  // none was made.
  function refetchPlain(urls) {
    if (typeof fetch !== 'function' || underPolicy || typeof Promise !== 'function') return null;
    var seen = {}, count = 0, pending = [];
    for (var i = 0; i < urls.length && count < REFETCH_MAX; i++) {
      var url = urls[i];
      if (url === null || seen[url] === true) continue;
      seen[url] = true;
      count++;
      pending.push(fetch(url, { cache: 'reload', credentials: 'same-origin' }).then(function (r) { return r.arrayBuffer(); }).then(null, function () { /* the busted copy shows it */ }));
    }
    return pending.length === 0 ? null : Promise.all(pending);
  }
  // A <link>'s sheet is loaded again into the same element, under a cache-busting URL: the page's
  // scripts may hold the element (a theme switch that sets its href later; helper-120: a swap for
  // a clone left the page's reference detached, and its switch did nothing). Chromium drops an
  // element's sheet as soon as its href changes, so a copy of the element, right after it, loads
  // the new URL first; only once the copy has (or failed) does the element take the same URL,
  // and the copy, whose styles are the new ones already, holds them in the element's place until
  // the element has loaded them too. The page is never without the sheet's styles in between
  // (helper-158: the element's href was changed at once, and the copy then held the old URL, which
  // had to load again as well: every CSS save showed the page unstyled for a frame or more, and a
  // page scrolled down went back to the top). A later save of the same sheet supersedes a copy
  // still loading; a page that sets the element's href itself meanwhile keeps its choice. The
  // sheet's own disabled flag (CSSOM: a theme switch's \`link.sheet.disabled = true\`) belongs
  // to the sheet, not the element: it is set again on the new sheet, and a sheet that was off
  // holds no styles, so no copy. A <link disabled> (the element's attribute: an alternate theme
  // left off) has no sheet and fires no load event until it is enabled: no copy either (one
  // waited for ever, one per save). A copy whose load failed (a 503: the file was being written
  // again as it was read) or that holds no rules where the element's sheet has some (read
  // between a truncation and its write) is no new version: the element keeps its styles and the
  // swap is made again SWAP_RETRY_MS later, up to SWAP_RETRIES times (helper-170: saves 10 ms
  // apart left the page unstyled for 150–210 ms, the element handed the failed URL); after them
  // an empty sheet is taken (the file was emptied), a failure is not (the next save swaps again).
  var latestSwap = typeof WeakMap === 'function' ? new WeakMap() : null;
  // True when the sheet \`now\` holds no rules while \`was\` holds some (both there and readable):
  // a load that met its file mid-write (swapLink's copy, retireWhenLoaded's new @import).
  function emptied(now, was) {
    var nowRules = now ? rulesOf(now) : null, wasRules = was ? rulesOf(was) : null;
    return nowRules !== null && wasRules !== null && nowRules.length === 0 && wasRules.length > 0;
  }
  function swapLink(link, attempt) {
    attempt = attempt || 0;
    var wasDisabled = false;
    try { wasDisabled = !!(link.sheet && link.sheet.disabled); } catch (e) { /* the sheet is the page's */ }
    var next = busted(link.href);
    var restoreDisabled = function (e) {
      link.removeEventListener('load', restoreDisabled);
      link.removeEventListener('error', restoreDisabled);
      try {
        if (e.type === 'load' && link.sheet) link.sheet.disabled = true;
      } catch (err) { /* the sheet is the page's */ }
    };
    if (wasDisabled || link.disabled || latestSwap === null) {
      if (wasDisabled) {
        link.addEventListener('load', restoreDisabled);
        link.addEventListener('error', restoreDisabled);
      }
      link.href = next;
      return;
    }
    var before = link.getAttribute('href');
    var copy = link.cloneNode(false);
    copy.removeAttribute('id');
    copy.setAttribute('data-porthole-copy', '');
    copy.setAttribute('href', next);
    latestSwap.set(link, copy);
    var drop = function () {
      if (copy.parentNode) copy.parentNode.removeChild(copy);
    };
    // The element's load event also comes for an earlier URL whose load a later save cut short
    // (helper-159: the copy went while the element's sheet was still loading): the copy goes once
    // the element's sheet is this URL's with its imports loaded, or the load failed, or another URL
    // took over, or after IMPORT_WAIT_MS.
    var taken = function (e) {
      if (link.getAttribute('href') === next && e && e.type === 'load' && Date.now() - handedAt < IMPORT_WAIT_MS) {
        var sheet = null;
        try { sheet = link.sheet; } catch (err) { /* the sheet is the page's */ }
        if (!sheet || sheet.href !== link.href || !importsLoaded(sheet, 1)) return;
      }
      link.removeEventListener('load', taken);
      link.removeEventListener('error', taken);
      drop();
    };
    var handedAt = 0;
    var ready = function (e) {
      copy.removeEventListener('load', ready);
      copy.removeEventListener('error', ready);
      // Superseded by a later save, the element gone, or the page has set its href itself.
      if (latestSwap.get(link) !== copy || !link.isConnected || link.getAttribute('href') !== before) {
        drop();
        return;
      }
      var failed = !!e && e.type === 'error';
      if (failed || emptied(copy.sheet, link.sheet)) {
        if (attempt < SWAP_RETRIES) {
          drop();
          setTimeout(function () {
            if (latestSwap.get(link) === copy && link.isConnected && link.getAttribute('href') === before) swapLink(link, attempt + 1);
          }, SWAP_RETRY_MS);
          return;
        }
        if (failed) {
          drop();
          return;
        }
      }
      link.addEventListener('load', taken);
      link.addEventListener('error', taken);
      handedAt = Date.now();
      link.href = next;
      setTimeout(taken, IMPORT_WAIT_MS);
    };
    copy.addEventListener('load', ready);
    copy.addEventListener('error', ready);
    link.parentNode.insertBefore(copy, link.nextSibling);
  }
  function rulesOf(sheet) {
    try { return sheet.cssRules; } catch (e) { return null; } // another origin's sheet
  }
  function importUrl(rule, sheet) {
    try {
      return rule.styleSheet && rule.styleSheet.href ? rule.styleSheet.href : new URL(rule.href, sheet.href || document.baseURI).href;
    } catch (e) { return null; }
  }
  // An @import rule, of this window's or of a same-origin frame's (another realm: instanceof
  // CSSImportRule is false there, so the rule's type decides, CSSOM's IMPORT_RULE).
  function isImport(rule) {
    return rule !== null && typeof rule === 'object' && rule.type === 3;
  }
  // True when \`sheet\` imports, at any depth, one of \`paths\`; each such import's plain URL goes
  // into \`found\`.
  function importsChanged(sheet, paths, depth, found) {
    var rules = rulesOf(sheet);
    if (rules === null || depth > 16) return false;
    var changed = false;
    for (var i = 0; i < rules.length; i++) {
      var rule = rules[i];
      if (!isImport(rule)) continue;
      var url = importUrl(rule, sheet);
      var p = url === null ? null : sameOriginPath(url);
      if (p !== null && paths.indexOf(p) >= 0) {
        found.push(plainUrl(url));
        changed = true;
      }
      if (rule.styleSheet && importsChanged(rule.styleSheet, paths, depth + 1, found)) changed = true;
    }
    return changed;
  }
  // The @import rules of a <style>'s sheet that are, or import at any depth, one of \`paths\`:
  // each gets, right after it, the same rule with a cache-busting URL, which fetches it again;
  // what it imports is revalidated with it (files are served no-cache; under a configured max-age
  // a changed file it imports may show its cached copy until the next swap or reload, which finds
  // the copy refetchPlain stored). The old rule stays until the new one's sheet has loaded
  // (retireWhenLoaded): replaced at once, the page was without its styles until then
  // (helper-158). Rules of imported sheets are never edited: Chromium drops the whole <link>'s
  // styles when an imported sheet gets a new @import. The plain URLs of the changed files among
  // them go into \`urls\` (refetchPlain). Returns how many were replaced.
  function swapImports(sheet, paths, urls) {
    var rules = rulesOf(sheet);
    if (rules === null) return 0;
    var swapped = 0;
    for (var i = 0; i < rules.length; i++) {
      var rule = rules[i];
      if (!isImport(rule) || (retiring !== null && retiring.has(rule))) continue;
      var url = importUrl(rule, sheet);
      if (url === null) continue;
      var p = sameOriginPath(url);
      var hit = p !== null && paths.indexOf(p) >= 0;
      var found = hit ? [plainUrl(url)] : [];
      if (rule.styleSheet) importsChanged(rule.styleSheet, paths, 1, found);
      if (found.length === 0) continue;
      try {
        sheet.insertRule(importText(rule, url), i + 1);
        i++; // the new rule, not to be looked at again
        retireWhenLoaded(sheet, rule, rules[i], url, 0);
        swapped++;
        for (var f = 0; f < found.length; f++) urls.push(found[f]);
      } catch (e) { /* not replaceable here: counted as not applied */ }
    }
    return swapped;
  }
  // \`rule\`'s text importing \`url\` under a new cache-busting URL (its media and layer kept).
  function importText(rule, url) {
    return rule.cssText.replace(/^@import\\s+(url\\(\\s*(["']?)[^)]*?\\2\\s*\\)|"[^"]*"|'[^']*')/i,
      '@import url(' + JSON.stringify(busted(url)) + ')');
  }
  // @import rules replaced and waiting to be deleted: a later save skips them.
  var retiring = typeof WeakSet === 'function' ? new WeakSet() : null;
  // Deletes \`old\` from \`sheet\` once \`added\` has its sheet and so has every @import in it at
  // any depth (Chromium gives an @import its styleSheet when it has loaded, or failed; helper-159:
  // deleted as soon as the new rule's own file had loaded, the old rule took with it the styles of
  // the file that file imports, still loading), or after IMPORT_WAIT_MS whatever it has: the two
  // rules are the same file, the new one later in the cascade, so until then the page shows the
  // new styles over the old, never none. A new rule whose sheet holds no rules where the old
  // one's held some (its load met the file mid-write: a 503, or read between truncation and
  // write) is no new version: it goes instead, the old one stays, and the import is made again
  // SWAP_RETRY_MS later, up to SWAP_RETRIES times (as a <link>'s copy, swapLink); after them an
  // emptied file is taken. Replaced all the same, the page lost the file's styles until the next
  // save.
  function retireWhenLoaded(sheet, old, added, url, attempt) {
    if (retiring === null) {
      deleteRuleObject(sheet, old);
      return;
    }
    retiring.add(old);
    var started = Date.now();
    var check = function () {
      var loaded = false;
      try { loaded = !!added.styleSheet && importsLoaded(added.styleSheet, 1); } catch (e) { loaded = true; }
      if (!loaded && Date.now() - started < IMPORT_WAIT_MS) {
        setTimeout(check, IMPORT_POLL_MS);
        return;
      }
      if (loaded && attempt < SWAP_RETRIES && emptied(added.styleSheet, old.styleSheet)) {
        deleteRuleObject(sheet, added);
        // Meanwhile the old rule is the page's import again: a later save swaps it (and this
        // retry, superseded, is not made).
        retiring.delete(old);
        setTimeout(function () {
          var at = ruleIndex(sheet, old);
          // Superseded by a later save's swap, or the rule is gone: nothing left to make again.
          if (retiring.has(old) || at < 0) return;
          try {
            sheet.insertRule(importText(old, url), at + 1);
            retireWhenLoaded(sheet, old, rulesOf(sheet)[at + 1], url, attempt + 1);
          } catch (e) { /* the sheet no longer takes rules */ }
        }, SWAP_RETRY_MS);
        return;
      }
      deleteRuleObject(sheet, old);
    };
    check();
  }
  // True when every @import of \`sheet\`, at any depth, has its sheet (has loaded, or failed).
  function importsLoaded(sheet, depth) {
    var rules = rulesOf(sheet);
    if (rules === null || depth > 16) return true;
    for (var i = 0; i < rules.length; i++) {
      if (!isImport(rules[i])) continue;
      if (!rules[i].styleSheet || !importsLoaded(rules[i].styleSheet, depth + 1)) return false;
    }
    return true;
  }
  // Where \`rule\` stands in \`sheet\`'s rules, or -1 (gone, or the sheet unreadable).
  function ruleIndex(sheet, rule) {
    var rules = rulesOf(sheet);
    for (var i = 0; rules !== null && i < rules.length; i++) if (rules[i] === rule) return i;
    return -1;
  }
  function deleteRuleObject(sheet, rule) {
    var i = ruleIndex(sheet, rule);
    if (i < 0) return;
    try { sheet.deleteRule(i); } catch (e) { /* the sheet is the page's */ }
  }
  // Every stylesheet the page uses: <link>s (loaded or still loading), and what any sheet imports,
  // from a <link> or a <style>, at any depth (document.styleSheets and CSSImportRule). When none
  // of them is a changed file, the change cannot be applied in place: reload.
  // Where the page's nodes live: the document, every open shadow root (a web component's) and
  // every same-origin frame's document, at any depth, so a sheet or an image used inside a
  // component or a frame is updated with the document's copies (a closed shadow root cannot be
  // reached).
  // The page's same-origin frames (<iframe>, <frame>: a component gallery, a page shown in a
  // device frame) are not injected themselves (only top-level navigations are): their documents,
  // at any depth, are roots too, so a stylesheet or an image they share with the page is updated
  // in them as well, and one only a frame uses is swapped there instead of reloading the page. A
  // frame of another origin (contentDocument null) or one running its own client is left alone.
  function frameDocument(el) {
    try {
      var w = el.contentWindow;
      if (!w || w.__portholeReload) return null;
      return el.contentDocument || null;
    } catch (e) { return null; }
  }
  function allRoots() {
    var roots = [document];
    for (var r = 0; r < roots.length; r++) {
      var all = roots[r].querySelectorAll('*');
      for (var k = 0; k < all.length; k++) {
        if (all[k].shadowRoot) roots.push(all[k].shadowRoot);
        var name = String(all[k].nodeName).toUpperCase();
        if (name === 'IFRAME' || name === 'FRAME') {
          var doc = frameDocument(all[k]);
          if (doc !== null && roots.indexOf(doc) < 0) roots.push(doc);
        }
      }
    }
    return roots;
  }
  function swapStylesheets(paths) {
    var handled = 0;
    var urls = [];
    var afterImports = [];
    var roots = allRoots();
    for (var r = 0; r < roots.length; r++) {
      var links = roots[r].querySelectorAll('link[rel~="stylesheet"][href]');
      for (var i = 0; i < links.length; i++) {
        var link = links[i];
        if (link.getAttribute('data-porthole-copy') !== null) continue;
        // The link's own file, or one its sheet imports at any depth: the link is loaded again
        // (what it imports is revalidated with it). An @import of a <link>'s sheet is not
        // replaced in the sheet: Chromium drops the link's whole styles until the new rule's
        // file has loaded (helper-158: the page unstyled for a dozen frames).
        // A changed import: the link is loaded again once the imports' plain URLs have been
        // fetched past the cache (refetchPlain), which its new sheet's @import rules then find
        // there: under a configured max-age they found the old copies, fresh in the cache.
        var p = sameOriginPath(link.href);
        var own = p !== null && paths.indexOf(p) >= 0;
        // A link whose own file changed under an \`integrity\` hash (Subresource Integrity): the
        // new bytes fail it, so no swap can show them, and the old rules stayed as if the edit had
        // applied (helper-161). The page reloads and shows what it would: that sheet refused.
        if (own && link.hasAttribute('integrity')) {
          reloadPage();
          return;
        }
        var found = own ? [plainUrl(link.href)] : [];
        var linkSheet = null;
        try { linkSheet = link.sheet; } catch (e) { /* not readable */ }
        if (linkSheet) importsChanged(linkSheet, paths, 1, found);
        if (found.length > 0) {
          for (var f = 0; f < found.length; f++) urls.push(found[f]);
          if (found.length > (own ? 1 : 0)) afterImports.push(link);
          else swapLink(link);
          handled++;
        }
      }
      // What <style> elements import (a <link>'s sheet was looked at above).
      var sheets = roots[r].styleSheets || [];
      for (var j = 0; j < sheets.length; j++) {
        var owner = sheets[j].ownerNode;
        if (owner && String(owner.nodeName).toUpperCase() === 'LINK') continue;
        handled += swapImports(sheets[j], paths, urls);
      }
    }
    if (handled === 0) {
      reloadPage();
      return;
    }
    var refetched = refetchPlain(urls);
    var swapRest = function () {
      for (var k = 0; k < afterImports.length; k++) swapLink(afterImports[k]);
    };
    if (refetched === null) swapRest();
    else refetched.then(swapRest);
  }
  // An <img> showing a changed file (its currentSrc: what srcset or a <picture> chose) is fetched
  // again; one whose picture comes from a srcset or a <source> cannot be by setting src, and the
  // page would show two versions at once: it reloads. No <img> shows one: it reloads too.
  // True when a file of \`paths\` may be shown otherwise than by an <img>: its name in a style
  // sheet (a background, a mask, content: url()), in a style attribute, or in an attribute of
  // another element (an SVG <image>, a poster, an <object>, an icon). Setting an <img>'s src
  // cannot update those, and the page would show two versions of the file: it reloads. By name,
  // so a false match reloads (never nothing at all); a link to the file (<a href>) is no use.
  function shownOtherwise(paths, roots) {
    var names = [];
    for (var n = 0; n < paths.length; n++) {
      var name = String(paths[n]).split('/').pop();
      if (name) names.push(name, encodeURIComponent(name));
    }
    function mentions(text) {
      if (!text) return false;
      for (var k = 0; k < names.length; k++) if (String(text).indexOf(names[k]) >= 0) return true;
      return false;
    }
    function inSheet(sheet, depth) {
      var rules = rulesOf(sheet);
      if (rules === null || depth > 16) return false;
      for (var i = 0; i < rules.length; i++) {
        if (isImport(rules[i])) {
          if (rules[i].styleSheet && inSheet(rules[i].styleSheet, depth + 1)) return true;
        } else if (mentions(rules[i].cssText)) return true;
      }
      return false;
    }
    var ATTRIBUTES = ['style', 'src', 'href', 'xlink:href', 'poster', 'data'];
    for (var r = 0; r < roots.length; r++) {
      var sheets = roots[r].styleSheets || [];
      for (var j = 0; j < sheets.length; j++) if (inSheet(sheets[j], 0)) return true;
      var all = roots[r].querySelectorAll('*');
      for (var e = 0; e < all.length; e++) {
        var el = all[e], tagName = String(el.nodeName).toUpperCase();
        if (tagName === 'A' || tagName === 'SCRIPT' || (tagName === 'LINK' && /(^|\\s)stylesheet(\\s|$)/i.test(el.getAttribute('rel') || ''))) continue;
        for (var a = 0; a < ATTRIBUTES.length; a++) {
          if (tagName === 'IMG' && ATTRIBUTES[a] !== 'style') continue;
          if (mentions(el.getAttribute(ATTRIBUTES[a]))) return true;
        }
      }
    }
    return false;
  }
  // An <img> gets the new file's URL once a detached Image has loaded it, as a <link> gets its
  // sheet once a copy has (swapLink): set at once, a load that met the file mid-write (a 503)
  // showed a broken image until the next save. A failed load is tried again SWAP_RETRY_MS later,
  // SWAP_RETRIES times; the image shows what it showed meanwhile, and after them it is left so
  // (the next save swaps again). A later save, or the page setting its src, supersedes it.
  var latestImage = typeof WeakMap === 'function' ? new WeakMap() : null;
  function swapImage(img, attempt) {
    var next = busted(img.src);
    if (latestImage === null || typeof Image !== 'function') {
      img.src = next;
      return;
    }
    var before = img.getAttribute('src');
    var probe = new Image();
    latestImage.set(img, probe);
    var current = function () { return latestImage.get(img) === probe && img.getAttribute('src') === before; };
    probe.onload = function () {
      if (current()) img.src = next;
    };
    probe.onerror = function () {
      if (!current() || attempt >= SWAP_RETRIES) return;
      setTimeout(function () { if (current()) swapImage(img, attempt + 1); }, SWAP_RETRY_MS);
    };
    // The same request as the image's own (its CORS mode and referrer policy), so that the image
    // takes the loaded copy.
    if (img.crossOrigin !== null) probe.crossOrigin = img.crossOrigin;
    if (img.referrerPolicy) probe.referrerPolicy = img.referrerPolicy;
    probe.src = next;
  }
  function refreshImages(paths) {
    var hits = 0;
    var urls = [];
    var roots = allRoots();
    if (shownOtherwise(paths, roots)) {
      reloadPage();
      return;
    }
    for (var r = 0; r < roots.length; r++) {
      var images = roots[r].querySelectorAll('img');
      for (var i = 0; i < images.length; i++) {
        var img = images[i];
        var shown = img.currentSrc || (img.getAttribute('src') !== null ? img.src : '');
        var p = shown ? sameOriginPath(shown) : null;
        if (p === null || paths.indexOf(p) < 0) continue;
        if (img.getAttribute('srcset') !== null || (img.parentNode && img.parentNode.nodeName === 'PICTURE')) {
          reloadPage();
          return;
        }
        urls.push(plainUrl(img.src));
        swapImage(img, 0);
        hits++;
      }
    }
    if (hits === 0) reloadPage();
    else refetchPlain(urls);
  }
  // A reload for a change names the state it reloads for (server instance, generation) in the
  // tab's sessionStorage, until the next page's hello. When that page comes back still behind that
  // very state, a cache between the server and the tab served an older copy (a service worker's
  // cache-first or stale-while-revalidate answer): reloading again would bring the same copy, in
  // a loop (dozens of reloads a second, for good); the page stays as the reload left it, as any
  // reload would. One item, removed at the hello; nothing when storage is unavailable.
  var RELOAD_KEY = '__porthole_reload';
  function reloadKey(id, generation) {
    return id + ' ' + generation + ' ' + location.pathname + location.search;
  }
  function reloadedFor(id, generation) {
    try { return sessionStorage.getItem(RELOAD_KEY) === reloadKey(id, generation); } catch (e) { return false; }
  }
  function forgetReload() {
    try { if (sessionStorage.getItem(RELOAD_KEY) !== null) sessionStorage.removeItem(RELOAD_KEY); } catch (e) { /* no storage */ }
  }
  // A reload for a change (no id given): what the page or its same-origin frames loaded of the
  // changed files (a script, a module it imports, an image, a font, a fetch) may still be fresh
  // in the browser's cache under a configured Cache-Control max-age, and a reload would run or
  // show that copy (helper-138: the page reloaded, its edited script was not asked for, the old
  // one ran). So each URL they loaded whose path is a changed file is fetched again past the
  // cache first (\`cache: 'reload'\` stores the new answer), at most REFETCH_MAX of them and for
  // at most REFETCH_WAIT_MS; then the page reloads. The page itself needs none: a reload asks
  // the server for it again. A reload because the page is behind (the hello: a restart, changes
  // missed while disconnected) does not know which files changed, and fetches nothing first.
  // Nor does a page under a Content-Security-Policy (its tag carries a nonce then: the server
  // gives one to every page with a policy, in a meta or a field, enforced or report-only): a
  // connect-src that does not allow the page's origin refused those fetches, reported each to the
  // page's report-uri, its listeners and the console on every save (helper-144), and a
  // report-only one reported them. Such a page reloads as it did before this. An in-place update
  // (a stylesheet, an image) follows the same rule for the plain URLs it swapped: refetchPlain.
  var REFETCH_MAX = 50;
  // How often, and for how long at most, a replaced @import waits for its new rule's sheet (retireWhenLoaded).
  var IMPORT_POLL_MS = 16;
  // How often, and how far apart, a swap whose load met its file mid-write is made again
  // (swapLink, retireWhenLoaded, swapImage).
  var SWAP_RETRIES = 4, SWAP_RETRY_MS = 150;
  var IMPORT_WAIT_MS = 10000;
  var REFETCH_WAIT_MS = 2000;
  // A full timing buffer (this many entries: browsers keep 250 unless a page asks for more)
  // cannot say what else the page loaded.
  var RESOURCE_TIMING_BUFFER = 250;
  // Each URL the page and its same-origin frames loaded, to \`visit\` (a reload of the page reloads
  // its frames): their resource timing's and their scripts' src, and with \`documents\` each
  // document's own URL. False when a document's timing cannot say: it has none, or its buffer is full.
  function eachLoaded(visit, documents) {
    var told = true;
    var roots = allRoots();
    for (var r = 0; r < roots.length; r++) {
      var doc = roots[r];
      if (doc.nodeType !== 9) continue; // a shadow root: its loads are its document's
      if (documents) visit(doc.URL);
      try {
        var entries = doc.defaultView.performance.getEntriesByType('resource');
        if (entries.length >= RESOURCE_TIMING_BUFFER) told = false;
        for (var i = 0; i < entries.length; i++) visit(entries[i].name);
      } catch (e) { told = false; }
      for (var j = 0; j < doc.scripts.length; j++) visit(doc.scripts[j].src);
    }
    return told;
  }
  function loadedUrlsOf(paths) {
    var urls = [];
    if (paths.length === 0 || typeof fetch !== 'function' || underPolicy) return urls;
    var seen = {};
    eachLoaded(function (href) {
      if (typeof href !== 'string' || href === '' || urls.length >= REFETCH_MAX) return;
      var url = href.split('#')[0];
      if (seen[url] === true) return;
      var p = sameOriginPath(url);
      if (p === null || paths.indexOf(p) < 0) return;
      seen[url] = true;
      urls.push(url);
    }, false);
    return urls;
  }
  // A build source changed (\`source\`: Sass, TypeScript…): only a page that loaded one of them
  // itself (less.js, Babel in the browser, a fetch) reloads; for the others its build's output,
  // a moment later, is the change they see. Loaded: the page's or a same-origin frame's own URL,
  // a resource the browser timed, a script's src; a document whose timing cannot say reloads.
  function loadedAnyOf(paths) {
    var found = false;
    var told = eachLoaded(function (href) {
      if (found || typeof href !== 'string' || href === '') return;
      var p = sameOriginPath(href.split('#')[0]);
      if (p !== null && paths.indexOf(p) >= 0) found = true;
    }, true);
    return found || !told;
  }
  function reloadPage(id, generation) {
    try { sessionStorage.setItem(RELOAD_KEY, reloadKey(id === undefined ? state.id : id, generation === undefined ? state.generation : generation)); } catch (e) { /* no storage */ }
    var urls = id === undefined ? loadedUrlsOf(state.changed) : [];
    if (urls.length === 0) {
      location.reload();
      return;
    }
    var left = urls.length;
    var reloaded = false;
    var reload = function () {
      if (reloaded) return;
      reloaded = true;
      location.reload();
    };
    var fetched = function () {
      left -= 1;
      if (left === 0) reload();
    };
    for (var k = 0; k < urls.length; k++) {
      fetch(urls[k], { cache: 'reload', credentials: 'same-origin' }).then(function (r) { return r.arrayBuffer(); }).then(fetched, fetched);
    }
    setTimeout(reload, REFETCH_WAIT_MS);
  }
  // This copy came from the browser's cache and is not the server's version (Porthole was
  // updated): fetch the script past the cache, and reload once the cache holds the server's one
  // (never otherwise, so a cache that keeps the old copy cannot make the page reload in a loop).
  function refreshClient(wanted) {
    if (state.refreshing || !tag || !tag.src || typeof fetch !== 'function' || underPolicy) return;
    state.refreshing = true;
    fetch(tag.src, { cache: 'reload', credentials: 'same-origin' }).then(function (r) {
      return r.ok ? r.text() : '';
    }).then(function (text) {
      if (text.indexOf("var VERSION = '" + wanted + "';") >= 0) location.reload();
    }, function () { /* this copy keeps working */ });
  }
  function handle(message) {
    if (!message || typeof message.type !== 'string') return;
    if (message.type === 'hello') {
      if (typeof message.client === 'string' && message.client !== VERSION) refreshClient(message.client);
      var knownId = state.id !== null ? state.id : servedId;
      var behind = knownId !== null && (knownId !== message.id || (state.generation !== null && state.generation !== message.generation));
      if (behind && !reloadedFor(message.id, message.generation)) {
        reloadPage(message.id, message.generation);
        return;
      }
      forgetReload();
      state.id = message.id;
      state.generation = message.generation;
      state.attempts = 0;
      state.setConsole(message.console);
      state.flushConsole();
      return;
    }
    if (message.type === 'console') {
      state.setConsole(message.forward);
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
    state.changed = paths;
    if (message.type === 'css') swapStylesheets(paths);
    else if (message.type === 'img') refreshImages(paths);
    else if (message.type !== 'source' || loadedAnyOf(paths)) reloadPage();
  }
  function retry() {
    if (retryTimer !== null) return;
    var delay = Math.min(RETRY_MAX_MS, 250 * Math.pow(2, Math.min(state.attempts++, 10)));
    retryTimer = setTimeout(connect, delay);
  }
  // Back online, or the tab shown again (a laptop woken up): no waiting out the backoff.
  function reconnectNow() {
    if (state.socket !== null || retryTimer === null) return;
    state.attempts = 0;
    clearTimeout(retryTimer);
    connect();
  }
  window.addEventListener('online', reconnectNow);
  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState === 'visible') reconnectNow();
  });
  function connect() {
    retryTimer = null;
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
  // ---- console forwarding -----------------------------------------------------------------
  var LEVELS = ['error', 'warn', 'info', 'log', 'debug'];
  var MAX_QUEUE = 100, MAX_TEXT = 2000, MAX_STACK = 4000, MAX_URL = 1000, MAX_DEPTH = 3, MAX_ITEMS = 20;
  var BATCH_MS = 100, MAX_MESSAGE_CHARS = 16000;
  var forwarding = 'off', hooked = null, queue = [], queueDropped = 0, flushTimer = null, busy = false;
  var clientUrl = tag && tag.src ? tag.src.split('?')[0] : '';
  // At most max characters; a longer text is cut and ends with how much more there was, within
  // max (the server's own cut then leaves it whole): cut silently, a 2,500-character message was
  // shown as exactly 2,000 and read as complete (helper-170).
  function cut(text, max) {
    text = String(text);
    if (text.length <= max) return text;
    var keep = max, mark = '';
    // The mark's length depends on the count it gives: until what is kept and the mark fit.
    for (var i = 0; i < 4; i++) {
      var more = text.length - keep;
      mark = ' … (' + more + ' more character' + (more === 1 ? '' : 's') + ')';
      if (keep + mark.length <= max) break;
      keep = max - mark.length;
    }
    return keep < 1 || keep + mark.length > max ? text.slice(0, max) : text.slice(0, keep) + mark;
  }
  // Built-ins whose meaning is in internal slots (no own keys: a Date, a Map showed as {}), taken
  // before the page's scripts run (the client is the head's first script when forwarding is on),
  // so showing one calls none of the page's code.
  function getterOf(proto, name) {
    var d = Object.getOwnPropertyDescriptor(proto, name);
    return d && d.get;
  }
  var dateText = Date.prototype.toString, dateTime = Date.prototype.getTime;
  var regexpSource = getterOf(RegExp.prototype, 'source'), regexpFlags = getterOf(RegExp.prototype, 'flags');
  var mapSize = getterOf(Map.prototype, 'size'), setSize = getterOf(Set.prototype, 'size');
  var mapEntries = Map.prototype.entries, setValues = Set.prototype.values;
  var mapNext = Object.getPrototypeOf(new Map().entries()).next, setNext = Object.getPrototypeOf(new Set().values()).next;
  var typedProto = Object.getPrototypeOf(Uint8Array.prototype);
  var typedLength = getterOf(typedProto, 'length'), typedName = getterOf(typedProto, Symbol.toStringTag);
  var bufferLength = getterOf(ArrayBuffer.prototype, 'byteLength'), isView = ArrayBuffer.isView;
  // A typed array as \`Uint8Array(3) [1, 2, 3]\` (its elements are no own keys a page can make
  // getters of), an ArrayBuffer as \`ArrayBuffer {byteLength: 8}\`.
  function showBinary(value, budget) {
    if (!isView(value)) return 'ArrayBuffer {byteLength: ' + bufferLength.call(value) + '}';
    var n = typedLength.call(value), parts = [];
    for (var i = 0; i < n && i < MAX_ITEMS && budget.left > 0; i++) {
      var item = String(value[i]) + (typeof value[i] === 'bigint' ? 'n' : '');
      parts.push(item);
      budget.left -= item.length + 2;
    }
    if (n > MAX_ITEMS) parts.push('… ' + (n - MAX_ITEMS) + ' more');
    return typedName.call(value) + '(' + n + ') [' + parts.join(', ') + ']';
  }
  // A Map as \`Map(2) {key => value, …}\`, a Set as \`Set(2) {value, …}\` (as the browser's console
  // and Node show them): MAX_ITEMS entries, each shown one level deeper.
  function showCollection(value, isMap, depth, seen, budget) {
    var n = (isMap ? mapSize : setSize).call(value);
    var it = (isMap ? mapEntries : setValues).call(value), next = isMap ? mapNext : setNext;
    var parts = [];
    seen.push(value);
    for (var i = 0; i < n && i < MAX_ITEMS && budget.left > 0; i++) {
      var step = next.call(it);
      if (step.done) break;
      var item = isMap ? show(step.value[0], depth + 1, seen, budget) + ' => ' + show(step.value[1], depth + 1, seen, budget) : show(step.value, depth + 1, seen, budget);
      parts.push(item);
      budget.left -= item.length + 2;
    }
    seen.pop();
    if (n > MAX_ITEMS) parts.push('… ' + (n - MAX_ITEMS) + ' more');
    return (isMap ? 'Map(' : 'Set(') + n + ') {' + parts.join(', ') + '}';
  }
  // One value as text, within budget.left characters (objects: MAX_DEPTH levels, MAX_ITEMS each).
  function show(value, depth, seen, budget) {
    if (budget.left <= 0) return '…';
    var out;
    var t = typeof value;
    if (t === 'string') out = depth === 0 ? cut(value, budget.left) : JSON.stringify(cut(value, Math.min(budget.left, 200)));
    else if (value === null || t === 'undefined' || t === 'number' || t === 'boolean' || t === 'bigint') out = String(value);
    else if (t === 'symbol') out = value.toString();
    else if (t === 'function') out = '[Function' + (value.name ? ': ' + value.name : '') + ']';
    else if (value instanceof Error) out = String(value.name) + ': ' + String(value.message);
    else if (value instanceof Date) out = isNaN(dateTime.call(value)) ? 'Invalid Date' : dateText.call(value);
    else if (value instanceof RegExp) out = '/' + regexpSource.call(value) + '/' + (Object.getPrototypeOf(value) === RegExp.prototype ? regexpFlags.call(value) : '');
    else if (value instanceof ArrayBuffer || (isView(value) && typedName.call(value) !== undefined)) out = showBinary(value, budget);
    else if (seen.indexOf(value) >= 0) out = '[Circular]';
    else if (typeof Node !== 'undefined' && value instanceof Node) {
      out = value.nodeType === 1 ? '<' + value.nodeName.toLowerCase() + (value.id ? '#' + value.id : '') + '>' : '[' + value.nodeName + ']';
    } else if (depth >= MAX_DEPTH) out = Array.isArray(value) ? '[Array]' : value instanceof Map ? '[Map]' : value instanceof Set ? '[Set]' : '[Object]';
    else if (value instanceof Map || value instanceof Set) out = showCollection(value, value instanceof Map, depth, seen, budget);
    else {
      seen.push(value);
      var parts = [];
      var isArray = Array.isArray(value);
      var keys = isArray ? null : Object.keys(value);
      var n = isArray ? value.length : keys.length;
      for (var i = 0; i < n && i < MAX_ITEMS && budget.left > 0; i++) {
        var item;
        try {
          // Through its descriptor: a getter is the page's code (a lazy value, a counter, a
          // framework's tracking), and a console call must not run it, as DevTools does not.
          var d = Object.getOwnPropertyDescriptor(value, isArray ? String(i) : keys[i]);
          if (d && !('value' in d)) item = d.get ? (d.set ? '[Getter/Setter]' : '[Getter]') : '[Setter]';
          else item = show(d ? d.value : undefined, depth + 1, seen, budget);
        } catch (e) { item = '[unreadable]'; }
        parts.push(isArray ? item : keys[i] + ': ' + item);
        budget.left -= item.length + 2;
      }
      if (n > MAX_ITEMS) parts.push('… ' + (n - MAX_ITEMS) + ' more');
      seen.pop();
      out = isArray ? '[' + parts.join(', ') + ']' : '{' + parts.join(', ') + '}';
    }
    return out;
  }
  // The Console Standard's formatter (§2.2.1): a first argument that is a string with %s, %d,
  // %i, %f, %o, %O or %c takes the arguments after it, in order, as the browser's console shows
  // them (console.error('Failed to load %s', url), React's warnings); %c's CSS is consumed and
  // shows nothing; a specifier with no argument left stays as written. Never runs the page's code:
  // an object under %s, %o or %O is shown as any argument is, under %d, %i or %f it is NaN (their
  // parseInt/parseFloat would call its toString). Returns the text and the index of the first
  // argument not consumed, or null when the first argument formats nothing.
  function formatted(args, budget) {
    var format = args[0];
    if (args.length < 2 || typeof format !== 'string' || !/%[sdifoOc]/.test(format)) return null;
    var re = /%([sdifoOc])/g, out = '', next = 1, last = 0, m;
    while (next < args.length && (m = re.exec(format)) !== null) {
      var v = args[next++], c = m[1], t = typeof v, piece = '';
      var numeric = t === 'number' || t === 'string' || t === 'bigint';
      if (c === 's') piece = t === 'string' ? v : show(v, 0, [], budget);
      else if (c === 'd' || c === 'i') piece = numeric ? String(parseInt(String(v), 10)) : 'NaN';
      else if (c === 'f') piece = numeric ? String(parseFloat(String(v))) : 'NaN';
      else if (c === 'o' || c === 'O') piece = t === 'string' ? JSON.stringify(cut(v, 200)) : show(v, 0, [], budget);
      out += format.slice(last, m.index) + piece;
      last = re.lastIndex;
    }
    return { text: cut(out + format.slice(last), budget.left), next: next };
  }
  function describe(args) {
    var budget = { left: MAX_TEXT }, parts = [], stack, i = 0;
    var first = null;
    try { first = formatted(args, budget); } catch (e) { first = null; }
    if (first !== null) {
      budget.left -= first.text.length + 1;
      parts.push(first.text);
      i = first.next;
    }
    for (; i < args.length && budget.left > 0; i++) {
      var text;
      try { text = show(args[i], 0, [], budget); } catch (e) { text = '[unreadable]'; }
      budget.left -= text.length + 1;
      parts.push(text);
    }
    // The first Error among the arguments gives the stack, whether a specifier took it or not.
    for (var j = 0; j < args.length && stack === undefined; j++) {
      if (args[j] instanceof Error && typeof args[j].stack === 'string') stack = cut(args[j].stack, MAX_STACK);
    }
    return { text: cut(parts.join(' '), MAX_TEXT), stack: stack };
  }
  // The caller of console.error/warn: the first frame of a fresh stack that is not this script.
  function callSite(entry) {
    var lines = String(new Error().stack || '').split('\\n');
    for (var i = 1; i < lines.length; i++) {
      if (clientUrl && lines[i].indexOf(clientUrl) >= 0) continue;
      var m = /\\(?((?:https?|file|blob):[^\\s()]*?):(\\d+):(\\d+)\\)?\\s*$/.exec(lines[i]);
      if (m) {
        entry.source = cut(m[1], MAX_URL);
        entry.line = Number(m[2]);
        entry.column = Number(m[3]);
        return;
      }
    }
  }
  function enqueue(entry) {
    if (queue.length >= MAX_QUEUE) { queueDropped++; return; }
    queue.push(entry);
    if (flushTimer === null) flushTimer = setTimeout(flushConsole, BATCH_MS);
  }
  // Sends what waits, after the hello (the mode is then the server's); batches of MAX_MESSAGE_CHARS
  // of JSON at most: under 48 KB in UTF-8, below the server's 64 KiB frame cap.
  function flushConsole() {
    flushTimer = null;
    var socket = state.socket;
    if (!socket || socket.readyState !== 1 || state.id === null) return;
    if (queue.length === 0 && queueDropped === 0) return;
    var batch = [], size = 0;
    while (queue.length > 0) {
      var json = JSON.stringify(queue[0]);
      if (json.length > MAX_MESSAGE_CHARS) {
        queue[0].text = cut(queue[0].text, 500);
        if (queue[0].stack) queue[0].stack = cut(queue[0].stack, 500);
        if (queue[0].source) queue[0].source = cut(queue[0].source, 500);
        json = JSON.stringify(queue[0]);
      }
      if (batch.length > 0 && size + json.length > MAX_MESSAGE_CHARS) break;
      batch.push(queue.shift());
      size += json.length;
    }
    var message = { type: 'console', page: cut(location.href, MAX_URL), entries: batch, dropped: queueDropped };
    queueDropped = 0;
    try { socket.send(JSON.stringify(message)); } catch (e) { /* the socket closed meanwhile */ }
    if (queue.length > 0) flushTimer = setTimeout(flushConsole, BATCH_MS);
  }
  function wrap(level, original) {
    return function () {
      if (!busy && forwarding !== 'off') {
        busy = true;
        try {
          var d = describe(arguments);
          var entry = { kind: 'console', level: level, text: d.text };
          if (d.stack !== undefined) entry.stack = d.stack;
          if (level === 'error' || level === 'warn') callSite(entry);
          enqueue(entry);
        } catch (e) { /* never into the page */ }
        busy = false;
      }
      return original.apply(this, arguments);
    };
  }
  function onError(e) {
    if (busy || forwarding === 'off') return;
    busy = true;
    try {
      if (e && typeof e.message === 'string') {
        var entry = { kind: 'error', level: 'error', text: cut(e.message, MAX_TEXT) };
        if (e.filename) entry.source = cut(e.filename, MAX_URL);
        if (e.lineno) entry.line = e.lineno;
        if (e.colno) entry.column = e.colno;
        if (e.error && typeof e.error.stack === 'string') entry.stack = cut(e.error.stack, MAX_STACK);
        enqueue(entry);
      }
    } catch (err) { /* never into the page */ }
    busy = false;
  }
  function onRejection(e) {
    if (busy || forwarding === 'off') return;
    busy = true;
    try {
      var d = describe([e ? e.reason : undefined]);
      var entry = { kind: 'rejection', level: 'error', text: 'Uncaught (in promise) ' + d.text };
      if (d.stack !== undefined) entry.stack = d.stack;
      enqueue(entry);
    } catch (err) { /* never into the page */ }
    busy = false;
  }
  function unhookConsole() {
    if (hooked === null) return;
    for (var level in hooked) {
      // Put the page's method back unless something wrapped ours since (then ours passes through).
      try { if (console[level] === hooked[level].wrapper) console[level] = hooked[level].original; } catch (e) { /* read-only */ }
    }
    window.removeEventListener('error', onError);
    window.removeEventListener('unhandledrejection', onRejection);
    hooked = null;
  }
  function setForwarding(mode) {
    if (mode !== 'off' && mode !== 'errors' && mode !== 'all') return;
    if (mode === forwarding) return;
    unhookConsole();
    forwarding = mode;
    if (mode === 'off') {
      queue = [];
      queueDropped = 0;
      return;
    }
    hooked = {};
    try {
      if (typeof console !== 'undefined') {
        var levels = mode === 'all' ? LEVELS : ['error'];
        for (var i = 0; i < levels.length; i++) {
          var original = console[levels[i]];
          if (typeof original !== 'function') continue;
          var wrapper = wrap(levels[i], original);
          console[levels[i]] = wrapper;
          hooked[levels[i]] = { original: original, wrapper: wrapper };
        }
      }
    } catch (e) { /* a frozen console: methods stay as they are */ }
    window.addEventListener('error', onError);
    window.addEventListener('unhandledrejection', onRejection);
    if (mode === 'errors') queue = queue.filter(function (q) { return q.kind !== 'console' || q.level === 'error'; });
  }
  setForwarding(tag ? tag.getAttribute('data-porthole-console') : null);
  state.setConsole = setForwarding;
  state.flushConsole = flushConsole;
  connect();
})();
//# sourceMappingURL=client.js.map
`;

/**
 * The client as served, made on first use (a page injected, the script asked for): hashing,
 * copying and mapping its ~50 KB at start-up cost the CLI's start ~1.5 ms and ~0.3 MB of young
 * memory (a scavenge sooner) that a server whose pages nobody opens never needed.
 */
export interface LiveReloadClient {
  /**
   * Changes whenever the script does (12 hex digits of its SHA-256): part of the client's ETag and
   * of injected pages' ETags, said in every `hello`, and written into the script itself (a cached
   * copy knows it is another one).
   */
  readonly version: string;
  /** The browser side of live reload, as served (its version written in). */
  readonly script: string;
  /**
   * The script's source map (Source Map Revision 3, with its `ignoreList`; Chromium's older name
   * `x_google_ignoreList` too): each line maps to itself in one source, which is on the ignore
   * list. Console forwarding wraps `console.error` (and with `--console all` the other methods), so
   * the call's top frame is in this script: DevTools named `client.js:657` as the place of every
   * console.error of the page (helper-151). DevTools leaves ignore-listed frames out (its default),
   * so the page's own line is named again. Only DevTools fetches it (`//# sourceMappingURL`,
   * relative to the script's URL, so under a proxy's prefix too).
   */
  readonly sourceMap: string;
}

let client: LiveReloadClient | undefined;

/** The live-reload client (LiveReloadClient), made on the first call and kept. */
export function liveReloadClient(): LiveReloadClient {
  if (client !== undefined) return client;
  const version = nodeCrypto().createHash('sha256').update(CLIENT_SOURCE).digest('hex').slice(0, 12);
  const script = CLIENT_SOURCE.replace(VERSION_PLACEHOLDER, version);
  const sourceMap = JSON.stringify({
    version: 3,
    file: 'client.js',
    sources: ['porthole-live-reload-client.js'],
    sourcesContent: [script],
    names: [],
    // Line 1 column 0 → source 0 line 0 column 0 (AAAA); each next line one line further (AACA).
    mappings: ['AAAA', ...Array.from({ length: script.split('\n').length - 1 }, () => 'AACA')].join(';'),
    ignoreList: [0],
    x_google_ignoreList: [0],
  });
  return (client = { version, script, sourceMap });
}
