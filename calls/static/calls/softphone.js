// The browser softphone: the microphone and speakers of a Twilio phone call, in a page.
//
// It speaks the Twilio Media Streams protocol to /ws/media-stream/ exactly as Twilio does
// (connected, start with the one-time token, 20 ms µ-law media frames, dtmf, marks echoed when
// the audio before them has played, clear, stop), so the server cannot tell it from a phone call
// except for the extra `transcript` messages it sends to softphone calls.

import { ulawToFloat } from "./g711.js";

const PHONE_RATE = 8000;
const START_LEAD_S = 0.06; // jitter buffer when playback (re)starts from silence
const MAX_SOCKET_BACKLOG = 64 * 1024; // bytes queued on a stalled socket before mic frames are dropped
const SEARCH_DELAY_MS = 200;
// Close codes of a socket refused at `start` (bad, expired or reused token): 1008 "policy violation",
// or its private-range twin 4008 for servers whose WebSocket library only lets applications send
// 1000 and 3000-4999 (daphne's autobahn).
const REFUSED_CODES = new Set([1008, 4008]);

// Counters for tests and for anyone debugging audio from the console.
const debug = {
  framesSent: 0,
  framesDropped: 0,
  mediaReceived: 0,
  bytesReceived: 0,
  buffersPlayed: 0,
  secondsPlayed: 0,
  marksReceived: 0,
  marksEchoed: 0,
  clears: 0,
  transcripts: 0,
  dtmfSent: 0,
  peakLevel: 0, // loudest microphone frame (RMS, 0..1)
  closeCode: null,
  callSid: null,
  state: "idle",
};
window.softphoneDebug = debug;

// ---------------------------------------------------------------------------------- playback

/** Plays the agent's µ-law audio gap-free on the AudioContext clock and echoes marks once played. */
class Player {
  constructor(ctx, echoMark) {
    this.ctx = ctx;
    this.echoMark = echoMark;
    this.output = ctx.createGain();
    this.output.connect(ctx.destination);
    this.cursor = 0; // context time at which the audio received so far ends
    this.scheduled = new Set(); // {source, marks}, in play order
    this.newest = null; // the entry that ends at `cursor`, while it has not played out
    this.idleSince = performance.now(); // when the last scheduled audio ended (page clock, ms)
  }

  /** Nothing received is left to play. */
  idle() {
    return this.scheduled.size === 0;
  }

  /** Schedules the audio after what is already queued; returns the context time it starts at. */
  play(ulaw) {
    const samples = ulawToFloat(ulaw);
    // The AudioBuffer keeps the phone rate; the context resamples it to the device rate.
    const buffer = this.ctx.createBuffer(1, samples.length, PHONE_RATE);
    buffer.copyToChannel(samples, 0);
    const source = this.ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(this.output);
    const now = this.ctx.currentTime;
    if (this.cursor < now) this.cursor = now + START_LEAD_S; // ran dry: restart with a little slack
    const startsAt = this.cursor;
    source.start(startsAt);
    this.cursor += buffer.duration;
    const entry = { source, marks: [] };
    this.scheduled.add(entry);
    this.newest = entry;
    source.onended = () => {
      this.scheduled.delete(entry);
      if (this.newest === entry) this.newest = null;
      if (this.idle()) this.idleSince = performance.now();
      debug.buffersPlayed += 1;
      debug.secondsPlayed += buffer.duration;
      for (const name of entry.marks) this.echoMark(name);
    };
    return startsAt;
  }

  /** A mark names the point after all audio received so far: echo it when that audio has played. */
  mark(name) {
    if (this.newest) this.newest.marks.push(name);
    else this.echoMark(name); // nothing left to play
  }

  /** Drop everything not yet played; pending marks come back at once, as Twilio does. */
  clear() {
    const pending = [];
    for (const entry of this.scheduled) {
      entry.source.onended = null;
      try {
        entry.source.stop();
      } catch {
        // never started: nothing to stop
      }
      entry.source.disconnect();
      pending.push(...entry.marks);
    }
    this.scheduled.clear();
    this.newest = null;
    this.cursor = 0;
    this.idleSince = performance.now();
    for (const name of pending) this.echoMark(name);
  }

  close() {
    this.clear();
    this.output.disconnect();
  }
}

// ---------------------------------------------------------------------------------- protocol

