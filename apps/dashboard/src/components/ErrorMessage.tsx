/** An API or browser error shown in words, announced to screen readers when it appears. */
export function ErrorMessage({ message, id, className, focusable }: { message: string | null | undefined; id?: string; className?: string; focusable?: boolean }) {
  if (!message) return null;
  return (
    <p className={className ? `error ${className}` : 'error'} role="alert" id={id} tabIndex={focusable ? -1 : undefined}>
      {message}
    </p>
  );
}
