// The live calls page: one WebSocket (/ws/calls/live/) brings a snapshot of the calls in progress, then each
// turn, each call that starts and each call that ends. Text is always set with textContent (callers' words
// are never HTML). The socket reconnects with a growing delay; a reconnect brings a fresh snapshot.
(function () {
  "use strict";
  const root = document.getElementById("live-calls");
  if (!root) return;
  const statusEl = document.getElementById("live-status");
  const countEl = document.getElementById("live-count");
  const emptyEl = document.getElementById("live-empty");
  const endedSection = document.getElementById("ended");
  const endedList = document.getElementById("ended-list");
  const ROLE = { caller: "Caller", agent: "Agent", system: "System" };
  let delay = 1000;

  function setStatus(state, text) {
    statusEl.dataset.state = state;
    statusEl.textContent = text;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function turnNode(turn) {
    const li = el("li", "bubble " + turn.role + (turn.interrupted ? " interrupted" : ""));
    li.dataset.index = turn.index;
    const who = el("p", "who");
    who.append(el("span", "role", ROLE[turn.role] || turn.role), " ");
    const time = el("time", "", turn.time);
    if (turn.at) time.dateTime = turn.at;
    who.append(time);
    if (turn.interrupted) who.append(" ", el("span", "tag warn", "Interrupted"));
    li.append(who, el("p", "text", turn.text));
    return li;
  }

  function putTurn(list, turn) {
    const node = turnNode(turn);
    const same = list.querySelector(`li[data-index="${turn.index}"]`);
    if (same) { same.replaceWith(node); return; }
    const later = [...list.children].find((li) => Number(li.dataset.index) > turn.index);
    list.insertBefore(node, later || null);
  }

  function callNode(call) {
    const section = el("section", "card live-call");
    section.dataset.call = call.id;
    section.setAttribute("aria-labelledby", "live-" + call.id);
    const h2 = el("h2");
    h2.id = "live-" + call.id;
    const link = el("a", "", call.caller);
    link.href = call.url;
    h2.append(link);
    const started = new Date(call.started);
    const since = isNaN(started) ? "" : " · since " + started.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
    const list = el("ol", "transcript");
    list.setAttribute("aria-live", "polite");
    list.setAttribute("aria-relevant", "additions text");
    list.dataset.empty = "Waiting for the first words…";
    call.turns.forEach((turn) => putTurn(list, turn));
    section.append(h2, el("p", "muted small", `${call.direction} · ${call.transport}${since}`), list);
    return section;
  }

  function findCall(id) {
    return root.querySelector(`section[data-call="${id}"]`);
  }

  function refreshCount() {
    const n = root.querySelectorAll("section.live-call").length;
    countEl.textContent = n;
    emptyEl.hidden = n > 0;
  }

  function addCall(call) {
    const node = callNode(call);
    const existing = findCall(call.id);
    if (existing) existing.replaceWith(node); else root.prepend(node);
    refreshCount();
  }

  function endCall(message) {
    const section = findCall(message.call);
    if (!section) return;
    const name = section.querySelector("h2").textContent;
    section.remove();
    const li = el("li");
    const link = el("a", "", name);
    link.href = message.url;
    li.append(link, el("span", "muted", message.outcome ? ` · ended: ${message.outcome.toLowerCase()}` : " · ended"));
    endedList.prepend(li);
    endedSection.hidden = false;
    refreshCount();
  }

  function onMessage(message) {
    if (message.type === "snapshot") {
      root.replaceChildren(...message.calls.map(callNode));
      refreshCount();
      setStatus("open", "Live");  // only now: the server has joined every group the snapshot covers
    } else if (message.type === "call_started") {
      addCall(message.call);
    } else if (message.type === "turn") {
      const section = findCall(message.call);
      if (section) putTurn(section.querySelector("ol.transcript"), message.turn);
    } else if (message.type === "call_ended") {
      endCall(message);
    }
  }

  function connect() {
    const socket = new WebSocket(root.dataset.wsUrl);
    socket.addEventListener("open", () => { delay = 1000; });
    socket.addEventListener("message", (event) => {
      try { onMessage(JSON.parse(event.data)); } catch (err) { console.error("live calls: bad message", err); }
    });
    socket.addEventListener("close", (event) => {
      if (event.code === 4403) { setStatus("closed", "Not allowed: sign in again."); return; }
      setStatus("closed", `Disconnected; retrying in ${Math.round(delay / 1000)} s…`);
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    });
  }
  connect();
})();