function base64(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
  return btoa(binary);
}

function unbase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** One Media Streams socket, the Twilio side of it. */
class StreamConnection {
  constructor({ wsUrl, callSid, streamSid, token }, handlers) {
    this.callSid = callSid;
    this.streamSid = streamSid;
    this.token = token;
    this.handlers = handlers; // onOpen, onMedia, onMark, onClear, onTranscript, onClose
    this.sequence = 0;
    this.chunk = 0;
    this.started = false;
    this.hungUp = false;
    this.ws = new WebSocket(wsUrl);
    this.ws.onopen = () => this.onOpen();
    this.ws.onmessage = (event) => this.onMessage(event);
    this.ws.onclose = (event) => {
      this.started = false;
      this.handlers.onClose(event.code, event.reason, this.hungUp);
    };
  }

  send(message) {
    this.sequence += 1;
    // Twilio sends numbers as strings, sequenceNumber first.
    this.ws.send(JSON.stringify({ event: message.event, sequenceNumber: String(this.sequence), ...message }));
  }

  onOpen() {
    this.send({ event: "connected", protocol: "Call", version: "1.0.0" });
    this.send({
      event: "start",
      streamSid: this.streamSid,
      start: {
        accountSid: "",
        callSid: this.callSid,
        streamSid: this.streamSid,
        tracks: ["inbound"],
        customParameters: { token: this.token },
        mediaFormat: { encoding: "audio/x-mulaw", sampleRate: PHONE_RATE, channels: 1 },
      },
    });
    this.started = true;
    this.handlers.onOpen();
  }

  onMessage(event) {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    switch (message.event) {
      case "media":
        if (message.media && typeof message.media.payload === "string") {
          this.handlers.onMedia(unbase64(message.media.payload));
        }
        break;
      case "mark":
        if (message.mark && typeof message.mark.name === "string") this.handlers.onMark(message.mark.name);
        break;
      case "clear":
        this.handlers.onClear();
        break;
      case "transcript":
        this.handlers.onTranscript(message);
        break;
      default:
        break;
    }
  }

  /** One 20 ms µ-law frame from the microphone. */
  sendMedia(ulaw) {
    if (!this.started || this.ws.readyState !== WebSocket.OPEN) return false;
    if (this.ws.bufferedAmount > MAX_SOCKET_BACKLOG) return false;
    this.chunk += 1;
    this.send({
      event: "media",
      streamSid: this.streamSid,
      media: {
        track: "inbound",
        chunk: String(this.chunk),
        timestamp: String((this.chunk - 1) * 20), // ms of caller audio since the stream started
        payload: base64(ulaw),
      },
    });
    return true;
  }

  sendMark(name) {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.send({ event: "mark", streamSid: this.streamSid, mark: { name } });
  }

  sendDtmf(digit) {
    if (!this.started || this.ws.readyState !== WebSocket.OPEN) return;
    this.send({ event: "dtmf", streamSid: this.streamSid, dtmf: { track: "inbound_track", digit } });
  }

  hangUp() {
    this.hungUp = true;
    if (this.ws.readyState === WebSocket.OPEN) {
      this.send({ event: "stop", streamSid: this.streamSid, stop: { accountSid: "", callSid: this.callSid } });
      this.ws.close(1000, "caller hung up");
    } else if (this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.close();
    }
  }
}

// ---------------------------------------------------------------------------------- page

const root = document.getElementById("softphone");
const el = {
  callButton: document.getElementById("call-button"),
  hangupButton: document.getElementById("hangup-button"),
  keypad: document.getElementById("keypad"),
  status: document.getElementById("status"),
  transcript: document.getElementById("transcript"),
  meter: document.getElementById("meter-fill"),
  query: document.getElementById("customer-q"),
  results: document.getElementById("customer-results"),
  hint: document.getElementById("customer-hint"),
  picked: document.getElementById("customer-picked"),
  pickedName: document.getElementById("picked-name"),
  pickedPhone: document.getElementById("picked-phone"),
  pickedClear: document.getElementById("picked-clear"),
  modeCustomer: document.getElementById("mode-customer"),
  modeUnknown: document.getElementById("mode-unknown"),
  phone: document.getElementById("caller-phone"),
  phoneError: document.getElementById("phone-error"),
};
const csrfToken = root.querySelector("[name=csrfmiddlewaretoken]").value;

