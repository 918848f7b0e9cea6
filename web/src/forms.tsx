/**
 * Forms: validated in the browser with the API's own zod schemas, errors shown on the field
 * they name (from the schema, or from the API's answer: `field: "body.email"` lands on `email`),
 * and nothing typed is lost when a request fails (values are only cleared on success, by the caller).
 */
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import type { z } from "zod";
import { ApiError } from "./api";

export type Errors = Record<string, string>;

/** `body.options.gatewayCidrs[0]` -> `options.gatewayCidrs[0]`; `headers.x`, `params.id` and the like stay whole. */
export function formFieldOf(apiField: string | undefined): string {
  if (!apiField) return "";
  return apiField.startsWith("body.") ? apiField.slice("body.".length) : apiField;
}

/** The first message per field of a zod failure, keyed like the API's `field` (without `body.`). */
export function zodErrors(error: z.ZodError): Errors {
  const errors: Errors = {};
  for (const issue of error.issues) {
    const key = issue.path.map((part, index) => (typeof part === "number" ? `[${part}]` : `${index > 0 ? "." : ""}${String(part)}`)).join("");
    errors[key || ""] ??= issue.message;
  }
  return errors;
}

export interface FormState<V> {
  values: V;
  set: <K extends keyof V>(key: K, value: V[K]) => void;
  reset: (values: V) => void;
  errors: Errors;
  busy: boolean;
  /** Validates with `schema`, then runs `action`; an ApiError is shown on its field, the values stay. */
  submit: <S extends z.ZodType>(schema: S, input: unknown, action: (parsed: z.infer<S>) => Promise<void>) => Promise<void>;
}

export function useForm<V extends Record<string, unknown>>(initial: V): FormState<V> {
  const [values, setValues] = useState<V>(initial);
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);
  return {
    values,
    errors,
    busy,
    set: (key, value) => setValues((current) => ({ ...current, [key]: value })),
    reset: (next) => setValues(next),
    async submit(schema, input, action) {
      const parsed = schema.safeParse(input);
      if (!parsed.success) {
        setErrors(zodErrors(parsed.error));
        focusFirstInvalid();
        return;
      }
      setErrors({});
      setBusy(true);
      try {
        await action(parsed.data);
      } catch (error) {
        if (error instanceof ApiError) setErrors({ [formFieldOf(error.field)]: error.message });
        else setErrors({ "": error instanceof Error ? error.message : String(error) });
        focusFirstInvalid();
      } finally {
        setBusy(false);
      }
    },
  };
}

function focusFirstInvalid(): void {
  requestAnimationFrame(() => document.querySelector<HTMLElement>("[aria-invalid=true], .form-error")?.focus());
}

let fieldCounter = 0;

export interface FieldProps {
  label: string;
  name: string;
  value: string;
  onInput: (value: string) => void;
  errors: Errors;
  type?: "text" | "email" | "password" | "number";
  hint?: string;
  autocomplete?: string;
  required?: boolean;
  multiline?: boolean;
}

/** A labelled input whose error (by field name, or any nested field under it) is announced and linked. */
export function Field(props: FieldProps) {
  const [id] = useState(() => `field-${++fieldCounter}`);
  const error =
    props.errors[props.name] ??
    Object.entries(props.errors).find(([key]) => key.startsWith(`${props.name}.`) || key.startsWith(`${props.name}[`))?.[1];
  const describedBy = [props.hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ") || undefined;
  const common = {
    id,
    name: props.name,
    value: props.value,
    "aria-invalid": error ? ("true" as const) : undefined,
    "aria-describedby": describedBy,
    required: props.required,
    autocomplete: props.autocomplete,
    onInput: (event: Event) => props.onInput((event.currentTarget as HTMLInputElement).value),
  };
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      {props.multiline ? <textarea rows={4} {...common} /> : <input {...common} type={(props.type ?? "text") as "text" /* Preact's input types split by type; these four share every attribute used here */} />}
      {props.hint ? (
        <p class="hint" id={`${id}-hint`}>
          {props.hint}
        </p>
      ) : null}
      {error ? (
        <p class="error" id={`${id}-error`} role="alert">
          {error}
        </p>
      ) : null}
    </div>
  );
}

export interface SelectProps {
  label: string;
  name: string;
  value: string;
  options: readonly (readonly [string, string])[];
  onInput: (value: string) => void;
  errors: Errors;
}

export function Select(props: SelectProps) {
  const [id] = useState(() => `field-${++fieldCounter}`);
  const error = props.errors[props.name];
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <select
        id={id}
        name={props.name}
        value={props.value}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
        onInput={(event) => props.onInput((event.currentTarget as HTMLSelectElement).value)}
      >
        {props.options.map(([value, label]) => (
          <option key={value} value={value}>
            {label}
          </option>
        ))}
      </select>
      {error ? (
        <p class="error" id={`${id}-error`} role="alert">
          {error}
        </p>
      ) : null}
    </div>
  );
}

/** Errors that name no field of the form (or a field it does not show). */
export function FormError({ errors, shown }: { errors: Errors; shown: readonly string[] }) {
  const rest = Object.entries(errors).filter(
    ([key]) => !shown.some((name) => key === name || key.startsWith(`${name}.`) || key.startsWith(`${name}[`)),
  );
  if (rest.length === 0) return null;
  return (
    <div class="form-error" role="alert" tabIndex={-1}>
      {rest.map(([key, message]) => (
        <p key={key}>{message}</p>
      ))}
    </div>
  );
}

export function Busy({ busy, children }: { busy: boolean; children: ComponentChildren }) {
  return (
    <button type="submit" disabled={busy} aria-busy={busy ? "true" : undefined}>
      {busy ? <span class="spinner" aria-hidden="true" /> : null}
      {children}
    </button>
  );
}
