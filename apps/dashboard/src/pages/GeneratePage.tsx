import { useEffect, useRef, useState, type FormEvent } from 'react';
import { LIMITS, OUTPUT_FORMATS, SAMPLERS, type GenerationRequestBody } from '@chorus/contracts';
import type { GenerationResource as Generation } from '@chorus/contracts';
import { ErrorMessage } from '../components/ErrorMessage';
import { Field } from '../components/Field';
import { GenerationPanel, secondsLabel } from '../components/GenerationPanel';
import { useDraft } from '../draft';
import { describeError } from '../errors';
import { useModel } from '../models';
import { useClient } from '../session';

interface FormState {
  prompt: string;
  negative_prompt: string;
  seconds_total: number;
  steps: string;
  cfg_scale: string;
  sampler: string;
  seed: string;
  output_format: string;
}

/** The slider's range until `GET /v1/models` answers; the API checks the model's real window. */
const WINDOW_UNTIL_MODEL_KNOWN = 10;

const EMPTY_FORM: FormState = {
  prompt: '',
  negative_prompt: '',
  seconds_total: 10,
  steps: '',
  cfg_scale: '',
  sampler: '',
  seed: '',
  output_format: 'wav',
};

export function GeneratePage() {
  const client = useClient();
  const { model, error: modelError } = useModel(client);
  const { draft, setDraft } = useDraft();
  const [form, setForm] = useState<FormState>(EMPTY_FORM);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [submitting, setSubmitting] = useState(false);
  // Just submitted: the resource as the API answered; earlier in this tab: ids, read again.
  const [submitted, setSubmitted] = useState<Array<{ id: string; initial?: Generation }>>(() => rememberedSubmissions().map((id) => ({ id })));
  useEffect(() => rememberSubmissions(submitted.map((entry) => entry.id)), [submitted]);

  // The model's exact window is the slider's end, so the longest clip the model makes can be asked for.
  const windowSeconds = model ? model.window_seconds : WINDOW_UNTIL_MODEL_KNOWN;
  const formRef = useRef<HTMLFormElement>(null);
  // Bumped when focus should move: to the first field in error after a refused submit, or to the
  // refilled form after "Use these settings". Effects run once the new state has rendered.
  const [focusErrors, setFocusErrors] = useState(0);
  const [revealForm, setRevealForm] = useState(0);

  // The model's defaults fill the fields the user has not touched.
  useEffect(() => {
    if (!model) return;
    setForm((current) => ({
      ...current,
      steps: current.steps || String(model.defaults.steps),
      cfg_scale: current.cfg_scale || String(model.defaults.cfg_scale),
      sampler: current.sampler || model.defaults.sampler,
      seconds_total: Math.min(current.seconds_total, windowSeconds),
    }));
  }, [model, windowSeconds]);

  // "Use these settings" from a finished generation.
  useEffect(() => {
    if (!draft) return;
    setForm((current) => ({
      ...current,
      prompt: draft.prompt ?? current.prompt,
      negative_prompt: draft.negative_prompt ?? '',
      seconds_total: draft.seconds_total ?? current.seconds_total,
      steps: draft.steps != null ? String(draft.steps) : current.steps,
      cfg_scale: draft.cfg_scale != null ? String(draft.cfg_scale) : current.cfg_scale,
      sampler: draft.sampler ?? current.sampler,
      seed: draft.seed != null ? String(draft.seed) : '',
      output_format: draft.output_format ?? current.output_format,
    }));
    setDraft(null);
    setRevealForm((count) => count + 1);
  }, [draft, setDraft]);

  useEffect(() => {
    if (revealForm === 0) return;
    formRef.current?.scrollIntoView({ block: 'start' });
    formRef.current?.querySelector<HTMLElement>('[name="prompt"]')?.focus({ preventScroll: true });
  }, [revealForm]);

  useEffect(() => {
    if (focusErrors === 0) return;
    const first = formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"], .form-error');
    first?.focus();
  }, [focusErrors]);

  const set = <K extends keyof FormState>(key: K, value: FormState[K]) => {
    setForm((current) => ({ ...current, [key]: value }));
    setFieldErrors(({ [key]: _cleared, ...rest }) => rest);
  };

  const rollSeed = () => set('seed', String(crypto.getRandomValues(new Uint32Array(1))[0]));

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    setFormError(null);
    setFieldErrors({});
    // A number field holding text the browser cannot read as a number reports an empty value:
    // refuse it here rather than let the model's default stand in without a word.
    const unreadable = unreadableNumbers(event.currentTarget);
    if (Object.keys(unreadable).length > 0) {
      setFieldErrors(unreadable);
      setFormError(SEE_FIELD_MESSAGES);
      setFocusErrors((count) => count + 1);
      return;
    }
    setSubmitting(true);
    try {
      const generation = await client.createGeneration(toRequest(form));
      setSubmitted((current) => [{ id: generation.id, initial: generation }, ...current].slice(0, REMEMBERED_SUBMISSIONS));
    } catch (caught) {
      const readable = describeError(caught);
      setFieldErrors(readable.fields);
      setFormError(Object.keys(readable.fields).length > 0 ? SEE_FIELD_MESSAGES : readable.message);
      setFocusErrors((count) => count + 1);
    } finally {
      setSubmitting(false);
    }
  };

  return (
    <section aria-labelledby="generate-heading">
      <h1 id="generate-heading" tabIndex={-1}>
        Generate
      </h1>
      <ErrorMessage message={modelError} />
      {model && (
        <p className="hint">
          Model <strong>{model.name}</strong> {model.version}: up to {secondsLabel(windowSeconds)} s of {model.channels === 2 ? 'stereo' : `${model.channels}-channel`} audio at {model.sample_rate / 1000} kHz.
        </p>
      )}
      <form ref={formRef} className="generate-form" onSubmit={submit} noValidate>
        <Field label="Prompt" error={fieldErrors.prompt}>
          <textarea
            name="prompt"
            rows={3}
            required
            maxLength={LIMITS.promptMaxChars}
            value={form.prompt}
            onChange={(event) => set('prompt', event.target.value)}
            placeholder="a warm analog pad in C minor, 90 BPM"
          />
        </Field>
        <Field label="Negative prompt" hint="What to steer away from (optional)." error={fieldErrors.negative_prompt}>
          <textarea name="negative_prompt" rows={2} maxLength={LIMITS.promptMaxChars} value={form.negative_prompt} onChange={(event) => set('negative_prompt', event.target.value)} />
        </Field>
        <Field label={`Duration: ${secondsLabel(form.seconds_total)} s`} hint={`From ${SHORTEST_SECONDS} to ${secondsLabel(windowSeconds)} seconds (the model's window).`} error={fieldErrors.seconds_total}>
          <input
            name="seconds_total"
            type="range"
            min={SHORTEST_SECONDS}
            max={windowSeconds}
            step="any"
            value={form.seconds_total}
            aria-valuetext={`${secondsLabel(form.seconds_total)} seconds`}
            onChange={(event) => set('seconds_total', toSliderSeconds(Number(event.target.value), windowSeconds))}
          />
        </Field>
        <div className="field-row">
          <Field label="Steps" hint={`${LIMITS.stepsMin}–${LIMITS.stepsMax}`} error={fieldErrors.steps}>
            <input name="steps" type="number" inputMode="numeric" min={LIMITS.stepsMin} max={LIMITS.stepsMax} step={1} value={form.steps} onChange={(event) => set('steps', event.target.value)} />
          </Field>
          <Field label="CFG scale" hint={`${LIMITS.cfgScaleMin}–${LIMITS.cfgScaleMax}`} error={fieldErrors.cfg_scale}>
            <input name="cfg_scale" type="number" inputMode="decimal" min={LIMITS.cfgScaleMin} max={LIMITS.cfgScaleMax} step={0.5} value={form.cfg_scale} onChange={(event) => set('cfg_scale', event.target.value)} />
          </Field>
          <Field label="Sampler" error={fieldErrors.sampler}>
            <select name="sampler" value={form.sampler} onChange={(event) => set('sampler', event.target.value)}>
              {!form.sampler && <option value="">model default</option>}
              {(model?.samplers ?? SAMPLERS).map((sampler) => (
                <option key={sampler} value={sampler}>
                  {sampler}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Format" error={fieldErrors.output_format}>
            <select name="output_format" value={form.output_format} onChange={(event) => set('output_format', event.target.value)}>
              {OUTPUT_FORMATS.map((format) => (
                <option key={format} value={format}>
                  {format.toUpperCase()}
                </option>
              ))}
            </select>
          </Field>
        </div>
        <div className="seed-row">
          <Field label="Seed" hint="Empty: a random seed is chosen and recorded." error={fieldErrors.seed}>
            <input name="seed" type="number" inputMode="numeric" min={0} max={LIMITS.seedMax} step={1} value={form.seed} onChange={(event) => set('seed', event.target.value)} />
          </Field>
          <button type="button" className="secondary dice" onClick={rollSeed} aria-label="Roll a random seed" title="Roll a random seed">
            <DiceIcon />
          </button>
        </div>
        <ErrorMessage message={formError} className="form-error" focusable />
        <button type="submit" disabled={submitting}>
          {submitting ? 'Submitting…' : 'Generate'}
        </button>
      </form>

      {submitted.length > 0 && (
        <section aria-label="Submitted generations" className="results">
          <h2>This session</h2>
          {submitted.map((entry) => (
            <GenerationPanel key={entry.id} id={entry.id} initial={entry.initial} />
          ))}
        </section>
      )}
    </section>
  );
}

// The Generate page keeps its last few submissions for the tab's lifetime, so leaving the page
// mid-render and coming back shows them again (History has them all).
const SUBMISSIONS_STORAGE = 'chorus.submitted';
const REMEMBERED_SUBMISSIONS = 5;

function rememberedSubmissions(): string[] {
  try {
    const parsed: unknown = JSON.parse(sessionStorage.getItem(SUBMISSIONS_STORAGE) ?? '[]');
    return Array.isArray(parsed) ? parsed.filter((id): id is string => typeof id === 'string').slice(0, REMEMBERED_SUBMISSIONS) : [];
  } catch {
    return [];
  }
}

function rememberSubmissions(ids: string[]): void {
  sessionStorage.setItem(SUBMISSIONS_STORAGE, JSON.stringify(ids));
}

const SEE_FIELD_MESSAGES = 'Some settings were not accepted; see the messages next to them.';
const SHORTEST_SECONDS = 0.5;


/** The slider moves freely (step "any"); keep hundredths, and its end exactly at the window. */
function toSliderSeconds(value: number, windowSeconds: number): number {
  if (value >= windowSeconds - 0.005) return windowSeconds;
  return Math.max(SHORTEST_SECONDS, Math.round(value * 100) / 100);
}

const NUMBER_FIELDS: Record<string, string> = {
  steps: `must be an integer from ${LIMITS.stepsMin} to ${LIMITS.stepsMax}`,
  cfg_scale: `must be a number from ${LIMITS.cfgScaleMin} to ${LIMITS.cfgScaleMax}`,
  seed: `must be an integer from 0 to ${LIMITS.seedMax}, or empty for a random seed`,
};

/** Number fields whose text the browser could not read as a number (`2e`, `1..5`), with what is allowed. */
function unreadableNumbers(form: HTMLFormElement): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const [name, allowed] of Object.entries(NUMBER_FIELDS)) {
    const input = form.elements.namedItem(name);
    if (input instanceof HTMLInputElement && input.validity.badInput) errors[name] = `is not a number: ${allowed}`;
  }
  return errors;
}

