/**
 * `ok` is a check that passed (nothing to do, ever); `would-do` is what a dry run would have written.
 */
export type StepStatus = 'done' | 'already-done' | 'ok' | 'would-do' | 'failed';

export interface StepResult {
  step: string;
  status: StepStatus;
  /** One line: what was done or found, or why the step failed. Never holds a secret. */
  detail: string;
}

export interface SetupReport {
  ok: boolean;
  dryRun: boolean;
  steps: StepResult[];
}

const WORDS: Record<StepStatus, string> = {
  done: 'done',
  'already-done': 'already done',
  ok: 'ok',
  'would-do': 'would do',
  failed: '',
};

const MARKS: Record<StepStatus, string> = {
  done: '✓',
  'already-done': '✓',
  ok: '✓',
  'would-do': '-',
  failed: '✗',
};

/** Kill Bill and file errors can carry newlines; a step's report stays on its line. */
export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

/** `✓ catalog: done (uploaded …)`, `✗ catalog: <reason>`. Colour only on a terminal that allows it. */
export function renderStep(result: StepResult, colour = false): string {
  const detail = oneLine(result.detail);
  const text =
    result.status === 'failed'
      ? `${MARKS.failed} ${result.step}: ${detail}`
      : `${MARKS[result.status]} ${result.step}: ${WORDS[result.status]}${detail ? ` (${detail})` : ''}`;
  if (!colour) return text;
  const code = result.status === 'failed' ? 31 : result.status === 'would-do' ? 33 : 32;
  return `\u001b[${code}m${text}\u001b[0m`;
}

export function renderReportJson(report: SetupReport): string {
  return JSON.stringify(
    { ...report, steps: report.steps.map((s) => ({ ...s, detail: oneLine(s.detail) })) },
    null,
    2,
  );
}
