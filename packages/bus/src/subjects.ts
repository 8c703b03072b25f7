/**
 * Subject and stream names, in one place. Logs go to `shoal.logs.<nodeId>.<serviceId>.<taskId>`:
 * the node id comes first so that a node's permission is one wildcard (`shoal.logs.<nodeId>.>`),
 * and each service's lines land in that service's own stream (`SHOAL_LOGS_<serviceId>`, subjects
 * `shoal.logs.*.<serviceId>.>`), which is what gives every service its own MaxAge and MaxBytes:
 * JetStream's limits are per stream (per-subject limits are only a message count).
 */
export const LOG_SUBJECT_ROOT = "shoal.logs";
export const EVENT_SUBJECT_ROOT = "shoal.events";
export const EVENTS_STREAM = "SHOAL_EVENTS";

/** Ids go into subjects and stream names: one token of safe characters. */
const TOKEN = /^[0-9A-Za-z_-]{1,64}$/;

export function isSubjectToken(value: string): boolean {
  return TOKEN.test(value);
}

export function logSubject(nodeId: string, serviceId: string, taskId: string): string {
  return `${LOG_SUBJECT_ROOT}.${nodeId}.${serviceId}.${taskId}`;
}

/** What one node may publish: its own logs only. */
export function nodeLogSubjects(nodeId: string): string {
  return `${LOG_SUBJECT_ROOT}.${nodeId}.>`;
}

export function serviceLogSubjects(serviceId: string): string {
  return `${LOG_SUBJECT_ROOT}.*.${serviceId}.>`;
}

export function taskLogSubject(serviceId: string, taskId: string): string {
  return `${LOG_SUBJECT_ROOT}.*.${serviceId}.${taskId}`;
}

export function logStreamName(serviceId: string): string {
  return `SHOAL_LOGS_${serviceId}`;
}

/** The inbox prefix a node's connection uses, so its replies are readable by it alone. */
export function nodeInboxPrefix(nodeId: string): string {
  return `_INBOX_${nodeId}`;
}

export function eventSubject(type: string, action: string): string {
  return `${EVENT_SUBJECT_ROOT}.${type}.${action}`;
}

/**
 * Pull expiry of the readers' consumers. The client's heartbeat check runs at half of it, so a
 * follower whose server died notices in seconds instead of the default 30 s pull.
 */
export const FOLLOW_EXPIRES_MS = 5000;

/**
 * A read of what is stored (no follow) ends when its consumer delivers nothing for this long
 * before the last stored sequence: a consumer on a replica that stopped catching up would hold
 * the CLI forever, and what it shows is what that replica has.
 */
export const STORED_READ_IDLE_MS = 3000;
