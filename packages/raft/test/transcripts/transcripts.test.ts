import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import { runTranscript, transcriptFiles } from "@shoal/testkit/transcript";
import { describe, expect, it } from "vitest";
import { InteractionEnv } from "./interaction-env.js";

// Every *.txt here is a transcript of the raft core driven by InteractionEnv. To accept a changed
// output after reviewing it: TRANSCRIPT_REWRITE=1 npx vitest run --project raft test/transcripts
const dir = fileURLToPath(new URL(".", import.meta.url));

describe("raft transcripts", () => {
  it("finds the transcripts", () => {
    expect(transcriptFiles(dir).map((f) => basename(f))).toEqual(
      expect.arrayContaining([
        "election.txt",
        "leadership-transfer.txt",
        "read-index.txt",
        "replication-conflict.txt",
        "snapshot-lagging-follower.txt",
      ]),
    );
  });

  it.each(transcriptFiles(dir).map((f) => [basename(f), f]))("%s", async (_name, file) => {
    await runTranscript(file, new InteractionEnv().commands());
  });
});