let picked = null; // {id, name, phone, phone_display}
let call = null; // the call in progress: {ctx, mic, micNode, player, conn}

const READY = "Ready. Pick a caller and press Call.";

/** After the person changes the caller, an old error no longer applies. */
function clearError() {
  if (!call && el.status.dataset.state === "error") setStatus(READY, "idle");
}

function setStatus(text, state) {
  el.status.textContent = text;
  el.status.dataset.state = state;
  debug.state = state;
}

function callerMode() {
  return document.querySelector("input[name=caller-mode]:checked").value;
}

function setInCall(inCall) {
  el.callButton.disabled = inCall;
  el.hangupButton.disabled = !inCall;
  for (const key of el.keypad.querySelectorAll("button")) key.disabled = !inCall;
  for (const input of document.querySelectorAll("#caller-mode input, #customer-q, #caller-phone, #picked-clear")) {
    input.disabled = inCall;
  }
  root.classList.toggle("in-call", inCall);
}

// -- transcript pane
//
// One agent bubble per reply. The server sends each sentence's transcript, then its audio, then a
// mark, so the client can tell which audio and which mark belong to which sentence. A reply has
// finished once every sentence's mark has been echoed (its audio played) and nothing is left to
// play; the next sentence after that is a new reply, such as a reprompt. A caller transcript
// always ends the agent's bubble too.

const REPLY_GAP_MS = 1500; // quiet after playback that ends a reply even if some mark never came back

const transcript = {
  player: null, // the call's Player: whether audio is still queued, and the play clock
  callerLine: null, // the caller's line being recognised (grey while partial)
  reply: null, // the agent's open bubble: {line, body, sentences, interrupted}
  lastReply: null, // the newest agent bubble, even once closed
  speaking: null, // the newest agent sentence, whose audio and mark are expected next
  byMark: new Map(), // mark name -> sentence record, until the mark is echoed

  add(role, text, extraClass = "") {
    const line = document.createElement("div");
    line.className = `line ${role} ${extraClass}`.trim();
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = { caller: "Caller", agent: "Agent", system: "" }[role];
    const body = document.createElement("span");
    body.className = "text";
    body.textContent = text;
    line.append(who, body);
    el.transcript.append(line);
    this.scroll();
    return line;
  },

  scroll() {
    el.transcript.scrollTop = el.transcript.scrollHeight;
  },

  caller(text, final) {
    if (!this.callerLine) {
      this.callerLine = this.add("caller", "");
      this.reply = null; // whatever the agent says next answers this
    }
    this.callerLine.querySelector(".text").textContent = text;
    this.callerLine.classList.toggle("partial", !final);
    this.scroll();
    if (final) this.callerLine = null;
  },

  /** The sentence whose audio and mark are on their way: the newest one, until its mark comes. */
  current() {
    return this.speaking && this.speaking.mark === null ? this.speaking : null;
  },

  replyFinished(reply) {
    const player = this.player;
    if (player && !player.idle()) return false;
    if (reply.sentences.every((s) => s.played)) return true;
    return player !== null && performance.now() - player.idleSince > REPLY_GAP_MS;
  },

  agent(sentence) {
    let record = this.current();
    if (record && record.startsAt === null && record.reply === this.reply) {
      // A new sentence before the last one had audio or a mark: the server retries it with another voice.
      record.span.textContent = sentence;
      this.scroll();
      return;
    }
    if (this.reply && this.replyFinished(this.reply)) this.reply = null;
    if (!this.reply) {
      const line = this.add("agent", "");
      this.reply = this.lastReply = { line, body: line.querySelector(".text"), sentences: [], interrupted: false };
    }
    const span = document.createElement("span");
    span.className = "sentence";
    span.textContent = sentence;
    if (this.reply.sentences.length) this.reply.body.append(" ");
    this.reply.body.append(span);
    record = { span, mark: null, startsAt: null, played: false, reply: this.reply };
    this.reply.sentences.push(record);
    this.speaking = record;
    this.scroll();
  },

  /** Audio for the current sentence was scheduled to start at `startsAt` (AudioContext time). */
  audio(startsAt) {
    const record = this.current();
    if (record && record.startsAt === null) record.startsAt = startsAt;
  },

  /** The server's mark after the current sentence's audio. */
  mark(name) {
    const record = this.current();
    if (!record) return;
    record.mark = name;
    this.byMark.set(name, record);
  },

  /** A mark came back from the player: its sentence has been heard to the end. */
  played(name) {
    const record = this.byMark.get(name);
    this.byMark.delete(name);
    if (record && !record.reply.interrupted) record.played = true;
  },

  /**
   * The agent's audio stopped before the reply was heard to the end (a clear, or the call ended).
   * Call before the player drops its audio: what was scheduled still tells what had started.
   */
  interrupted() {
    const reply = this.reply || this.lastReply;
    this.reply = null;
    this.speaking = null; // the server drops the rest of this reply: its last sentence gets no mark
    if (!reply || reply.interrupted || reply.sentences.every((s) => s.played)) return;
    reply.interrupted = true;
    const now = this.player ? this.player.ctx.currentTime : Infinity;
    for (const record of reply.sentences) {
      const started = record.played || (record.startsAt !== null && record.startsAt <= now);
      if (!started) {
        record.span.classList.add("unheard");
        record.span.title = "Not heard: the agent was cut off before this.";
      }
    }
    reply.line.classList.add("interrupted");
    const flag = document.createElement("span");
    flag.className = "flag";
    flag.textContent = "(interrupted)";
    reply.line.querySelector(".who").append(" ", flag);
  },

  /** Hanging up (or losing the line) mid-reply cuts the agent off, as a clear does. */
  callEnded() {
    if (this.reply && !this.replyFinished(this.reply)) this.interrupted();
    this.reply = null;
  },

  /** A note between bubbles (call started, key pressed); the agent's reply, if any, goes on. */
  system(text) {
    return this.add("system", text, "note");
  },

  reset() {
    el.transcript.replaceChildren();
    this.player = null;
    this.callerLine = null;
    this.reply = null;
    this.lastReply = null;
    this.speaking = null;
    this.byMark.clear();
  },
};

