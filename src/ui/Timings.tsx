import { useDeferredValue } from 'react';
import type { StageTiming } from '../pipeline/pipeline';

function ms(v: number): string {
  return v < 10 ? `${v.toFixed(1)} ms` : `${Math.round(v)} ms`;
}

/** Per-stage wall times of one generation; many UNet steps (the teacher) are summarised. */
export function Timings({ timings: latest }: { timings: StageTiming[] }) {
  // deferred: the image is painted before its timings table is rebuilt
  const timings = useDeferredValue(latest);
  const unet = timings.filter((t) => t.stage === 'unet');
  const rows = unet.length > 4 ? [...timings.filter((t) => t.stage !== 'unet'), { stage: 'unet' as const, label: `${unet.length} UNet steps`, ms: unet.reduce((a, t) => a + t.ms, 0) }] : timings;
  const order = ['load', 'tokenize', 'encode', 'unet', 'decode'];
  const sorted = [...rows].sort((a, b) => order.indexOf(a.stage) - order.indexOf(b.stage));
  const total = timings.filter((t) => t.stage !== 'load').reduce((a, t) => a + t.ms, 0);
  return (
    <table className="timings" data-testid="timings">
      <caption>Timings</caption>
      <tbody>
        {sorted.map((t, i) => (
          <tr key={`${t.label}-${i}`} className={t.stage}>
            <th scope="row">{t.stage === 'unet' && !t.label.includes('UNet') ? `UNet ${t.label}` : t.label}</th>
            <td>{ms(t.ms)}</td>
          </tr>
        ))}
        <tr className="total">
          <th scope="row">total (without loading)</th>
          <td>{ms(total)}</td>
        </tr>
      </tbody>
    </table>
  );
}
