import { BACKEND_PREFERENCES, type BackendPreference } from '../pipeline/backend';
import { appStore, useAppStore } from '../state/store';
import { DecoderPicker } from './DecoderPicker';
import { LiveToggle } from './LiveToggle';
import { Segmented } from './Segmented';

const backendLabels: Record<BackendPreference, string> = { auto: 'Auto', webgpu: 'WebGPU', wasm: 'WASM' };
const backendOptions = BACKEND_PREFERENCES.map((p) => ({ value: p, label: backendLabels[p] }));
const smoothOptions = [
  { value: 'pixelated' as const, label: 'Pixelated' },
  { value: 'smooth' as const, label: 'Smooth' },
];

export function SettingsBar() {
  const pref = useAppStore((s) => s.backendPref);
  const smoothing = useAppStore((s) => s.smoothing);
  const { setBackendPref, setSmoothing } = appStore.getState();
  return (
    <div className="settings">
      <div className="option">
        <span className="option-label">Backend</span>
        <Segmented name="backend" label="Backend" value={pref} options={backendOptions} onChange={setBackendPref} />
      </div>
      <div className="option">
        <span className="option-label">Upscaling</span>
        <Segmented name="smoothing" label="Upscaling" value={smoothing} options={smoothOptions} onChange={setSmoothing} />
      </div>
      <DecoderPicker />
      <LiveToggle />
    </div>
  );
}
