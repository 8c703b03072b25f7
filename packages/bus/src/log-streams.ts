import type { JetStreamManager, StreamConfig } from "@nats-io/jetstream";
import { DiscardPolicy, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { DEFAULT_LOG_RETENTION, type LogRetention } from "./log-retention.js";
import { logStreamName, serviceLogSubjects } from "./subjects.js";

const NS_PER_MS = 1_000_000;
/**
 * How long the servers remember batch ids: a shipper that restarts within this window and sends
 * its in-flight batch again has it dropped as a duplicate.
 */
export const LOG_DEDUP_WINDOW_MS = 10 * 60 * 1000;

/**
 * Creates or updates the log stream of one service (a manager does this when the service is
 * created or its retention changes). One stream per service because JetStream's age and size
 * limits are per stream: a chatty service cannot push a quiet one's lines out.
 */
export async function ensureLogStream(
  jsm: JetStreamManager,
  serviceId: string,
  retention: LogRetention = DEFAULT_LOG_RETENTION,
  replicas = 1,
): Promise<void> {
  const config: Partial<StreamConfig> & { name: string } = {
    name: logStreamName(serviceId),
    subjects: [serviceLogSubjects(serviceId)],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: retention.maxAgeMs * NS_PER_MS,
    max_bytes: retention.maxBytes,
    duplicate_window: Math.min(LOG_DEDUP_WINDOW_MS, retention.maxAgeMs) * NS_PER_MS,
    num_replicas: replicas,
  };
  try {
    await jsm.streams.info(config.name);
  } catch {
    await jsm.streams.add(config);
    return;
  }
  await jsm.streams.update(config.name, config);
}

/** Drops a service's lines (after its removal, once the user no longer wants them). */
export async function removeLogStream(jsm: JetStreamManager, serviceId: string): Promise<boolean> {
  return jsm.streams.delete(logStreamName(serviceId)).catch(() => false);
}
