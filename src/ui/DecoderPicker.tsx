import { tinyDecoderAvailable, type DecoderChoice } from '../state/decoderSlice';
import { appStore, useAppStore } from '../state/store';
import { Segmented } from './Segmented';

const options: { value: DecoderChoice; label: string; title: string }[] = [
  { value: 'full', label: 'Full', title: "The bundle's VAE decoder: the image as the model makes it" },
  { value: 'tiny', label: 'Tiny (fast preview)', title: 'A small decoder distilled from the full one: faster, slightly less exact' },
];

/** The VAE decoder for Generate and the seed grid, offered only where the bundle has a tiny one (live mode always previews with it). */
export function DecoderPicker() {
  const available = useAppStore(tinyDecoderAvailable);
  const pref = useAppStore((s) => s.decoderPref);
  if (!available) return null;
  return (
    <div className="option" title="Live mode always previews with the tiny decoder; the step comparison uses the full one">
      <span className="option-label">Decoder</span>
      <Segmented name="decoder" label="Decoder" value={pref} options={options} onChange={appStore.getState().setDecoder} />
    </div>
  );
}
