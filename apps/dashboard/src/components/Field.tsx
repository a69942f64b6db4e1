import { useId, type ReactElement, type ReactNode, cloneElement } from 'react';

interface FieldProps {
  label: ReactNode;
  /** shown under the control; ties to it with aria-describedby */
  hint?: ReactNode;
  /** the API's message for this field, shown next to it */
  error?: string;
  children: ReactElement<Record<string, unknown>>;
  /** label and control on one line (checkboxes) */
  inline?: boolean;
}

/** One labelled form control with its hint and its error, wired for assistive technology. */
export function Field({ label, hint, error, children, inline }: FieldProps) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const controlId = (children.props.id as string | undefined) ?? `${id}-control`;
  const describedBy = [hint ? hintId : null, error ? errorId : null].filter(Boolean).join(' ') || undefined;
  const control = cloneElement(children, {
    id: controlId,
    'aria-describedby': describedBy,
    'aria-invalid': error ? true : undefined,
  });
  return (
    <div className={inline ? 'field inline' : 'field'}>
      {inline && control}
      <label htmlFor={controlId}>{label}</label>
      {!inline && control}
      {hint && (
        <span id={hintId} className="hint">
          {hint}
        </span>
      )}
      {error && (
        <span id={errorId} className="field-error" role="alert">
          {error}
        </span>
      )}
    </div>
  );
}