/** Form strings → the API body; blank optional fields are left out so the model's defaults apply. */
function toRequest(form: FormState): GenerationRequestBody {
  const body: GenerationRequestBody = { prompt: form.prompt, seconds_total: form.seconds_total, output_format: form.output_format as GenerationRequestBody['output_format'] };
  if (form.negative_prompt.trim()) body.negative_prompt = form.negative_prompt;
  if (form.steps.trim()) body.steps = Number(form.steps);
  if (form.cfg_scale.trim()) body.cfg_scale = Number(form.cfg_scale);
  if (form.sampler) body.sampler = form.sampler as GenerationRequestBody['sampler'];
  if (form.seed.trim()) body.seed = Number(form.seed);
  return body;
}

/** A die showing five, drawn rather than an emoji, which not every system has a font for. */
function DiceIcon() {
  return (
    <svg width="20" height="20" viewBox="0 0 20 20" aria-hidden="true" focusable="false">
      <rect x="1.5" y="1.5" width="17" height="17" rx="4" fill="none" stroke="currentColor" strokeWidth="1.6" />
      {[[6, 6], [14, 6], [10, 10], [6, 14], [14, 14]].map(([cx, cy]) => (
        <circle key={`${cx}-${cy}`} cx={cx} cy={cy} r="1.7" fill="currentColor" />
      ))}
    </svg>
  );
}
