import { ObjectAction, StoreRequest } from "@shoal/proto";
import { describe, expect, it } from "vitest";
import { service, task } from "../test/objects.js";
import { decodeEntry, encodeEntry, encodeRequest } from "./entry-codec.js";
import { SpecInterner } from "./spec-interner.js";
import { ChangeSet } from "./write-tx.js";

describe("entry codec", () => {
  const specs = new SpecInterner();
  const shared = task("t1", "s1", 1);
  shared.spec = specs.intern(shared.spec);
  const request: StoreRequest = {
    id: 2 ** 52 + 7,
    actions: [
      { action: ObjectAction.CREATE, object: { object: { $case: "task", value: shared } } },
      { action: ObjectAction.UPDATE, object: { object: { $case: "service", value: service("s1", "web") } } },
      { action: ObjectAction.REMOVE, object: { object: { $case: "task", value: task("t2", "s1", 2) } } },
    ],
  };

  it("writes plain StoreRequests (readable with the proto codec), interned specs included", () => {
    const bytes = encodeRequest(request, specs);
    expect(StoreRequest.decode(bytes)).toEqual(StoreRequest.fromPartial(request));
  });

  it("round-trips several requests in one entry, sharing equal task specs", () => {
    const entry = encodeEntry([encodeRequest(request, specs), encodeRequest({ ...request, id: 9 }, specs)]);
    const [a, b] = decodeEntry(entry, specs);
    expect(a).toEqual(StoreRequest.fromPartial(request));
    expect(b!.id).toBe(9);
    const ta = a!.actions[0]!.object!.object!.value as typeof shared;
    const tb = b!.actions[0]!.object!.object!.value as typeof shared;
    expect(ta.spec).toBe(shared.spec);
    expect(tb.spec).toBe(shared.spec);
  });

  it("a change set sends the bytes it sized: those of encodeRequest, re-based versions included", () => {
    const set = new ChangeSet();
    set.record("task", ObjectAction.CREATE, shared, 0);
    set.record("service", ObjectAction.UPDATE, service("s1", "web"), 4);
    set.record("task", ObjectAction.REMOVE, task("t2", "s1", 2), 2);
    const sized = set.encode(specs);
    const plain = encodeRequest(set.actionsRequest(0), specs);
    expect(sized).toBe(plain.byteLength);
    expect(set.encodedRequest(0, specs)).toEqual(plain);
    expect(set.encodedRequest(77, specs)).toEqual(encodeRequest(set.actionsRequest(77), specs));
    const rebased = new Map([["service:s1", 9]]);
    expect(set.encodedRequest(78, specs, rebased)).toEqual(
      encodeRequest(set.actionsRequest(78, rebased), specs),
    );
    const absorbed = new ChangeSet();
    absorbed.absorb(set);
    expect(absorbed.encodedRequest(5, specs)).toEqual(encodeRequest(set.actionsRequest(5), specs));
  });
});
