/**
 * Transcript tests in the spirit of etcd's datadriven `testdata/*.txt`: a text file of commands
 * and the output each must produce. The test registers the commands; the runner parses the
 * blocks, runs them, diffs the output and, with TRANSCRIPT_REWRITE=1, writes the new outputs back.
 */
export { TranscriptArgs, tokenize } from "./args.js";
export { lineDiff } from "./diff.js";
export {
  formatTranscript,
  type ParsedTranscript,
  parseTranscript,
  SEPARATOR,
  type TranscriptBlock,
} from "./parse.js";
export {
  type RunTranscriptOptions,
  runTranscript,
  TRANSCRIPT_REWRITE_ENV,
  type TranscriptCommand,
  type TranscriptHandler,
  type TranscriptRun,
  transcriptFiles,
} from "./run.js";
