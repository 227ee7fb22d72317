// G.711 µ-law, as in ITU-T G.191's reference code (and calls/voice/audio.py on the server):
// 14-bit magnitude with a bias of 33 (132 on the 16-bit scale), negative samples use the one's
// complement, and every bit is inverted on the wire. Shared by the page and the audio worklet.

const BIAS = 0x84;
const CLIP = 32635;

// Segment (exponent) of a biased magnitude, indexed by magnitude >> 7 (1..255).
const SEGMENT = new Uint8Array(256);
for (let i = 1, seg = 0; i < 256; i++) {
  if (i >= 2 << seg) seg++;
  SEGMENT[i] = seg;
}

/** One 16-bit linear sample (integer in -32768..32767) -> one µ-law byte. */
export function linearToUlaw(sample) {
  let sign = 0;
  let magnitude = sample;
  if (sample < 0) {
    sign = 0x80;
    magnitude = -sample - 1; // one's complement of a negative int16
  }
  if (magnitude > CLIP) magnitude = CLIP;
  magnitude += BIAS;
  const exponent = SEGMENT[magnitude >> 7];
  const mantissa = (magnitude >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** A float sample in [-1, 1] -> one µ-law byte (clipped, rounded like the server's float_to_int16). */
export function floatToUlaw(x) {
  let s = Math.round(x * 32767);
  if (s > 32767) s = 32767;
  else if (s < -32768) s = -32768;
  return linearToUlaw(s);
}

/** µ-law byte -> 16-bit linear sample. */
export const ULAW_TO_LINEAR = new Int16Array(256);
for (let code = 0; code < 256; code++) {
  const u = ~code & 0xff;
  const exponent = (u >> 4) & 0x07;
  const magnitude = ((((u & 0x0f) << 3) + BIAS) << exponent) - BIAS;
  ULAW_TO_LINEAR[code] = u & 0x80 ? -magnitude : magnitude;
}

/** µ-law bytes -> float samples in [-1, 1). */
export function ulawToFloat(bytes) {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = ULAW_TO_LINEAR[bytes[i]] / 32768;
  return out;
}