// -- level meter

function showLevel(rms) {
  if (rms > debug.peakLevel) debug.peakLevel = rms;
  const db = rms > 0 ? 20 * Math.log10(rms) : -100;
  const fraction = Math.min(1, Math.max(0, (db + 60) / 60)); // -60 dBFS .. 0 dBFS
  el.meter.style.width = `${(fraction * 100).toFixed(1)}%`;
  el.meter.classList.toggle("hot", db > -6);
}

// -- caller picker

let searchTimer = 0;
let searchAbort = null;

async function searchCustomers(q) {
  if (searchAbort) searchAbort.abort();
  if (q.trim().length < 2) {
    el.results.replaceChildren();
    el.hint.textContent = "Type at least two characters.";
    el.hint.hidden = false;
    return;
  }
  searchAbort = new AbortController();
  try {
    const url = `${root.dataset.customersUrl}?q=${encodeURIComponent(q.trim())}`;
    const response = await fetch(url, { signal: searchAbort.signal, headers: { Accept: "application/json" } });
    const data = await response.json();
    if (!response.ok) throw new Error(data.error || `Search failed (${response.status}).`);
    renderResults(data.customers);
  } catch (error) {
    if (error.name === "AbortError") return;
    el.results.replaceChildren();
    el.hint.textContent = error.message;
    el.hint.hidden = false;
  }
}

function renderResults(customers) {
  el.results.replaceChildren(
    ...customers.map((customer) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.setAttribute("role", "option");
      button.dataset.customerId = customer.id;
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = customer.name;
      const phone = document.createElement("span");
      phone.className = "phone";
      phone.textContent = customer.phone_display || customer.phone;
      button.append(name, phone);
      button.addEventListener("click", () => pick(customer));
      item.append(button);
      return item;
    }),
  );
  el.hint.textContent = customers.length ? "" : "No customer matches. Try another spelling, or call as an unknown caller.";
  el.hint.hidden = customers.length > 0;
}

function pick(customer) {
  picked = customer;
  el.pickedName.textContent = customer.name;
  el.pickedPhone.textContent = customer.phone_display || customer.phone;
  el.picked.hidden = false;
  el.results.replaceChildren();
  el.query.hidden = true;
  el.hint.hidden = true;
  clearError();
}

function unpick() {
  picked = null;
  el.picked.hidden = true;
  el.query.hidden = false;
  el.query.focus();
  searchCustomers(el.query.value);
}

