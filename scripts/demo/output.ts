// The demo's output: numbered steps and indented details under them, which the demo test reads.
let step = 0;

export const say = (text: string): void => void process.stdout.write(`\n${++step}. ${text}\n`);
export const detail = (text: string): void => void process.stdout.write(`   ${text}\n`);
