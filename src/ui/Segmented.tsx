interface Option<T extends string | number> {
  value: T;
  label: string;
  title?: string;
  disabled?: boolean;
}

interface Props<T extends string | number> {
  name: string;
  label: string;
  value: T;
  options: readonly Option<T>[];
  onChange: (value: T) => void;
  disabled?: boolean;
}

/** A radio group styled as a segmented control: arrow keys move within it, Tab moves past it. */
export function Segmented<T extends string | number>({ name, label, value, options, onChange, disabled }: Props<T>) {
  return (
    <div className="segmented" role="radiogroup" aria-label={label} aria-disabled={disabled || undefined}>
      {options.map((o) => (
        <label key={String(o.value)} title={o.title} className={o.value === value ? 'on' : undefined}>
          <input type="radio" name={name} value={String(o.value)} checked={o.value === value} disabled={disabled || o.disabled} onChange={() => onChange(o.value)} />
          <span>{o.label}</span>
        </label>
      ))}
    </div>
  );
}