function showPhoneError(message) {
  el.phoneError.textContent = message || "";
  el.phoneError.hidden = !message;
  el.phone.toggleAttribute("aria-invalid", Boolean(message));
}

// -- the call

function callRequest() {
  if (callerMode() === "customer") {
    if (!picked) throw new Error("Pick a customer first, or choose “Unknown caller”.");
    return { customer_id: picked.id };
  }
  const phone = el.phone.value.trim();
  if (!phone) {
    showPhoneError("Type the number the caller rings from.");
    throw new Error("Type the number the caller rings from.");
  }
  return { phone };
}

/** Place a call as the picked caller, or (with `ringing`) answer a reminder call the shop is making. */
async function startCall(ringing = null) {
  let request = {};
  try {
    if (!ringing) request = callRequest();
  } catch (error) {
    setStatus(error.message, "error");
    return;
  }
  hideRing();
  showPhoneError("");
  if (!window.isSecureContext || !navigator.mediaDevices || !window.AudioWorkletNode) {
    setStatus("The microphone needs a secure page: open the softphone over HTTPS (or on localhost).", "error");
    return;
  }
  setInCall(true);
  transcript.reset();
  setStatus("Starting the microphone…", "connecting");
  // Created inside the click so the browser lets it play sound.
  const ctx = new AudioContext();
  const current = { ctx, mic: null, micNode: null, player: null, conn: null, ended: false };
  call = current;
  try {
    await ctx.audioWorklet.addModule(root.dataset.workletUrl);
    current.mic = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
    });
  } catch (error) {
    const denied = error && (error.name === "NotAllowedError" || error.name === "SecurityError");
    endCall(denied ? "Microphone access was refused: allow it for this site and try again."
                   : `The microphone could not be started (${error.message || error}).`, "error");
    return;
  }
  if (current.ended) return;

  setStatus("Placing the call…", "connecting");
  let details;
  try {
    const url = ringing ? root.dataset.answerUrl.replace("CALL_SID", encodeURIComponent(ringing.call_sid))
                        : root.dataset.startUrl;
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken, Accept: "application/json" },
      body: JSON.stringify(request),
      credentials: "same-origin",
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const message = data.error || `The call could not be started (HTTP ${response.status}).`;
      if (response.status === 400 && !ringing && callerMode() === "unknown") showPhoneError(message);
      endCall(message, "error");
      return;
    }
    details = data;
  } catch (error) {
    endCall(`The server could not be reached (${error.message}).`, "error");
    return;
  }
  if (current.ended) return;

  current.player = new Player(ctx, (name) => {
    debug.marksEchoed += 1;
    transcript.played(name);
    if (current.conn) current.conn.sendMark(name);
  });
  transcript.player = current.player;
  setStatus("Connecting…", "connecting");
  current.conn = new StreamConnection(
    { wsUrl: details.ws_url, callSid: details.call_sid, streamSid: details.stream_sid, token: details.token },
    {
      onOpen: () => {
        connectMicrophone(current);
        const { name, phone_display: phone } = details.caller;
        const who = name ? `${name}, ${phone}` : `unknown caller ${phone}`;
        debug.callSid = details.call_sid;
        setStatus(`In call as ${who}. Speak now.`, "live");
        transcript.system(`Call started as ${who}.`).title = details.call_sid;
      },
      onMedia: (ulaw) => {
        debug.mediaReceived += 1;
        debug.bytesReceived += ulaw.length;
        transcript.audio(current.player.play(ulaw));
      },
      onMark: (name) => {
        debug.marksReceived += 1;
        transcript.mark(name); // before the player, which may echo it at once
        current.player.mark(name);
      },
      onClear: () => {
        debug.clears += 1;
        transcript.interrupted(); // while the player still knows what had started playing
        current.player.clear();
      },
      onTranscript: (message) => {
        debug.transcripts += 1;
        if (message.role === "caller") transcript.caller(message.text, Boolean(message.final));
        else if (message.role === "agent") transcript.agent(message.text);
      },
      onClose: (code, reason, hungUp) => {
        debug.closeCode = code;
        if (hungUp) endCall("Call ended.", "ended");
        else if (code === 1000) endCall("The agent ended the call.", "ended");
        else if (REFUSED_CODES.has(code)) endCall("The server refused the call: its one-time token was not accepted. Press Call to try again.", "error");
        else endCall(`The connection to the server was lost (code ${code}).`, "error");
      },
    },
  );
}

