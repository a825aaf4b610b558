// 16-bit mono PCM WAV files in the browser, shared by the voice recorder and the TTS playground.
(function () {
  "use strict";

  // chunks: Int16Array pieces (or arrays of integers), in order.
  function encode(chunks, sampleRate) {
    const length = chunks.reduce((n, chunk) => n + chunk.length, 0);
    const buffer = new ArrayBuffer(44 + length * 2);
    const view = new DataView(buffer);
    const text = (offset, s) => { for (let i = 0; i < s.length; i++) view.setUint8(offset + i, s.charCodeAt(i)); };
    text(0, "RIFF"); view.setUint32(4, 36 + length * 2, true); text(8, "WAVE");
    text(12, "fmt "); view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
    view.setUint32(24, sampleRate, true); view.setUint32(28, sampleRate * 2, true);
    view.setUint16(32, 2, true); view.setUint16(34, 16, true);
    text(36, "data"); view.setUint32(40, length * 2, true);
    let offset = 44;
    for (const chunk of chunks) {
      for (let i = 0; i < chunk.length; i++, offset += 2) view.setInt16(offset, chunk[i], true);
    }
    return new Blob([buffer], {type: "audio/wav"});
  }

  // Float samples in [-1, 1] (Web Audio) to 16-bit integers.
  function toInt16(samples) {
    const out = new Int16Array(samples.length);
    for (let i = 0; i < samples.length; i++) {
      const s = Math.max(-1, Math.min(1, samples[i]));
      out[i] = s < 0 ? s * 0x8000 : s * 0x7fff;
    }
    return out;
  }

  window.MetaWav = {encode, toInt16};
})();
