// @ts-check
/**
 * The Requests view (webview side). A tree: client → requests → details (request headers,
 * response headers, timing); a page's console messages sit among its client's requests (message,
 * stack, page and source as their details). The host sends a snapshot when this page loads, then batched appends;
 * this script never re-renders the whole tree for an append. Every request field is hostile data
 * and is inserted with textContent only. UI state (filter, expanded nodes, focus) is kept with
 * getState/setState so it survives hide/show. Messages: src/extension/requests/webview-protocol.ts.
 * Above the tree, the sharing panel: each running server's URLs (copyable) and, when shared on the
 * network, the QR code of the chosen URL — an SVG the host drew with uqr, parsed here as SVG and
 * kept only if it is nothing but <svg>, <rect> and <path> (no script, no links, no styles).
 */
(function () {
  'use strict';

  /** @typedef {import('../src/extension/requests/webview-protocol').HostToView} HostToView */
  /** @typedef {import('../src/extension/requests/webview-protocol').ViewToHost} ViewToHost */
  /** @typedef {import('../src/extension/requests/webview-protocol').RequestRow} RequestRow */
  /** @typedef {import('../src/extension/requests/webview-protocol').RequestDetails} RequestDetails */
  /** @typedef {import('../src/extension/requests/webview-protocol').SharingServer} SharingServer */
  /**
   * @typedef {{ filter: string, classes: Record<string, boolean>, collapsedClients: string[],
   *   expanded: string[], focusId: string | undefined, scrollTop: number,
   *   qrChoice: Record<string, string> }} UiState
   * @typedef {{ row: RequestRow, li: HTMLLIElement, search: string }} RowEntry
   * @typedef {{ ip: string, li: HTMLLIElement, group: HTMLUListElement, host: HTMLSpanElement,
   *   count: HTMLSpanElement, seen: HTMLSpanElement, lastSeen: string, total: number, visible: number,
   *   search: string }} ClientEntry
   */

  // @ts-ignore acquireVsCodeApi is injected by VS Code
  const vscode = acquireVsCodeApi();

  /** @type {UiState} */
  const ui = Object.assign(
    { filter: '', classes: { '2xx': true, '3xx': true, '4xx': true, '5xx': true }, collapsedClients: [], expanded: [], focusId: undefined, scrollTop: 0, qrChoice: {} },
    vscode.getState() || {},
  );
  const collapsedClients = new Set(ui.collapsedClients);
  /** Ids of expanded request and detail nodes ("r:<key>", "d:<key>:<section>"). */
  const expanded = new Set(ui.expanded);

  const tree = /** @type {HTMLUListElement} */ (document.getElementById('tree'));
  const filterInput = /** @type {HTMLInputElement} */ (document.getElementById('filter'));
  const summary = /** @type {HTMLElement} */ (document.getElementById('summary'));
  const empty = /** @type {HTMLElement} */ (document.getElementById('empty'));
  const pauseButton = /** @type {HTMLButtonElement} */ (document.getElementById('pause'));
  const clearButton = /** @type {HTMLButtonElement} */ (document.getElementById('clear'));
  const chips = /** @type {HTMLButtonElement[]} */ (Array.from(document.querySelectorAll('.chip')));
  const sharingPanel = /** @type {HTMLElement} */ (document.getElementById('sharing'));
  tree.tabIndex = -1;

  /** @type {Map<number, RowEntry>} */
  const rows = new Map();
  /** Keys oldest first (for trimming); `head` is the first live index. */
  /** @type {number[]} */
  let order = [];
  let head = 0;
  /** @type {Map<string, ClientEntry>} */
  const clients = new Map();
  /** @type {Map<number, RequestDetails>} */
  const details = new Map();
  let maxEntries = 10000;
  /** The oldest key the host keeps (append's `oldest`); older rows are dropped by trim(). */
  let oldestKept = 0;
  let dropped = 0;
  let paused = false;
  let saveTimer = 0;
  let filterTimer = 0;

  /** @param {ViewToHost} message */
  function post(message) {
    vscode.postMessage(message);
  }

  function saveState() {
    if (saveTimer) return;
    saveTimer = window.setTimeout(() => {
      saveTimer = 0;
      ui.collapsedClients = Array.from(collapsedClients);
      ui.expanded = Array.from(expanded).slice(-500);
      ui.scrollTop = document.scrollingElement ? document.scrollingElement.scrollTop : 0;
      vscode.setState(ui);
    }, 200);
  }

  /**
   * @param {string} tag
   * @param {string} [className]
   * @param {string} [text]
   */
  function el(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  /**
   * A treeitem <li> with its row <div>; `level` is aria-level.
   * @param {string} id
   * @param {number} level
   * @param {boolean | undefined} expandable
   */
  function treeItem(id, level, expandable) {
    const li = /** @type {HTMLLIElement} */ (el('li', `node level-${Math.min(level, 4)}`));
    li.setAttribute('role', 'treeitem');
    li.setAttribute('aria-level', String(level));
    li.tabIndex = -1;
    li.dataset.id = id;
    const row = el('div', 'row');
    row.appendChild(el('span', 'twisty', expandable ? '' : ' '));
    li.appendChild(row);
    return { li, row };
  }

  // ------------------------------------------------------------------ model → DOM

  /** @param {RequestRow} r */
  function searchText(r) {
    return `${r.method} ${r.target} ${r.status} ${r.server} ${r.note || ''}`.toLowerCase();
  }

  /** @param {RequestRow} r */
  function ensureClient(r) {
    let c = clients.get(r.clientIp);
    if (c) return c;
    const { li, row } = treeItem(`c:${r.clientIp}`, 1, true);
    li.classList.add('client');
    const isOpen = !collapsedClients.has(r.clientIp);
    li.setAttribute('aria-expanded', String(isOpen));
    row.appendChild(el('span', 'codicon-like client-icon', '\u25C9'));
    row.appendChild(el('span', 'client-ip', r.clientIp));
    const host = /** @type {HTMLSpanElement} */ (el('span', 'client-host', r.clientHost && r.clientHost !== r.clientIp ? r.clientHost : ''));
    row.appendChild(host);
    const seen = /** @type {HTMLSpanElement} */ (el('span', 'client-seen', ''));
    row.appendChild(seen);
    const count = /** @type {HTMLSpanElement} */ (el('span', 'count', '0'));
    count.title = 'Requests from this device';
    row.appendChild(count);
    const group = /** @type {HTMLUListElement} */ (el('ul', 'group'));
    group.setAttribute('role', 'group');
    group.hidden = !isOpen;
    li.appendChild(group);
    tree.appendChild(li);
    c = { ip: r.clientIp, li, group, host, count, seen, lastSeen: '', total: 0, visible: 0, search: `${r.clientIp} ${r.clientHost || ''}`.toLowerCase() };
    clients.set(r.clientIp, c);
    if (!tree.querySelector('[tabindex="0"]')) li.tabIndex = 0;
    return c;
  }

  /** A page's console message: its label, first line and source, coloured by level. */
  /** @param {RequestRow} r @param {NonNullable<RequestRow['console']>} c */
  function consoleItem(r, c) {
    const { li, row } = treeItem(`r:${r.key}`, 2, true);
    li.classList.add('request', 'console', `console-${c.level}`);
    li.dataset.key = String(r.key);
    li.setAttribute('aria-expanded', 'false');
    row.appendChild(el('span', 'method console-label', r.method));
    const text = el('span', 'path console-text', r.target);
    text.title = c.page ? `${r.target}\n${c.page}` : r.target;
    row.appendChild(text);
    if (c.where) row.appendChild(el('span', 'console-where', c.where.replace(/^.*\//, '')));
    row.appendChild(el('span', 'time', r.timeText));
    li.setAttribute('aria-label', `${r.method}: ${r.target}${c.where ? ` at ${c.where}` : ''}, ${r.timeText}`);
    return li;
  }

  /** @param {RequestRow} r */
  function requestItem(r) {
    if (r.console) return consoleItem(r, r.console);
    const id = `r:${r.key}`;
    const { li, row } = treeItem(id, 2, true);
    li.classList.add('request');
    li.dataset.key = String(r.key);
    // VS Code's webview/context menu ("Copy as curl") gets this object as its argument.
    li.dataset.vscodeContext = JSON.stringify({ webviewSection: 'request', requestKey: r.key });
    li.setAttribute('aria-expanded', 'false');
    row.appendChild(el('span', 'method', r.method));
    const path = el('span', r.hasFile ? 'path link' : 'path', r.target);
    path.title = r.hasFile ? `${r.target} (click to open the served file)` : r.target;
    row.appendChild(path);
    row.appendChild(el('span', `status status-${r.statusClass}`, String(r.status)));
    row.appendChild(el('span', 'bytes', r.bytesText));
    row.appendChild(el('span', 'duration', r.durationText));
    row.appendChild(el('span', 'time', r.timeText));
    if (r.aborted) row.appendChild(el('span', 'flag', 'aborted'));
    if (r.note) row.appendChild(el('span', 'note', r.note));
    li.setAttribute('aria-label', `${r.method} ${r.target} ${r.status} ${r.bytesText} ${r.durationText} at ${r.timeText}`);
    // The whole line on hover: a narrow side bar hides the time and duration cells (requests.css).
    row.title = `${r.method} ${r.target} \u2192 ${r.status}, ${r.bytesText}, ${r.durationText}, at ${r.timeText}${r.aborted ? ', aborted' : ''}${r.note ? ` (${r.note})` : ''}`;
    return li;
  }

  /** @param {RowEntry} entry @param {ClientEntry} c */
  function matches(entry, c) {
    const cls = entry.row.statusClass;
    if (cls in ui.classes && !ui.classes[cls]) return false;
    const f = ui.filter.trim().toLowerCase();
    if (!f) return true;
    return entry.search.includes(f) || c.search.includes(f);
  }

  /** @param {ClientEntry} c */
  function updateClient(c) {
    c.count.textContent = c.visible === c.total ? String(c.total) : `${c.visible} of ${c.total}`;
    c.seen.textContent = c.lastSeen ? `last seen ${c.lastSeen}` : '';
    const name = c.host.textContent ? ` (${c.host.textContent})` : '';
    c.li.setAttribute('aria-label', `Device ${c.ip}${name}, ${c.total} request${c.total === 1 ? '' : 's'}${c.lastSeen ? `, last seen ${c.lastSeen}` : ''}`);
    c.li.hidden = c.visible === 0;
  }

  function updateSummary() {
    const total = rows.size;
    let messages = 0;
    for (const entry of rows.values()) if (entry.row.console) messages++;
    const requests = total - messages;
    const parts = [`${requests} request${requests === 1 ? '' : 's'}`];
    if (messages > 0) parts.push(`${messages} console message${messages === 1 ? '' : 's'}`);
    if (dropped > 0) parts.push(`${dropped} older dropped (keeps the last ${maxEntries})`);
    if (paused) parts.push('paused');
    summary.textContent = parts.join(' \u00B7 ');
    empty.hidden = total > 0;
    pauseButton.textContent = paused ? 'Resume' : 'Pause';
    pauseButton.setAttribute('aria-pressed', String(paused));
  }

  /** Adds rows (oldest first) without touching existing ones; newest show first under a client. */
  /** @param {readonly RequestRow[]} newRows */
  function addRows(newRows) {
    /** @type {Map<ClientEntry, DocumentFragment>} */
    const fragments = new Map();
    for (let i = newRows.length - 1; i >= 0; i--) {
      const r = newRows[i];
      if (!r || rows.has(r.key)) continue;
      const c = ensureClient(r);
      // Rows arrive oldest first and are walked newest first: the first seen is the last seen.
      if (!fragments.has(c)) c.lastSeen = r.timeText;
      const li = requestItem(r);
      const entry = { row: r, li, search: searchText(r) };
      rows.set(r.key, entry);
      c.total++;
      if (matches(entry, c)) c.visible++;
      else li.hidden = true;
      let frag = fragments.get(c);
      if (!frag) {
        frag = document.createDocumentFragment();
        fragments.set(c, frag);
      }
      frag.appendChild(li);
      if (expanded.has(`r:${r.key}`)) setExpanded(li, true);
    }
    for (let i = 0; i < newRows.length; i++) {
      const r = newRows[i];
      if (r) order.push(r.key);
    }
    for (const [c, frag] of fragments) {
      c.group.insertBefore(frag, c.group.firstChild);
      updateClient(c);
    }
    trim();
  }

  /**
   * Drops the oldest rows beyond maxEntries, and those below `oldestKept`, the oldest key the host
   * still keeps (it also drops by bytes): the host counts them in `dropped`.
   */
  function trim() {
    while (head < order.length && (rows.size > maxEntries || /** @type {number} */ (order[head]) < oldestKept)) {
      const key = /** @type {number} */ (order[head++]);
      removeRow(key);
    }
    if (head > 1024 && head * 2 > order.length) {
      order = order.slice(head);
      head = 0;
    }
  }

  /** @param {number} key */
  function removeRow(key) {
    const entry = rows.get(key);
    if (!entry) return;
    rows.delete(key);
    details.delete(key);
    const c = clients.get(entry.row.clientIp);
    if (entry.li.contains(document.activeElement) && c) c.li.focus();
    entry.li.remove();
    if (!c) return;
    c.total--;
    if (!entry.li.hidden) c.visible--;
    if (c.total === 0) {
      if (c.li.contains(document.activeElement)) tree.focus();
      c.li.remove();
      clients.delete(c.ip);
    } else {
      updateClient(c);
    }
  }

  function reset() {
    tree.textContent = '';
    rows.clear();
    clients.clear();
    details.clear();
    order = [];
    head = 0;
    oldestKept = 0;
  }

  function applyFilter() {
    for (const c of clients.values()) c.visible = 0;
    for (const entry of rows.values()) {
      const c = clients.get(entry.row.clientIp);
      if (!c) continue;
      const show = matches(entry, c);
      entry.li.hidden = !show;
      if (show) c.visible++;
    }
    for (const c of clients.values()) updateClient(c);
    for (const chip of chips) chip.setAttribute('aria-pressed', String(ui.classes[chip.dataset.class || ''] !== false));
    saveState();
  }

  // ------------------------------------------------------------------ details

  /**
   * @param {HTMLElement} parent
   * @param {string} id
   * @param {string} title
   * @param {ReadonlyArray<readonly [string, string]>} pairs
   */
  function detailSection(parent, id, title, pairs) {
    const { li, row } = treeItem(id, 3, true);
    li.classList.add('section');
    row.appendChild(el('span', 'section-title', title));
    row.appendChild(el('span', 'count', String(pairs.length)));
    const group = /** @type {HTMLUListElement} */ (el('ul', 'group'));
    group.setAttribute('role', 'group');
    for (const [name, value] of pairs) {
      const item = treeItem(`${id}:${name}`, 4, false);
      item.li.classList.add('pair');
      item.row.appendChild(el('span', 'name', `${name}:`));
      item.row.appendChild(el('span', 'value', value));
      item.row.title = `${name}: ${value}`;
      group.appendChild(item.li);
    }
    li.appendChild(group);
    parent.appendChild(li);
    setExpanded(li, expanded.has(id));
  }

  /**
   * A section of text lines (a console message, a stack), open by default, each line as it is.
   * @param {HTMLElement} parent
   * @param {string} id
   * @param {string} title
   * @param {readonly string[]} lines
   */
  function linesSection(parent, id, title, lines) {
    const { li, row } = treeItem(id, 3, true);
    li.classList.add('section');
    row.appendChild(el('span', 'section-title', title));
    const group = /** @type {HTMLUListElement} */ (el('ul', 'group'));
    group.setAttribute('role', 'group');
    lines.forEach((line, i) => {
      const item = treeItem(`${id}:${i}`, 4, false);
      item.li.classList.add('pair', 'line');
      item.row.appendChild(el('span', 'value', line));
      item.row.title = line;
      group.appendChild(item.li);
    });
    li.appendChild(group);
    parent.appendChild(li);
    setExpanded(li, true);
  }

  /** @param {HTMLLIElement} li @param {RequestDetails | undefined} d */
  function renderDetails(li, d) {
    const key = Number(li.dataset.key);
    let group = /** @type {HTMLUListElement | null} */ (li.querySelector(':scope > ul'));
    if (group) group.remove();
    group = /** @type {HTMLUListElement} */ (el('ul', 'group'));
    group.setAttribute('role', 'group');
    if (!d) {
      const { li: gone } = treeItem(`d:${key}:gone`, 3, false);
      gone.appendChild(el('span', 'muted', 'Details are no longer available.'));
      group.appendChild(gone);
    } else if (d.message) {
      linesSection(group, `d:${key}:msg`, 'Message', d.message);
      if (d.stack && d.stack.length > 0) linesSection(group, `d:${key}:stack`, 'Stack', d.stack);
      detailSection(group, `d:${key}:timing`, 'Where', d.timing);
    } else {
      detailSection(group, `d:${key}:req`, 'Request headers', d.requestHeaders);
      detailSection(group, `d:${key}:res`, 'Response headers', d.responseHeaders);
      detailSection(group, `d:${key}:timing`, 'Timing', d.timing);
      const { li: copy, row } = treeItem(`d:${key}:curl`, 3, false);
      copy.classList.add('action-item', 'copy-curl');
      copy.dataset.key = String(key);
      row.appendChild(el('span', 'action-label', 'Copy as curl'));
      copy.title = 'Copy this request as a curl command line for a POSIX shell (bodies are not kept)';
      group.appendChild(copy);
    }
    group.hidden = li.getAttribute('aria-expanded') !== 'true';
    li.appendChild(group);
  }

  /** @param {HTMLLIElement} li @param {boolean} open */
  function setExpanded(li, open) {
    if (!li.hasAttribute('aria-expanded')) return;
    li.setAttribute('aria-expanded', String(open));
    const id = li.dataset.id || '';
    if (li.classList.contains('client')) {
      const ip = id.slice(2);
      if (open) collapsedClients.delete(ip);
      else collapsedClients.add(ip);
    } else if (open) expanded.add(id);
    else expanded.delete(id);
    const group = /** @type {HTMLElement | null} */ (li.querySelector(':scope > ul'));
    if (group) group.hidden = !open;
    if (open && li.classList.contains('request')) {
      const key = Number(li.dataset.key);
      const d = details.get(key);
      if (d) {
        if (!group) renderDetails(li, d);
      } else {
        post({ type: 'getDetails', key });
      }
    }
    saveState();
  }

  // ------------------------------------------------------------------ keyboard and mouse

  /** Treeitems currently shown (not hidden, every ancestor expanded), in document order. */
  function visibleItems() {
    /** @type {HTMLLIElement[]} */
    const out = [];
    /** @param {Element} list */
    const walk = (list) => {
      for (const child of Array.from(list.children)) {
        const li = /** @type {HTMLLIElement} */ (child);
        if (li.hidden || li.getAttribute('role') !== 'treeitem') continue;
        out.push(li);
        if (li.getAttribute('aria-expanded') === 'true') {
          const group = li.querySelector(':scope > ul');
          if (group) walk(group);
        }
      }
    };
    walk(tree);
    return out;
  }

  /** @param {HTMLLIElement | null | undefined} li */
  function focusItem(li) {
    if (!li) return;
    for (const old of Array.from(tree.querySelectorAll('[tabindex="0"]'))) /** @type {HTMLElement} */ (old).tabIndex = -1;
    li.tabIndex = 0;
    li.focus();
    ui.focusId = li.dataset.id;
    saveState();
  }

  /** @param {HTMLLIElement} li */
  function parentItem(li) {
    const group = li.parentElement;
    const parent = group && group.parentElement;
    return parent && parent.getAttribute('role') === 'treeitem' ? /** @type {HTMLLIElement} */ (parent) : null;
  }

  /** @param {HTMLLIElement} li */
  function activate(li) {
    const key = Number(li.dataset.key);
    const entry = rows.get(key);
    if (li.classList.contains('copy-curl')) post({ type: 'copyCurl', key });
    else if (li.classList.contains('request') && entry && entry.row.hasFile) post({ type: 'openFile', key });
    else if (li.hasAttribute('aria-expanded')) setExpanded(li, li.getAttribute('aria-expanded') !== 'true');
  }

  tree.addEventListener('keydown', (event) => {
    const current = /** @type {HTMLElement} */ (event.target).closest('[role="treeitem"]');
    if (!current) return;
    const li = /** @type {HTMLLIElement} */ (current);
    const items = visibleItems();
    const i = items.indexOf(li);
    const isOpen = li.getAttribute('aria-expanded') === 'true';
    switch (event.key) {
      case 'ArrowDown':
        focusItem(items[Math.min(i + 1, items.length - 1)]);
        break;
      case 'ArrowUp':
        focusItem(items[Math.max(i - 1, 0)]);
        break;
      case 'Home':
        focusItem(items[0]);
        break;
      case 'End':
        focusItem(items[items.length - 1]);
        break;
      case 'ArrowRight':
        if (li.hasAttribute('aria-expanded') && !isOpen) setExpanded(li, true);
        else if (isOpen) focusItem(items[i + 1]);
        break;
      case 'ArrowLeft':
        if (isOpen) setExpanded(li, false);
        else focusItem(parentItem(li));
        break;
      case 'Enter':
        activate(li);
        break;
      case ' ':
        if (li.hasAttribute('aria-expanded')) setExpanded(li, !isOpen);
        break;
      default:
        return;
    }
    event.preventDefault();
  });

  tree.addEventListener('click', (event) => {
    const target = /** @type {HTMLElement} */ (event.target);
    const li = /** @type {HTMLLIElement | null} */ (target.closest('[role="treeitem"]'));
    if (!li) return;
    focusItem(li);
    if (target.classList.contains('link') && li.classList.contains('request')) {
      post({ type: 'openFile', key: Number(li.dataset.key) });
      return;
    }
    if (li.classList.contains('copy-curl')) {
      post({ type: 'copyCurl', key: Number(li.dataset.key) });
      return;
    }
    if (target.closest('.row') && li.hasAttribute('aria-expanded')) setExpanded(li, li.getAttribute('aria-expanded') !== 'true');
  });

  filterInput.value = ui.filter;
  filterInput.addEventListener('input', () => {
    ui.filter = filterInput.value;
    // Kept at once, not on saveState's timer: the view may be hidden (and this page thrown away)
    // within the next 200 ms, and the filter typed must survive it.
    vscode.setState(ui);
    clearTimeout(filterTimer);
    filterTimer = window.setTimeout(applyFilter, 150);
  });
  for (const chip of chips) {
    chip.addEventListener('click', () => {
      const cls = chip.dataset.class || '';
      ui.classes[cls] = ui.classes[cls] === false;
      applyFilter();
    });
  }
  pauseButton.addEventListener('click', () => post({ type: 'setPaused', paused: !paused }));
  clearButton.addEventListener('click', () => post({ type: 'clear' }));
  window.addEventListener('scroll', saveState, { passive: true });

  // ------------------------------------------------------------------ messages from the host

  window.addEventListener('message', (event) => {
    /** @type {HostToView} */
    const m = event.data;
    switch (m && m.type) {
      case 'snapshot':
        if (m.type !== 'snapshot') break;
        reset();
        maxEntries = m.maxEntries;
        dropped = m.dropped;
        paused = m.paused;
        addRows(m.rows);
        applyFilter();
        restoreFocusAndScroll();
        break;
      case 'append':
        if (m.type !== 'append') break;
        dropped = m.dropped;
        oldestKept = m.oldest;
        addRows(m.rows);
        break;
      case 'hostname':
        if (m.type !== 'hostname') break;
        {
          const c = clients.get(m.ip);
          if (c) {
            c.host.textContent = m.name !== m.ip ? m.name : '';
            c.search = `${m.ip} ${m.name}`.toLowerCase();
            updateClient(c);
          }
        }
        break;
      case 'details':
        if (m.type !== 'details') break;
        {
          const entry = rows.get(m.key);
          if (m.details) details.set(m.key, m.details);
          if (entry) renderDetails(entry.li, m.details);
        }
        break;
      case 'cleared':
        reset();
        dropped = 0;
        break;
      case 'paused':
        if (m.type !== 'paused') break;
        paused = m.paused;
        break;
      case 'sharing':
        if (m.type !== 'sharing') break;
        renderSharing(m.servers);
        return;
      case 'maxEntries':
        if (m.type !== 'maxEntries') break;
        maxEntries = m.maxEntries;
        dropped = m.dropped;
        trim();
        break;
      default:
        return;
    }
    updateSummary();
  });

  // ------------------------------------------------------------------ sharing panel

  const SVG_NS = 'http://www.w3.org/2000/svg';
  const SVG_ALLOWED = new Set(['svg', 'rect', 'path']);
  const ATTR_ALLOWED = new Set(['xmlns', 'viewBox', 'width', 'height', 'fill', 'd', 'x', 'y']);

  /**
   * The host's QR SVG as an element, or null unless it is only <svg>/<rect>/<path> with plain
   * geometry and fill attributes.
   * @param {string} text
   */
  function parseQr(text) {
    const doc = new window.DOMParser().parseFromString(text, 'image/svg+xml');
    const root = doc.documentElement;
    if (root.namespaceURI !== SVG_NS || root.localName !== 'svg') return null;
    for (const node of [root, ...Array.from(root.querySelectorAll('*'))]) {
      if (node.namespaceURI !== SVG_NS || !SVG_ALLOWED.has(node.localName)) return null;
      for (const attr of Array.from(node.attributes)) if (!ATTR_ALLOWED.has(attr.name)) return null;
    }
    const svg = /** @type {Element} */ (document.importNode(root, true));
    svg.setAttribute('class', 'qr-svg');
    svg.setAttribute('role', 'img');
    svg.setAttribute('focusable', 'false');
    return svg;
  }

  /**
   * @param {string} url
   * @param {string} [label]
   */
  function urlLine(url, label) {
    const line = el('div', 'url-line');
    const text = el('span', 'url', url);
    text.title = url;
    line.appendChild(text);
    if (label) {
      const caption = el('span', 'url-label', label);
      caption.title = label;
      line.appendChild(caption);
    }
    const copy = /** @type {HTMLButtonElement} */ (el('button', 'copy', 'Copy'));
    copy.type = 'button';
    copy.title = `Copy ${url}`;
    copy.setAttribute('aria-label', `Copy ${url}`);
    copy.addEventListener('click', () => post({ type: 'copyUrl', url }));
    line.appendChild(copy);
    return line;
  }

  /** @param {readonly SharingServer[]} servers */
  function renderSharing(servers) {
    sharingPanel.textContent = '';
    sharingPanel.hidden = servers.length === 0;
    for (const s of servers) {
      const box = el('div', `share-server mode-${s.mode}`);
      const head = el('div', 'share-head');
      const title = el('span', 'share-title', s.server);
      title.title = s.server;
      head.appendChild(title);
      head.appendChild(el('span', 'mode-text', s.mode === 'shared' ? 'Shared on the network' : 'Local: this machine only'));
      const action = /** @type {HTMLButtonElement} */ (el('button', 'action share-action', s.mode === 'shared' ? 'Stop Sharing' : 'Share on Network'));
      action.type = 'button';
      // By id, not by the folder name two folders may share: the button acts on its own server.
      action.addEventListener('click', () => post({ type: s.mode === 'shared' ? 'stopSharing' : 'shareOnNetwork', id: s.id }));
      head.appendChild(action);
      box.appendChild(head);
      box.appendChild(urlLine(s.localUrl, 'this machine'));
      if (s.mode === 'shared') {
        if (s.urls.length === 0) {
          box.appendChild(el('p', 'muted', 'No network address found: is this machine connected to a network?'));
        }
        const chosen = s.urls.find((u) => u.url === ui.qrChoice[s.id]) || s.urls[0];
        const list = el('div', 'urls');
        list.setAttribute('role', 'radiogroup');
        list.setAttribute('aria-label', 'Network URLs (the chosen one is in the QR code)');
        for (const u of s.urls) {
          const line = urlLine(u.url, u.label);
          const radio = /** @type {HTMLInputElement} */ (document.createElement('input'));
          radio.type = 'radio';
          radio.name = `qr-${s.id}`;
          radio.checked = u === chosen;
          radio.title = 'Show this URL as a QR code';
          radio.setAttribute('aria-label', `QR code for ${u.url}`);
          radio.addEventListener('change', () => {
            ui.qrChoice[s.id] = u.url;
            saveState();
            renderSharing(servers);
          });
          line.insertBefore(radio, line.firstChild);
          line.classList.add('choice');
          list.appendChild(line);
        }
        box.appendChild(list);
        if (chosen) {
          const qr = el('figure', 'qr');
          const svg = parseQr(chosen.qrSvg);
          if (svg) {
            svg.setAttribute('aria-label', `QR code for ${chosen.url}`);
            qr.appendChild(svg);
          }
          qr.appendChild(el('figcaption', 'qr-caption', `Scan to open ${chosen.url}`));
          box.appendChild(qr);
        }
        if (s.allowedClients.length > 0) box.appendChild(el('p', 'restrict', `Only ${s.allowedClients.join(', ')} (and this machine) may connect; others get 403.`));
        const hint = /** @type {HTMLDetailsElement} */ (el('details', 'hint'));
        hint.title = s.hint;
        hint.appendChild(el('summary', undefined, 'Nothing connects?'));
        hint.appendChild(el('p', undefined, s.hint.replace(/^Nothing connects\? /, '')));
        box.appendChild(hint);
      }
      if (s.certificate) {
        const cert = el('p', 'cert');
        cert.appendChild(el('span', 'cert-kind', s.certificate.kind === 'self-signed' ? 'HTTPS, self-signed. SHA-256: ' : 'HTTPS. SHA-256: '));
        cert.appendChild(el('span', 'fingerprint', s.certificate.fingerprint256));
        cert.title = `Compare this fingerprint with the one the phone shows before trusting it. Valid until ${s.certificate.validTo}.`;
        box.appendChild(cert);
      }
      sharingPanel.appendChild(box);
    }
  }

  function restoreFocusAndScroll() {
    if (ui.focusId) {
      const li = /** @type {HTMLLIElement | null} */ (
        Array.from(tree.querySelectorAll('[role="treeitem"]')).find((e) => /** @type {HTMLElement} */ (e).dataset.id === ui.focusId) || null
      );
      if (li) {
        for (const old of Array.from(tree.querySelectorAll('[tabindex="0"]'))) /** @type {HTMLElement} */ (old).tabIndex = -1;
        li.tabIndex = 0;
      }
    }
    if (document.scrollingElement) document.scrollingElement.scrollTop = ui.scrollTop || 0;
  }

  updateSummary();
  post({ type: 'ready' });
})();
