import type { BackendInfo } from '../pipeline/backend';
import type { BundleSummary } from '../pipeline/pipeline';
import { promptProblem } from '../pipeline/promptCheck';
import { flashSteps } from '../pipeline/variants';
import type { Variant } from '../worker/protocol';
import { withDecoder } from './decoderSlice';
import type { GeneratedImage } from './generationSlice';
import { sameRequest } from './historySlice';
import type { AppState, SliceCreator, StoreDeps } from './types';
import { imageSearch } from './urlState';

/**
 * The pause after a keystroke that starts a live image. Above the 125 ms between keys of someone typing 8
 * characters a second (a fast typist, and the rate the benchmark types at), with room for jitter, so a burst of
 * typing starts no job mid-word; short enough that the image (~55 ms for flash-1 on WASM) still follows the pause
 * within about a quarter of a second.
 */
export const LIVE_DEBOUNCE_MS = 200;

/**
 * A live image joins the history once it has been on screen this long with the prompt unchanged: the user
 * stopped on it. Typing a sentence with short pauses leaves one entry, not one per pause.
 */
export const LIVE_KEEP_MS = 2000;

export interface LiveSlice {
  /** the user's choice; null: the default (liveByDefault) */
  livePref: boolean | null;
  /** why the prompt in the box has no live image (it is unfinished or invalid), or null */
  liveNote: string | null;
  setLive: (on: boolean) => void;
  /** the user edited the prompt: a running live job is stopped, and a new one starts after the pause */
  promptEdited: () => void;
  /** a live image is on screen */
  liveShown: (image: GeneratedImage) => void;
  /** drops the pending live run (a run the user asked for, another view) */
  stopLive: () => void;
  /** a run the user asked for ended: a live run the prompt's edits asked for meanwhile starts now */
  resumeLive: () => void;
}

/** The fastest student's variant: the flash UNet with the fewest steps, and the tiny decoder where there is one; null when the bundle has no student. */
export function liveVariant(summary: BundleSummary, noiseCorrection: boolean): Variant | null {
  const [steps] = flashSteps(summary.unets);
  return steps === undefined ? null : withDecoder({ model: 'flash', steps, noiseCorrection }, summary.tinyDecoder ? 'tiny' : 'full');
}

/** WASM or a hardware GPU: a software WebGPU adapter takes seconds per image. */
function fastBackend(b: BackendInfo | null): boolean {
  return b !== null && (b.kind === 'wasm' || !b.fallback);
}

/** On where a live image is fast: a fast backend and a 1-step student. */
export function liveByDefault(s: Pick<AppState, 'backend' | 'load'>): boolean {
  return fastBackend(s.backend) && s.load.kind === 'ready' && s.load.summary.unets.some((u) => u.role === 'flash' && u.steps === 1);
}

export function liveAvailable(s: Pick<AppState, 'load'>): boolean {
  return s.load.kind === 'ready' && liveVariant(s.load.summary, false) !== null;
}

export function isLiveOn(s: Pick<AppState, 'backend' | 'load' | 'livePref'>): boolean {
  return liveAvailable(s) && (s.livePref ?? liveByDefault(s));
}

export const createLiveSlice =
  (deps: StoreDeps): SliceCreator<LiveSlice> =>
  (set, get) => {
    let pause: ReturnType<typeof setTimeout> | null = null;
    let keep: ReturnType<typeof setTimeout> | null = null;
    /** a pause ended during a run the user asked for */
    let waiting = false;
    const clear = (): void => {
      if (pause !== null) clearTimeout(pause);
      pause = null;
      waiting = false;
    };
    const fire = (): void => {
      pause = null;
      waiting = false;
      const s = get();
      if (!isLiveOn(s) || s.view !== 'single' || s.load.kind !== 'ready' || !s.modelReady) return;
      // a run the user asked for is not interrupted: live follows when it ends
      if (s.status === 'running' && s.runKind === 'chosen') {
        waiting = true;
        return;
      }
      const variant = liveVariant(s.load.summary, s.noiseCorrection);
      if (!variant) return;
      const r = s.formRequest();
      const { vocabulary, grammar } = s.load.summary;
      const note = !r.ok ? r.message : vocabulary ? promptProblem(r.request.prompt, { words: vocabulary, grammar: grammar ?? null }) : null;
      // the image on screen stays: the note says why there is no newer one
      set({ liveNote: note });
      if (!r.ok || note !== null) return;
      const req = { ...r.request, variant };
      if (s.current && sameRequest(s.current, { ...req, bundle: s.bundle?.id ?? '' })) {
        // the prompt came back to the image on screen: nothing to draw, and an error about other text is moot
        if (s.error) set({ status: 'done', error: null });
        return;
      }
      s.startGeneration(req, 'live');
    };
    return {
      livePref: null,
      liveNote: null,
      setLive: (on) => {
        clear();
        set({ livePref: on, liveNote: null });
        const { current, backendPref } = get();
        // the address bar keeps the choice, as it keeps a forced backend
        if (current) deps.setSearch(imageSearch(current, backendPref, on));
      },
      promptEdited: () => {
        if (keep !== null) clearTimeout(keep);
        keep = null;
        clear();
        const s = get();
        if (!isLiveOn(s)) return;
        // its image would be out of date when it lands, and its CPU is what the page needs to keep up with the typing
        if (s.status === 'running' && s.runKind === 'live') s.cancelGeneration();
        pause = setTimeout(fire, LIVE_DEBOUNCE_MS);
      },
      liveShown: (image) => {
        if (keep !== null) clearTimeout(keep);
        keep = setTimeout(() => {
          keep = null;
          if (get().current?.key === image.key) get().addToHistory(image);
        }, LIVE_KEEP_MS);
      },
      stopLive: () => {
        clear();
        set({ liveNote: null });
      },
      resumeLive: () => {
        if (waiting) fire();
      },
    };
  };
