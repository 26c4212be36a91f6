// The pre-join check on the join screen: a camera preview, a microphone level meter and device
// pickers, with plain-language trouble ("Your browser is blocking the camera") instead of error
// names. It owns its preview stream and stops it before joining (the SDK opens the chosen
// devices itself). Nothing it sees leaves the page.

import { byId, setOptions } from './dom.js';

export class PreCheck {
  constructor() {
    this.video = byId('precheck-video', HTMLVideoElement);
    this.meter = byId('precheck-level', HTMLMeterElement);
    this.camera = byId('precheck-camera', HTMLSelectElement);
    this.mic = byId('precheck-mic', HTMLSelectElement);
    this.status = byId('precheck-status', HTMLParagraphElement);
    this.section = byId('precheck', HTMLElement);
    /** @type {MediaStream | null} */
    this.stream = null;
    /** @type {AudioContext | null} */
    this.audio = null;
    /** @type {number | null} */
    this.frame = null;
    /** The camera size asked for. @type {{width: {ideal: number}, height: {ideal: number}} | undefined} */
    this.size = undefined;
    /** Bumped by every start and stop, so a late getUserMedia answer is dropped. */
    this.generation = 0;
    this.camera.addEventListener('change', () => this.start());
    this.mic.addEventListener('change', () => this.start());
    // Browsers start audio only after a gesture: any click on the page brings the meter to life.
    document.addEventListener('click', () => { if (this.audio?.state === 'suspended') this.audio.resume().catch(() => {}); });
  }

  /**
   * Opens the chosen (or default) camera and microphone and shows them.
   * @param {{width: {ideal: number}, height: {ideal: number}}} [size]
   */
  async start(size) {
    if (size) this.size = size;
    this.stopMedia();
    const generation = ++this.generation;
    this.section.hidden = false;
    const constraints = {
      audio: this.mic.value ? { deviceId: { exact: this.mic.value } } : true,
      video: { ...(this.size ?? {}), ...(this.camera.value ? { deviceId: { exact: this.camera.value } } : {}) },
    };
    /** @type {MediaStream} */
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia(constraints);
    } catch (err) {
      if (generation !== this.generation) return;
      this.status.textContent = plainMediaError(err);
      // Try the microphone alone: a missing camera should not hide a working microphone.
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio: constraints.audio });
      } catch {
        return;
      }
    }
    if (generation !== this.generation) {
      stream.getTracks().forEach((t) => t.stop());
      return;
    }
    this.stream = stream;
    this.video.srcObject = stream;
    this.video.closest('figure')?.toggleAttribute('hidden', stream.getVideoTracks().length === 0);
    if (stream.getVideoTracks().length > 0 && stream.getAudioTracks().length > 0) this.status.textContent = 'Your camera and microphone work. You can pick others above.';
    this.listen(stream);
    await this.listDevices(stream);
  }

  /** @param {MediaStream} stream */
  listen(stream) {
    if (stream.getAudioTracks().length === 0) return;
    try {
      this.audio = new AudioContext();
      const analyser = this.audio.createAnalyser();
      analyser.fftSize = 512;
      this.audio.createMediaStreamSource(stream).connect(analyser);
      const data = new Uint8Array(analyser.fftSize);
      const tick = () => {
        analyser.getByteTimeDomainData(data);
        let peak = 0;
        for (const v of data) peak = Math.max(peak, Math.abs(v - 128) / 128);
        this.meter.value = Math.min(1, peak * 1.5);
        this.frame = requestAnimationFrame(tick);
      };
      tick();
    } catch {
      // No Web Audio: no meter, the rest works.
    }
  }

  /** @param {MediaStream} stream */
  async listDevices(stream) {
    const list = await navigator.mediaDevices.enumerateDevices();
    /** @param {MediaDeviceKind} kind @param {HTMLSelectElement} select @param {'audio' | 'video'} track @param {string} word */
    const fill = (kind, select, track, word) => {
      const current = stream.getTracks().find((t) => t.kind === track)?.getSettings().deviceId;
      setOptions(select, list.filter((d) => d.kind === kind).map((d, i) => ({ value: d.deviceId, label: d.label || `${word} ${i + 1}` })));
      if (current && [...select.options].some((o) => o.value === current)) select.value = current;
    };
    fill('videoinput', this.camera, 'video', 'Camera');
    fill('audioinput', this.mic, 'audio', 'Microphone');
  }

  /** The devices chosen, for the SDK's constraints. */
  chosen() {
    return { videoDeviceId: this.camera.value || undefined, audioDeviceId: this.mic.value || undefined };
  }

  stopMedia() {
    if (this.frame != null) cancelAnimationFrame(this.frame);
    this.frame = null;
    this.audio?.close().catch(() => {});
    this.audio = null;
    this.stream?.getTracks().forEach((t) => t.stop());
    this.stream = null;
    this.video.srcObject = null;
    this.meter.value = 0;
  }

  /** Before joining, and for observers (who send nothing). */
  stop() {
    this.generation += 1;
    this.stopMedia();
  }

  hide() {
    this.stop();
    this.section.hidden = true;
  }
}

/** A getUserMedia failure in words for people. @param {unknown} err */
export function plainMediaError(err) {
  const name = err instanceof DOMException ? err.name : '';
  switch (name) {
    case 'NotAllowedError': return 'Your browser is blocking the camera and microphone. Allow them (the icon in the address bar), or join without them: you can still see, hear and chat.';
    case 'NotFoundError': return 'No camera or microphone was found. You can join without them: you can still see, hear and chat.';
    case 'NotReadableError': return 'Another app is using your camera or microphone. Close it and try again, or join without them.';
    case 'OverconstrainedError': return 'That camera or microphone is not available any more. Pick another one.';
    default: return 'Your camera or microphone could not be started. You can join without them: you can still see, hear and chat.';
  }
}