function connectMicrophone(current) {
  const { ctx } = current;
  const source = ctx.createMediaStreamSource(current.mic);
  // One output, left silent and wired to the speakers only so the graph keeps pulling the node.
  const node = new AudioWorkletNode(ctx, "mulaw-encoder", { numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1] });
  node.port.onmessage = ({ data }) => {
    showLevel(data.level);
    if (current.conn && current.conn.sendMedia(data.ulaw)) debug.framesSent += 1;
    else debug.framesDropped += 1;
  };
  source.connect(node);
  node.connect(ctx.destination);
  current.micSource = source;
  current.micNode = node;
}

function hangUp() {
  if (!call) return;
  if (call.conn) call.conn.hangUp(); // the socket's close event finishes the teardown
  else endCall("Call cancelled.", "ended");
}

function endCall(message, state) {
  const current = call;
  if (!current || current.ended) return;
  current.ended = true;
  call = null;
  if (current.conn && !current.conn.hungUp) current.conn.hangUp();
  if (current.micNode) {
    current.micNode.port.onmessage = null;
    current.micNode.disconnect();
  }
  if (current.micSource) current.micSource.disconnect();
  if (current.mic) for (const track of current.mic.getTracks()) track.stop();
  if (current.player) {
    transcript.callEnded(); // while the player still knows what had started playing
    current.player.close();
  }
  current.ctx.close().catch(() => {});
  showLevel(0);
  setInCall(false);
  if (state === "ended") transcript.system(message);
  setStatus(message, state);
}

// -- wiring

for (const radio of document.querySelectorAll("input[name=caller-mode]")) {
  radio.addEventListener("change", () => {
    const customer = callerMode() === "customer";
    el.modeCustomer.hidden = !customer;
    el.modeUnknown.hidden = customer;
    showPhoneError("");
    clearError();
    (customer ? el.query : el.phone).focus();
  });
}
el.query.addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => searchCustomers(el.query.value), SEARCH_DELAY_MS);
});
el.pickedClear.addEventListener("click", unpick);
el.phone.addEventListener("input", () => {
  showPhoneError("");
  clearError();
});
el.callButton.addEventListener("click", () => startCall());
el.hangupButton.addEventListener("click", hangUp);
el.keypad.addEventListener("click", (event) => {
  const key = event.target.closest("button[data-digit]");
  if (!key || !call || !call.conn) return;
  call.conn.sendDtmf(key.dataset.digit);
  debug.dtmfSent += 1;
  transcript.system(key.dataset.digit === "0" ? "Pressed 0 (transfer to an advisor)." : `Pressed ${key.dataset.digit}.`);
});
window.addEventListener("beforeunload", () => hangUp());
setInCall(false);

// -- reminder calls ringing here (no Twilio: the shop's dialer calls the customer through this page)

const RING_POLL_MS = 5000;
const ring = {
  box: document.getElementById("ring"),
  text: document.getElementById("ring-text"),
  answer: document.getElementById("ring-answer"),
  decline: document.getElementById("ring-decline"),
  current: null,
};

function hideRing() {
  ring.current = null;
  if (ring.box) ring.box.hidden = true;
}

async function pollRinging() {
  if (!ring.box || call) return;
  try {
    const response = await fetch(root.dataset.ringingUrl, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const data = await response.json();
    const first = (data.calls || [])[0] || null;
    if (!first) {
      hideRing();
      return;
    }
    ring.current = first;
    const who = first.name ? `${first.name} (${first.phone_display})` : first.phone_display;
    ring.text.textContent = `Reminder call to ${who} about the ${first.about}. Answer to play the customer.`;
    ring.box.hidden = false;
  } catch (error) {
    // The next poll tries again.
  }
}

if (ring.box) {
  ring.answer.addEventListener("click", () => {
    if (ring.current && !call) startCall(ring.current);
  });
  ring.decline.addEventListener("click", async () => {
    if (!ring.current) return;
    const url = root.dataset.declineUrl.replace("CALL_SID", encodeURIComponent(ring.current.call_sid));
    hideRing();
    await fetch(url, { method: "POST", headers: { "X-CSRFToken": csrfToken, Accept: "application/json" } });
  });
  pollRinging();
  setInterval(pollRinging, RING_POLL_MS);
}
