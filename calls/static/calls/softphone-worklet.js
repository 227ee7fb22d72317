// Audio-thread half of the softphone: microphone (context rate, e.g. 48 kHz) -> 8 kHz µ-law,
// posted to the page as 160-byte frames (20 ms), the size Twilio sends.
//
// Resampling: a windowed-sinc low-pass FIR (cut-off below the 4 kHz Nyquist limit of the phone
// rate) is evaluated only at the input samples around each output instant, then interpolated
// linearly between them. Plain decimation would fold everything above 4 kHz back into the band.

import { floatToUlaw } from "./g711.js";

const OUT_RATE = 8000;
const FRAME_SAMPLES = 160;
const CUTOFF_HZ = 3600;

/** Hamming-windowed sinc low-pass, unity gain at DC. */
function lowPass(inRate, cutoffHz, taps) {
  const h = new Float32Array(taps);
  const fc = cutoffHz / inRate; // cycles per input sample
  const mid = (taps - 1) / 2;
  let sum = 0;
  for (let k = 0; k < taps; k++) {
    const t = k - mid;
    const sinc = t === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * t) / (Math.PI * t);
    const window = 0.54 - 0.46 * Math.cos((2 * Math.PI * k) / (taps - 1));
    h[k] = sinc * window;
    sum += h[k];
  }
  for (let k = 0; k < taps; k++) h[k] /= sum;
  return h;
}

class MulawEncoder extends AudioWorkletProcessor {
  constructor() {
    super();
    // `sampleRate` is the AudioContext's rate, a global of the worklet scope.
    this.step = sampleRate / OUT_RATE; // input samples per output sample
    // About 3 taps per kHz of input rate: a ~1 kHz transition band, 50+ dB stop band.
    this.h = lowPass(sampleRate, CUTOFF_HZ, (Math.round((sampleRate * 3) / 1000) | 1));
    this.history = this.h.length; // input samples kept from the previous block
    this.work = new Float32Array(this.history + 128);
    this.pos = this.history; // next output instant, in `work` indices
    this.frame = new Uint8Array(FRAME_SAMPLES);
    this.fill = 0;
    this.energy = 0;
    this.port.onmessage = (event) => {
      if (event.data === "reset") this.fill = 0;
    };
  }

  /** The filtered signal at input index j (needs j >= taps - 1). */
  filtered(j) {
    const h = this.h;
    const x = this.work;
    let acc = 0;
    for (let k = 0; k < h.length; k++) acc += h[k] * x[j - k];
    return acc;
  }

  process(inputs) {
    const input = inputs[0] && inputs[0][0];
    if (!input) return true; // the microphone is not connected (yet): stay alive
    const n = input.length;
    const needed = this.history + n;
    if (this.work.length < needed) {
      const grown = new Float32Array(needed);
      grown.set(this.work.subarray(0, this.history));
      this.work = grown;
    }
    this.work.set(input, this.history);
    const last = this.history + n - 1;

    while (Math.floor(this.pos) + 1 <= last) {
      const i = Math.floor(this.pos);
      const frac = this.pos - i;
      const y = this.filtered(i) * (1 - frac) + (frac ? this.filtered(i + 1) * frac : 0);
      this.energy += y * y;
      this.frame[this.fill++] = floatToUlaw(y);
      if (this.fill === FRAME_SAMPLES) this.flush();
      this.pos += this.step;
    }

    // Keep the newest `history` samples for the next block; output instants shift with them.
    this.work.copyWithin(0, n, n + this.history);
    this.pos -= n;
    return true;
  }

  flush() {
    const level = Math.sqrt(this.energy / FRAME_SAMPLES);
    const ulaw = this.frame;
    this.port.postMessage({ ulaw, level }, [ulaw.buffer]);
    this.frame = new Uint8Array(FRAME_SAMPLES);
    this.fill = 0;
    this.energy = 0;
  }
}

registerProcessor("mulaw-encoder", MulawEncoder);
